import CurlKit
import Foundation
import GatewayLogging
import JSONKit
import OpenSSLKit
import Testing

@testable import BankAdapters
@testable import GatewayCore

/// The exact requests of the Euro-Information adapter, against a recording transport.
@Suite struct EuroInformationAdapterTests {
    static let goldenAccountsSignature =
        "s6m1NErMZxZ4CNDedd9martINmETEPdJc5U09dvw8C1qY46uPDnqEPzHA6iwmlOXq19tEcRtA30a8wMF2GnlRyo0XESfisyg0x071VoDCOK+OvSW3GX4JOC3U7MC6uD9NqCwi6m8ROxZdCV3N2Ib1Q3lBCV+6ydab/Jn5CPZsPnUEyz3whyLuWQe0ZavvCpPCtYTI8m9YOTbkBy/WFOwi4q3Xo8E69GQN4qwgSrZCtKaTq13AWqPvKYmBd6rERE8VNvv7G7/c7GAPsnCopDYcKn1swWHPTAv1AZH/QHiuWdQwNoviIITtCmDaKCBLT+uGLc5gCNqyRIfeaSlY0B1/A=="

    func registrationAnswer(kid: String = "a771a1923bd403603831a2425df818a4") throws -> String {
        let der = try Certificate(pem: KAT.text("kat-rsa2048.crt")).base64DER
        return
            #"{"client_id":"0123456789abcdef0123456789abcdef01234567","registration_client_uri":"https://ei.test/sandbox/cic/oauth2/registrations/0123456789abcdef0123456789abcdef01234567","registration_access_token":"SECRET-RAT","client_name":"Passerelle Test","jwks":{"keys":[{"kty":"RSA","kid":"\#(kid)","x5c":["\#(der)"]}]}}"#
    }

