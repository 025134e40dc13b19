import CurlKit
import Foundation
import GatewayLogging
import JSONKit
import OpenSSLKit
import Testing

@testable import BankAdapters
@testable import GatewayCore

/// The exact requests of the BPCE adapter, against a recording transport.
@Suite struct BPCEAdapterTests {
    static let goldenAccountsSignature =
        "kHCONPZ4jwTDAGw5f62n6sXs4zAlP9TTUbDYjXlM/bSG3oo/KrJd8qRBdJADZpCdV+TD0HW1vBa2R47//zMgAfJ75OnJ7ZTTDiYzLcf1K2CaIcjmzaJ4m3PUJgaX2kQOUwixHANBpN8nTBi6K8L4UdoTPWmpHFWRhmMIY+Ea79HzzP3TBBELTK11iluaYi3OiXjYxV2mR+qiZjB4BnaSWEOjaIhhgSXdom1U7U0ArOYLVOfJ93Gb4BPyIT9sZDRqm++iOP2gyWZ1ne3VoxYWs0J9VViZNdyOsV9zSvW14M+B/2dciBUvvaYbQ9gVjBm/X1lgTA8twiVagVhH/sVX+Q=="
    static let emptyDigest = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

    @Test func registersWithTheRegistrationTokenThenASignedPost() async throws {
        let transport = RecordingTransport([
            .json(200, #"{"access_token":"REG-TOKEN","token_type":"Bearer","expires_in":3600}"#),
            .json(201, #"{"client_id":"bpce-client-1","client_name":"Passerelle Test"}"#),
        ])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        let result = try await adapter.register(
            TestBanks.registration, client: try TestBanks.client(TestBanks.bpce), context: Fixed.context())

        #expect(transport.requests.count == 2)
        let token = transport.requests[0]
        #expect(token.method == "POST")
        #expect(token.url == "https://bpce.test/stet/psd2/oauth/token")
        #expect(token.bodyText == "grant_type=client_credentials&client_id=PSD2_TPPRegister&scope=manageRegistration")
        #expect(token.header("Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(token.header("Signature") == nil)
        #expect(token.identity?.id == KAT.fingerprint)

        let post = transport.requests[1]
        #expect(post.url == "https://bpce.test/stet/setting/v1/register")
        #expect(
            post.headerNames == [
                "Host", "Date", "X-Request-ID", "Authorization", "Accept", "Content-Type", "Digest", "Signature",
            ])
        #expect(post.header("Authorization") == "Bearer REG-TOKEN")
        #expect(post.header("Digest") == Digest.headerValue(for: post.body))
        #expect(post.signedHeaderNames == ["(request-target)", "date", "x-request-id", "digest", "content-type"])
        let signature = try HTTPSignature(parsing: try #require(post.header("Signature")))
        #expect(signature.keyId == "https://tpp.example/certs/qseal.pem")
        let certificate = try Certificate(pem: KAT.text("kat-rsa2048.crt"))
        _ = try HTTPSignatureVerifier.bpce.verify(
            signatureHeader: try #require(post.header("Signature")), method: "POST",
            target: "/stet/setting/v1/register",
            headers: post.headers.map { ($0.name, $0.value) }, body: post.body, publicKey: certificate.publicKey)

        let body = try #require(RegistrationDocument.tree(post.body))
        #expect(body["scope"]?.stringValue == "aisp")
        #expect(body["grant_types"] == ["client_credentials"])
        #expect(body["provider_legal_id"]?.stringValue == "PSDFR-ACPR-12345")
        #expect(body["software_version"]?.stringValue == "1.0")
        #expect(body["contact"]?["phone_number"]?.stringValue == "+33100000000")
        let keys = try #require(body["jwks"]?["keys"]?.arrayValue)
        #expect(keys.count == 1)
        #expect(keys[0]["kid"]?.stringValue == "qseal-2026")
        #expect(keys[0]["x5c"]?.arrayValue == [.string(certificate.base64DER)])
        #expect(keys[0]["x5t#S256"]?.stringValue == certificate.x5tS256)
        #expect(keys[0]["x5u"] == nil && keys[0]["x5t"] == nil)
        #expect(keys[0]["key_ops"] == ["verify"])

        #expect(result.clientID == "bpce-client-1")
        #expect(result.keyID == "bpce-client-1")
        #expect(result.status == .pending)
        // Wednesday 09:00 Paris, before the 10:00 cut-off: active the same day at 14:00 Paris (13:00 UTC).
        #expect(result.activatesAt == Fixed.now.addingTimeInterval(5 * 3600))
        #expect(result.keys == [.init(kid: "qseal-2026", sha256Fingerprint: KAT.fingerprint)])
    }

    @Test func registrationScopeIsCommaSeparatedAndUpdatesAreSignedWithTheURL() async throws {
        let transport = RecordingTransport([
            .json(200, #"{"access_token":"REG","token_type":"Bearer"}"#), .json(201, #"{"client_id":"c9"}"#),
        ])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        var request = TestBanks.registration
        request.roles = [.pisp, .aisp]
        _ = try await adapter.updateRegistration(
            RegistrationReference(clientID: "c9"), with: request, client: try TestBanks.client(TestBanks.bpce),
            context: Fixed.context())
        let put = transport.requests[1]
        #expect(put.method == "PUT")
        #expect(put.url == "https://bpce.test/stet/setting/v1/register/c9")
        #expect(RegistrationDocument.tree(put.body)?["scope"]?.stringValue == "aisp, pisp")
        #expect(RegistrationDocument.tree(put.body)?["software_version"] == nil)
    }

    /// The seed promises a 201 for `PUT /register/{client_id}`, not a body: an answer without `client_id` (or
    /// without any body) is a success for the registration we addressed, pending until the change's time.
    @Test func anUpdateAnsweredWithoutClientIDIsASuccess() async throws {
        let token = RecordingTransport.Answer.json(200, #"{"access_token":"REG","token_type":"Bearer"}"#)
        for answer in [RecordingTransport.Answer.empty(201), .json(201, #"{"client_name":"TPP"}"#)] {
            let transport = RecordingTransport([token, answer])
            let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
            let result = try await adapter.updateRegistration(
                RegistrationReference(clientID: "c9"), with: TestBanks.registration,
                client: try TestBanks.client(TestBanks.bpce, clientID: "c9"), context: Fixed.context())
            #expect(result.clientID == "c9")
            #expect(result.status == .pending)
            #expect(result.activatesAt != nil)
            #expect(result.keys.map(\.kid) == [TestBanks.registration.keyID])
        }
        // A body naming another client is not ours.
        let transport = RecordingTransport([token, .json(201, #"{"client_id":"other"}"#)])
        await #expect(throws: AdapterError.self) {
            _ = try await BPCEAdapter(dependencies: Fixed.dependencies(transport)).updateRegistration(
                RegistrationReference(clientID: "c9"), with: TestBanks.registration,
                client: try TestBanks.client(TestBanks.bpce, clientID: "c9"), context: Fixed.context())
        }
    }

    @Test func readAndDeleteAreSignedWithADigestOfTheEmptyBody() async throws {
        let token = RecordingTransport.Answer.json(200, #"{"access_token":"REG","token_type":"Bearer"}"#)
        let transport = RecordingTransport([token, .json(200, #"{"client_id":"c9"}"#), token, .empty(204)])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.bpce, clientID: "c9")
        _ = try await adapter.readRegistration(
            RegistrationReference(clientID: "c9"), client: client, context: Fixed.context())
        try await adapter.deleteRegistration(
            RegistrationReference(clientID: "c9"), client: client, context: Fixed.context())
        #expect(transport.requests.map(\.method) == ["POST", "GET", "POST", "DELETE"])
        for call in [transport.requests[1], transport.requests[3]] {
            #expect(call.header("Digest") == Self.emptyDigest)
            #expect(try HTTPSignature(parsing: try #require(call.header("Signature"))).keyId == "c9")
        }
    }

    @Test func tokenCallsNeverSendScope() async throws {
        let transport = RecordingTransport(
            status: 200,
            json:
                #"{"access_token":"AT","token_type":"Bearer","expires_in":3600,"scope":"aisp offline_access","refresh_token":"RT"}"#
        )
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        let client = try TestBanks.client(TestBanks.bpce, clientID: "c9")
        let tokens = try await adapter.exchangeCode(
            CodeExchange(code: Secret("CODE"), redirectURI: "https://tpp.example/cb", codeVerifier: Secret("V")),
            client: client, context: Fixed.context())
        _ = try await adapter.refresh(Secret("RT"), client: client, context: Fixed.context())
        #expect(
            transport.requests[0].bodyText
                == "grant_type=authorization_code&client_id=c9&code=CODE&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb")
        #expect(transport.requests[1].bodyText == "grant_type=refresh_token&refresh_token=RT&client_id=c9")
        #expect(tokens.refreshExpiresAt == Fixed.now.addingTimeInterval(90 * 86_400))
        let url = try adapter.authorizationURL(
            AuthorizationRequest(
                clientID: "c9", redirectURI: "https://tpp.example/cb", state: "s", codeChallenge: "ch"),
            client: client)
        #expect(
            url
                == "https://bpce.test/stet/psd2/oauth/authorize?response_type=code&client_id=c9&redirect_uri=https%3A%2F%2Ftpp.example%2Fcb&scope=aisp&state=s"
        )
    }

    @Test func accountsCallIsSignedWithTheClientIDAndAnEmptyBodyDigest() async throws {
        let transport = RecordingTransport([
            .response(OutboundResponse(status: 200, body: try Fixture.bytes("bpce-accounts-not-consented.json")))
        ])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        let psu = PSUContext(headers: [(name: "PSU-IP-Address", value: "192.0.2.7")])
        _ = try await adapter.accounts(
            accessToken: Secret("at-1"), client: try TestBanks.client(TestBanks.bpce, clientID: "bpce-client-1"),
            context: Fixed.context(psu: psu))
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://bpce.test/stet/psd2/v1/accounts")
        #expect(
            request.headerNames == [
                "Host", "Date", "X-Request-ID", "Authorization", "Accept", "Digest", "PSU-IP-Address",
                "Signature",
            ])
        #expect(request.header("Digest") == Self.emptyDigest)
        #expect(
            request.header("Signature")
                == #"keyId="bpce-client-1",algorithm="rsa-sha256",headers="(request-target) date x-request-id digest psu-ip-address",signature="\#(Self.goldenAccountsSignature)""#
        )
    }

    @Test func putConsentsSendsTheIBANs() async throws {
        let transport = RecordingTransport([.empty(201)])
        let adapter = BPCEAdapter(dependencies: Fixed.dependencies(transport))
        try await adapter.putConsents(
            ConsentRequest(
                balances: ["FR76 1380 7008 0430 0196 5405 158"], transactions: ["FR7613807008043001965405158"],
                trustedBeneficiaries: false, identity: true),
            accessToken: Secret("at"), client: try TestBanks.client(TestBanks.bpce, clientID: "c9"),
            context: Fixed.context())
        let request = try #require(transport.requests.first)
        #expect(request.method == "PUT")
        #expect(request.url == "https://bpce.test/stet/psd2/v1/consents")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.signedHeaderNames == ["(request-target)", "date", "x-request-id", "digest", "content-type"])
        #expect(
            request.bodyText
                == #"{"balances":[{"iban":"FR7613807008043001965405158"}],"psuIdentity":true,"transactions":[{"iban":"FR7613807008043001965405158"}],"trustedBeneficiaries":false}"#
        )
    }
}