    @Test func registersWithTheFullChainOverMutualTLSOnly() async throws {
        let transport = RecordingTransport([.json(201, try registrationAnswer())])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let result = try await adapter.register(
            TestBanks.registration, client: try TestBanks.client(TestBanks.ei), context: Fixed.context())

        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(request.method == "POST")
        #expect(request.url == "https://ei.test/sandbox/cic/oauth2/registrations")
        #expect(request.headerNames == ["Host", "Date", "X-Request-ID", "Accept", "Content-Type", "Digest"])
        #expect(request.header("Host") == "ei.test")
        #expect(request.header("Date") == Fixed.date)
        #expect(request.header("X-Request-ID") == Fixed.requestID)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Digest") == Digest.headerValue(for: request.body))
        #expect(request.identity?.id == KAT.fingerprint)
        #expect(request.signedHeaderNames.isEmpty)
        #expect(request.bankID == "cmcic:cic")
        #expect(request.pathTemplate == "/sandbox/cic/oauth2/registrations")
        let certificate = try Certificate(pem: KAT.text("kat-rsa2048.crt"))
        let der = certificate.base64DER
        // RFC 7518 §6.3.1: n and e of the key; no kid (the bank generates it; RFC 7517 §4.5 makes it a string).
        let jwk = try JWK(certificate: certificate)
        let (n, e) = (try #require(jwk.n), try #require(jwk.e))
        #expect(
            request.bodyText
                == #"{"client_name":"Passerelle Test","redirect_uris":["https://tpp.example/callback"],"token_endpoint_auth_method":"tls_client_auth","grant_types":["authorization_code","refresh_token"],"response_types":["code"],"scope":"aisp","contacts":["psd2@tpp.example"],"jwks":{"keys":[{"kty":"RSA","n":"\#(n)","e":"\#(e)","x5c":["\#(der)"],"x5u":"https://tpp.example/certs/qseal.pem"}]}}"#
        )

        #expect(result.clientID == "0123456789abcdef0123456789abcdef01234567")
        #expect(
            result.registrationClientURI?.hasSuffix("/registrations/0123456789abcdef0123456789abcdef01234567") == true)
        #expect(result.keyID == "a771a1923bd403603831a2425df818a4")
        #expect(result.keys == [.init(kid: "a771a1923bd403603831a2425df818a4", sha256Fingerprint: KAT.fingerprint)])
        #expect(result.status == .active)
        #expect(result.httpStatus == 201)
        #expect(!result.responseBody.contains("SECRET-RAT"))
        #expect(result.requestBody == request.bodyText)
    }

    @Test func rotationKeepsTheKeptUnexpiredKeysAndAddsTheNewOneWithoutKid() async throws {
        // The bank knows an old key (another certificate), a retired one and an expired one; the client now
        // carries the KAT certificate.
        let oldDER = try Certificate(pem: TestPKIFile.contents("qseal.crt")).base64DER
        let expiredDER = try Certificate(pem: TestPKIFile.contents("server-expired.crt")).base64DER
        let current =
            #"{"client_id":"c1","registration_client_uri":"https://ei.test/sandbox/cic/oauth2/registrations/c1","jwks":{"keys":[{"kid":"old-kid","kty":"RSA","x5c":["\#(oldDER)"]},{"kid":"dropped","kty":"RSA","x5c":["\#(oldDER)"]},{"kid":"expired","kty":"RSA","x5c":["\#(expiredDER)"]}]}}"#
        let transport = RecordingTransport([.json(200, current), .json(200, try registrationAnswer(kid: "new-kid"))])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let existing = RegistrationReference(
            clientID: "c1", registrationClientURI: "https://ei.test/sandbox/cic/oauth2/registrations/c1",
            keys: [.init(kid: "old-kid", sha256Fingerprint: nil), .init(kid: "expired", sha256Fingerprint: nil)])
        let result = try await adapter.updateRegistration(
            existing, with: TestBanks.registration, client: try TestBanks.client(TestBanks.ei), context: Fixed.context()
        )

        #expect(transport.requests.map(\.method) == ["GET", "PUT"])
        let put = transport.requests[1]
        #expect(put.url == "https://ei.test/sandbox/cic/oauth2/registrations/c1")
        let keys = try #require(RegistrationDocument.tree(put.body)?["jwks"]?["keys"]?.arrayValue)
        #expect(keys.count == 2)
        #expect(keys[0]["kid"]?.stringValue == "old-kid")
        #expect(keys[0]["n"]?.stringValue != nil && keys[0]["e"]?.stringValue != nil, "completed from x5c[0]")
        #expect(keys[1]["kid"] == nil)
        #expect(keys[1]["n"]?.stringValue == (try JWK(certificate: try Certificate(pem: KAT.text("kat-rsa2048.crt")))).n)
        #expect(RegistrationDocument.tree(put.body)?["client_id"]?.stringValue == "c1")
        #expect(result.keyID == "new-kid")
    }

    @Test func readAndDeleteUseTheRegistrationClientURIVerbatim() async throws {
        let transport = RecordingTransport([.json(200, try registrationAnswer()), .empty(204)])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let existing = RegistrationReference(
            clientID: "c1", registrationClientURI: "https://ei.test/sandbox/cic/oauth2/registrations/c1?x=1")
        let client = try TestBanks.client(TestBanks.ei)
        _ = try await adapter.readRegistration(existing, client: client, context: Fixed.context())
        try await adapter.deleteRegistration(existing, client: client, context: Fixed.context())
        #expect(transport.requests.map(\.method) == ["GET", "DELETE"])
        #expect(transport.requests.allSatisfy { $0.url == "https://ei.test/sandbox/cic/oauth2/registrations/c1?x=1" })
        // A URI on another host is refused before any call.
        let evil = RegistrationReference(clientID: "c1", registrationClientURI: "https://evil.test/x")
        await #expect(throws: AdapterError.notCallable(reason: "registrationClientUri: not on the bank's registration host")) {
            try await adapter.deleteRegistration(evil, client: client, context: Fixed.context())
        }
        #expect(transport.requests.count == 2)
    }

    @Test func authorizeURLHasPKCEAndSpaceSeparatedScopes() throws {
        let adapter = EuroInformationAdapter(
            dependencies: Fixed.dependencies(RecordingTransport(status: 200, json: "{}")))
        let url = try adapter.authorizationURL(
            AuthorizationRequest(
                clientID: "c1", redirectURI: "https://tpp.example/cb", state: "s1", roles: [.aisp],
                extendedTransactionHistory: true, codeChallenge: "ch", language: "en"),
            client: try TestBanks.client(TestBanks.ei, clientID: "c1"))
        #expect(
            url
                == "https://ei.test/sandbox/cic/oauth2/en/sandbox/signin.html?response_type=code&client_id=c1&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb&scope=aisp%20extended_transaction_history&state=s1&code_challenge=ch&code_challenge_method=S256"
        )
    }

    @Test func tokenCallsSendTheVerifierAndAreNotSigned() async throws {
        let transport = RecordingTransport(
            status: 200,
            json: #"{"access_token":"AT","token_type":"bearer","expires_in":10800,"refresh_token":"RT","scope":"aisp"}"#
        )
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "kid1")
        let tokens = try await adapter.exchangeCode(
            CodeExchange(code: Secret("CODE"), redirectURI: "https://tpp.example/cb", codeVerifier: Secret("VERIFIER")),
            client: client, context: Fixed.context())
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://ei.test/sandbox/cic/oauth2/token")
        #expect(
            request.bodyText
                == "grant_type=authorization_code&client_id=c1&code=CODE&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb&code_verifier=VERIFIER"
        )
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(request.header("Signature") == nil)
        #expect(request.header("Authorization") == nil)
        #expect(tokens.accessToken.reveal == "AT")
        #expect(tokens.expiresAt == Fixed.now.addingTimeInterval(10800))

        _ = try await adapter.refresh(Secret("RT"), client: client, context: Fixed.context())
        #expect(transport.requests[1].bodyText == "grant_type=refresh_token&refresh_token=RT&client_id=c1")
    }

    @Test func accountsCallIsSignedWithTheKidOverTheSeedHeaders() async throws {
        let transport = RecordingTransport([
            .response(OutboundResponse(status: 200, body: try Fixture.bytes("ei-accounts.json")))
        ])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let psu = PSUContext(headers: [(name: "psu-ip-address", value: "192.0.2.7")])
        let accounts = try await adapter.accounts(
            accessToken: Secret("at-1"), client: try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "kid1"),
            context: Fixed.context(psu: psu))
        #expect(!accounts.isEmpty)

        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.url == "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/accounts")
        #expect(
            request.headerNames == [
                "Host", "Date", "X-Request-ID", "Authorization", "Accept", "PSU-IP-Address", "Signature",
            ])
        #expect(request.header("Authorization") == "Bearer at-1")
        #expect(request.header("Digest") == nil)
        #expect(request.signedHeaderNames == ["(request-target)", "host", "date", "x-request-id", "psu-ip-address"])
        #expect(request.pathTemplate == "/sandbox/cic/stet-psd2-api/v2.1/accounts")
        #expect(
            request.header("Signature")
                == #"keyId="kid1",algorithm="rsa-sha256",headers="(request-target) host date x-request-id psu-ip-address",signature="\#(Self.goldenAccountsSignature)""#
        )
        // The same signature verifies with the certificate's public key over the received request.
        let certificate = try Certificate(pem: KAT.text("kat-rsa2048.crt"))
        _ = try HTTPSignatureVerifier.euroInformation.verify(
            signatureHeader: try #require(request.header("Signature")), method: "GET",
            target: "/sandbox/cic/stet-psd2-api/v2.1/accounts", headers: request.headers.map { ($0.name, $0.value) },
            body: [], publicKey: certificate.publicKey)
    }

    @Test func transactionsFollowNextLinksVerbatimOnTheAPIHost() async throws {
        let transport = RecordingTransport([
            .response(OutboundResponse(status: 200, body: try Fixture.bytes("ei-transactions-page1.json")))
        ])
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "kid1")
        let first = try await adapter.transactions(
            accountID: "ACC 1/2", page: .first(from: CalendarDate("2026-08-20"), to: CalendarDate("2026-11-18")),
            accessToken: Secret("at"), client: client, context: Fixed.context())
        #expect(
            transport.requests[0].url
                == "https://ei.test/sandbox/cic/stet-psd2-api/v2.1/accounts/ACC%201%2F2/transactions?dateFrom=2026-08-20&dateTo=2026-11-18"
        )
        #expect(transport.requests[0].pathTemplate == "/sandbox/cic/stet-psd2-api/v2.1/accounts/{id}/transactions")
        let next = try #require(first.nextPageURL)
        _ = try await adapter.transactions(
            accountID: "ACC 1/2", page: .next(url: next), accessToken: Secret("at"), client: client,
            context: Fixed.context())
        #expect(transport.requests[1].url == next)
        await #expect(throws: AdapterError.self) {
            _ = try await adapter.transactions(
                accountID: "x", page: .next(url: "https://evil.test/steal"), accessToken: Secret("at"), client: client,
                context: Fixed.context())
        }
        #expect(transport.requests.count == 2)
    }

    @Test func putConsentsIsANoOpAtEuroInformation() async throws {
        let transport = RecordingTransport(status: 500, json: "{}")
        let adapter = EuroInformationAdapter(dependencies: Fixed.dependencies(transport))
        try await adapter.putConsents(
            ConsentRequest(balances: ["FR76"], transactions: [], trustedBeneficiaries: false, identity: false),
            accessToken: Secret("at"), client: try TestBanks.client(TestBanks.ei, clientID: "c1", keyID: "k"),
            context: Fixed.context())
        #expect(transport.requests.isEmpty)
    }
}
