import BankSimulator
import CurlKit
import Foundation
import GatewayLogging
import HTTPServerKit
import OpenSSLKit
import TestSupport
import Testing

@testable import BankAdapters
@testable import GatewayCore

/// The real `BankSimulator` (`ServedSimulator`: in-process over TLS with client-certificate verification on port 0)
/// and the adapters talking to it through `CurlTransport` with the test PKI's QWAC and QSealC.
final class LiveSimulator: Sendable {
    let served: ServedSimulator
    let transport: CurlTransport
    let pki: String
    var simulator: BankSimulator { served.simulator }
    var port: Int { served.port }

    init() throws {
        pki = try TestEnvironment.pkiDirectory()
        served = try ServedSimulator()
        transport = try ServedSimulator.transport()
    }

    func stop() async {
        await transport.shutdown()
        await served.stop()
    }

    func material(_ id: String, certificate: String, key: String) throws -> CertificateMaterial {
        CertificateMaterial(
            id: id, certificatePEM: try String(contentsOfFile: pki + "/" + certificate, encoding: .utf8),
            privateKeyPEM: Secret(try String(contentsOfFile: pki + "/" + key, encoding: .utf8)))
    }

    func client(_ bank: BankProfile) throws -> BankClient {
        BankClient(
            bank: bank, environment: .sandbox, qwac: try material("qwac", certificate: "qwac.crt", key: "qwac.key"),
            qseal: try material("qseal", certificate: "qseal-chain.pem", key: "qseal.key"))
    }

    /// The adapters' clock follows the simulator's (which tests may move), so `Date` headers stay within its skew.
    var dependencies: AdapterDependencies {
        let clock = simulator.clock
        return AdapterDependencies(
            transport: transport, now: { Date(timeIntervalSince1970: TimeInterval(clock.now())) })
    }

    /// `POST /__simulator/…` introspection call.
    func introspect(_ path: String) async throws -> Int {
        try await transport.send(
            OutboundRequest(
                method: "POST", url: "https://localhost:\(port)/__simulator/" + path, timeout: .seconds(10),
                bankID: "simulator", pathTemplate: "/__simulator")
        ).status
    }

    /// The Euro-Information brand `cic`, sandbox URLs on the simulator.
    var euroInformation: BankProfile {
        var profile = BankCatalog.builtIn.profile(for: BankID("cmcic:cic")!)!
        let root = "https://localhost:\(port)/sandbox/cic/"
        profile.sandbox = .init(
            apiRoot: root + "stet-psd2-api/v2.1", token: root + "oauth2/token",
            registration: root + "oauth2/registrations",
            authorize: root + "oauth2/{lang}/sandbox/signin.html")
        return profile
    }

    /// BPCE bank 13807 under the simulator's `/bpce/13807` path prefix (libcurl/OpenSSL refuse the test server
    /// certificate's `*.localhost` wildcard for `bpce-13807.localhost`: a wildcard needs two labels after it).
    var bpce: BankProfile {
        var profile = BankCatalog.builtIn.profile(for: BankID("bpce:13807")!)!
        let host = "https://localhost:\(port)/bpce/13807"
        profile.sandbox = .init(
            apiRoot: host + "/stet/psd2/v1", token: host + "/stet/psd2/oauth/token",
            registration: host + "/stet/setting/v1/register", authorize: host + "/stet/psd2/oauth/authorize")
        return profile
    }

    /// Plays the PSU's browser: GETs the authorize URL with `persona=` (no client certificate) and returns the
    /// `code` of the redirect after checking its `state`.
    func authorize(_ url: String, persona: String, state: String) async throws -> String {
        let response = try await transport.send(
            OutboundRequest(
                method: "GET", url: url + "&persona=" + persona, timeout: .seconds(10), bankID: "browser",
                pathTemplate: "/authorize"))
        guard response.status == 302 || response.status == 303, let location = response.header("Location") else {
            throw E2EFailure("authorize answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
        }
        guard query(location, "state") == state, let code = query(location, "code") else {
            throw E2EFailure("redirect without code or with another state: \(location)")
        }
        return code
    }

    func query(_ url: String, _ name: String) -> String? {
        guard let q = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        for pair in q.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.first.map(String.init) == name {
                return parts.count > 1 ? String(parts[1]).removingPercentEncoding : ""
            }
        }
        return nil
    }

    /// `GET /__simulator/counters` as text.
    func counters() async throws -> String {
        let response = try await transport.send(
            OutboundRequest(
                method: "GET", url: "https://localhost:\(port)/__simulator/counters", timeout: .seconds(10),
                bankID: "simulator", pathTemplate: "/__simulator/counters"))
        return String(decoding: response.body, as: UTF8.self)
    }
}

struct E2EFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@Suite(.serialized) struct SimulatorEndToEndTests {
    static let redirect = "https://tpp.example/callback"

    func context() -> AdapterContext {
        AdapterContext(
            requestID: "e2e", deadline: .now + .seconds(30), logger: Logger(label: "e2e", level: .error),
            psu: PSUContext(headers: [
                (name: "PSU-IP-Address", value: "192.0.2.7"), (name: "PSU-User-Agent", value: "e2e"),
            ]))
    }

    func registration(name: String) -> RegistrationRequest {
        RegistrationRequest(
            clientName: name, redirectURIs: [Self.redirect], roles: [.aisp],
            contact: .init(name: "Ops", email: "psd2@tpp.example", phone: "+33100000000"), softwareID: "Passerelle",
            providerLegalID: "PSDFR-ACPR-12345", keyID: "qseal-" + UUID().uuidString.prefix(8).lowercased(),
            certificateURL: "https://tpp.example/certs/qseal.pem")
    }

    /// Every page of one account's transactions, following `next` links.
    func allTransactions(
        _ adapter: any BankAdapter, account: String, token: Secret<String>, client: BankClient
    ) async throws -> (transactions: [Transaction], pages: Int) {
        var page = try await adapter.transactions(
            accountID: account, page: .first(from: nil, to: nil), accessToken: token, client: client, context: context()
        )
        var all = page.transactions
        var pages = 1
        var visited: Set<String> = []
        while let next = page.nextPageURL, visited.insert(next).inserted, pages < 20 {
            page = try await adapter.transactions(
                accountID: account, page: .next(url: next), accessToken: token, client: client, context: context())
            all += page.transactions
            pages += 1
        }
        return (all, pages)
    }

    @Test func euroInformationRegistrationAuthorizationTokenAndAccountInformation() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = EuroInformationAdapter(dependencies: live.dependencies)
            var client = try live.client(live.euroInformation)
            let registered = try await adapter.register(
                registration(name: "Passerelle EI e2e"), client: client, context: context())
            #expect(registered.clientID.count == 40)
            #expect(registered.status == .active)
            let kid = try #require(registered.keyID)
            #expect(kid.count == 32)
            #expect(registered.keys.count == 1)
            client.clientID = registered.clientID
            client.keyID = kid

            let read = try await adapter.readRegistration(
                RegistrationReference(
                    clientID: registered.clientID, registrationClientURI: registered.registrationClientURI),
                client: client, context: context())
            #expect(read.keyID == kid)

            let verifier = "e2e-verifier-" + UUID().uuidString + UUID().uuidString
            let challenge = Base64.urlEncode(Digest.sha256(verifier))
            let url = try adapter.authorizationURL(
                AuthorizationRequest(
                    clientID: registered.clientID, redirectURI: Self.redirect, state: "st-ei", codeChallenge: challenge),
                client: client)
            let code = try await live.authorize(url, persona: "marc", state: "st-ei")
            let tokens = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: Self.redirect, codeVerifier: Secret(verifier)),
                client: client, context: context())
            let refreshed = try await adapter.refresh(
                try #require(tokens.refreshToken), client: client, context: context())
            let token = refreshed.accessToken

            let accounts = try await adapter.accounts(accessToken: token, client: client, context: context())
            #expect(accounts.count == 3)
            #expect(accounts.first?.iban == "FR7613807008043001965405158")
            try await adapter.putConsents(
                ConsentRequest(balances: [accounts[0].iban ?? ""]), accessToken: token, client: client,
                context: context())
            let balances = try await adapter.balances(
                accountID: accounts[0].id, accessToken: token, client: client, context: context())
            #expect(!balances.isEmpty)
            let (transactions, pages) = try await allTransactions(
                adapter, account: accounts[0].id, token: token, client: client)
            #expect(pages == 3)
            #expect(transactions.count == 120)
            _ = try await adapter.trustedBeneficiaries(accessToken: token, client: client, context: context())
            let identity = try await adapter.identity(accessToken: token, client: client, context: context())
            #expect(identity.name == "MALLOW MARC")

            try await adapter.deleteRegistration(
                RegistrationReference(
                    clientID: registered.clientID, registrationClientURI: registered.registrationClientURI),
                client: client, context: context())
            await #expect(throws: AdapterError.self) {
                _ = try await adapter.accounts(accessToken: token, client: client, context: self.context())
            }
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test func euroInformationRotationSignsWithTheNewKid() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = EuroInformationAdapter(dependencies: live.dependencies)
            var client = try live.client(live.euroInformation)
            let request = registration(name: "Passerelle EI rotation")
            let first = try await adapter.register(request, client: client, context: context())
            client.clientID = first.clientID
            let reference = RegistrationReference(
                clientID: first.clientID, registrationClientURI: first.registrationClientURI, keys: first.keys)
            // The second QSealC (with the CA, the full chain) joins the first one.
            let qseal2Chain =
                try String(contentsOfFile: live.pki + "/qseal2.crt", encoding: .utf8)
                + String(contentsOfFile: live.pki + "/ca.crt", encoding: .utf8)
            client.qseal = CertificateMaterial(
                id: "qseal2", certificatePEM: qseal2Chain,
                privateKeyPEM: Secret(try String(contentsOfFile: live.pki + "/qseal2.key", encoding: .utf8)))
            let rotated = try await adapter.updateRegistration(
                reference, with: request, client: client, context: context())
            #expect(rotated.keys.count == 2)
            #expect(rotated.keys.contains { $0.kid == first.keyID })
            let newKid = try #require(rotated.keyID)
            #expect(newKid != first.keyID)
            client.keyID = newKid

            let verifier = "rotation-verifier-" + UUID().uuidString + UUID().uuidString
            let url = try adapter.authorizationURL(
                AuthorizationRequest(
                    clientID: first.clientID, redirectURI: Self.redirect, state: "st-rot",
                    codeChallenge: Base64.urlEncode(Digest.sha256(verifier))),
                client: client)
            let code = try await live.authorize(url, persona: "tech-n-co", state: "st-rot")
            let tokens = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: Self.redirect, codeVerifier: Secret(verifier)),
                client: client, context: context())
            let accounts = try await adapter.accounts(
                accessToken: tokens.accessToken, client: client, context: context())
            #expect(accounts.map(\.iban) == ["FR7613807008043001965409135"])
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test func euroInformationSignsWithTheRegisteredX5UInX5UMode() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = EuroInformationAdapter(dependencies: live.dependencies)
            var profile = live.euroInformation
            profile.keyIdMode = .x5u
            var client = try live.client(profile)
            let request = registration(name: "Passerelle EI x5u")
            let registered = try await adapter.register(request, client: client, context: context())
            #expect(registered.keyID == request.certificateURL)
            client.clientID = registered.clientID
            client.keyID = registered.keyID
            let verifier = "x5u-verifier-" + UUID().uuidString + UUID().uuidString
            let url = try adapter.authorizationURL(
                AuthorizationRequest(
                    clientID: registered.clientID, redirectURI: Self.redirect, state: "st-x5u",
                    codeChallenge: Base64.urlEncode(Digest.sha256(verifier))),
                client: client)
            let code = try await live.authorize(url, persona: "marc", state: "st-x5u")
            let tokens = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: Self.redirect, codeVerifier: Secret(verifier)),
                client: client, context: context())
            let accounts = try await adapter.accounts(
                accessToken: tokens.accessToken, client: client, context: context())
            #expect(accounts.count == 3)
            // A keyId the bank does not know is refused as a TPP credential problem, not as an expired token.
            client.keyID = "https://tpp.example/certs/unknown.pem"
            await #expect {
                _ = try await adapter.accounts(accessToken: tokens.accessToken, client: client, context: self.context())
            } throws: { error in
                if case AdapterError.unauthorized(403, _, let message?) = error { return message.contains("signature") }
                return false
            }
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test func bpceRegistrationConsentsAndAccountInformation() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = BPCEAdapter(dependencies: live.dependencies)
            var client = try live.client(live.bpce)
            client.qseal = try live.material("qseal-leaf", certificate: "qseal.crt", key: "qseal.key")
            let registered = try await adapter.register(
                registration(name: "Passerelle BPCE e2e " + UUID().uuidString.prefix(6)), client: client,
                context: context())
            #expect(registered.status == .pending)
            #expect(registered.activatesAt != nil)
            #expect(registered.keyID == registered.clientID)
            client.clientID = registered.clientID
            client.keyID = registered.keyID

            let read = try await adapter.readRegistration(
                RegistrationReference(clientID: registered.clientID), client: client, context: context())
            #expect(read.clientID == registered.clientID)

            let url = try adapter.authorizationURL(
                AuthorizationRequest(clientID: registered.clientID, redirectURI: Self.redirect, state: "st-bpce"),
                client: client)
            #expect(!url.contains("code_challenge"))
            let code = try await live.authorize(url, persona: "marc", state: "st-bpce")
            let tokens = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: Self.redirect), client: client, context: context())
            let refreshed = try await adapter.refresh(
                try #require(tokens.refreshToken), client: client, context: context())
            #expect(refreshed.refreshToken == tokens.refreshToken)  // BPCE does not rotate
            let token = refreshed.accessToken

            let before = try await adapter.accounts(accessToken: token, client: client, context: context())
            #expect(before.count == 3)
            // Balances need a consent first.
            await #expect(throws: AdapterError.noAccounts) {
                _ = try await adapter.balances(
                    accountID: before[0].id, accessToken: token, client: client, context: self.context())
            }
            let ibans = before.compactMap(\.iban)
            try await adapter.putConsents(
                ConsentRequest(balances: ibans, transactions: ibans, trustedBeneficiaries: true, identity: true),
                accessToken: token, client: client, context: context())
            let after = try await adapter.accounts(accessToken: token, client: client, context: context())
            #expect(after.count == 3)
            #expect(after[0].balances?.isEmpty == false)
            let balances = try await adapter.balances(
                accountID: after[0].id, accessToken: token, client: client, context: context())
            #expect(!balances.isEmpty)
            let (transactions, pages) = try await allTransactions(
                adapter, account: after[0].id, token: token, client: client)
            #expect(pages == 3)
            #expect(transactions.count == 120)
            let identity = try await adapter.identity(accessToken: token, client: client, context: context())
            #expect(identity.name == "MALLOW MARC")

            try await adapter.deleteRegistration(
                RegistrationReference(clientID: registered.clientID), client: client, context: context())
            await #expect(throws: AdapterError.self) {
                _ = try await adapter.readRegistration(
                    RegistrationReference(clientID: registered.clientID), client: client, context: self.context())
            }
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test func expiredAccessTokensAndDeadRefreshTokens() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = BPCEAdapter(dependencies: live.dependencies)
            var client = try live.client(live.bpce)
            client.qseal = try live.material("qseal-leaf", certificate: "qseal.crt", key: "qseal.key")
            let registered = try await adapter.register(
                registration(name: "Passerelle BPCE expiry " + UUID().uuidString.prefix(6)), client: client,
                context: context())
            client.clientID = registered.clientID
            let url = try adapter.authorizationURL(
                AuthorizationRequest(clientID: registered.clientID, redirectURI: Self.redirect, state: "st-exp"),
                client: client)
            let code = try await live.authorize(url, persona: "marc", state: "st-exp")
            let tokens = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code), redirectURI: Self.redirect), client: client, context: context())
            // A reused code is refused with the bank's OAuth error.
            await #expect {
                _ = try await adapter.exchangeCode(
                    CodeExchange(code: Secret(code), redirectURI: Self.redirect), client: client,
                    context: self.context())
            } throws: { error in
                if case AdapterError.rejected(400, "invalid_grant", _) = error { return true }
                return false
            }
            // Without PSU-IP-Address the bank allows four calls a day per resource: the fifth is rate limited.
            let unattended = AdapterContext(
                requestID: "e2e-unattended", deadline: .now + .seconds(30), logger: Logger(label: "e2e", level: .error))
            for _ in 0..<4 {
                _ = try await adapter.accounts(accessToken: tokens.accessToken, client: client, context: unattended)
            }
            await #expect {
                _ = try await adapter.accounts(accessToken: tokens.accessToken, client: client, context: unattended)
            } throws: { error in
                if case AdapterError.rateLimited = error { return true }
                return false
            }
            // An hour and a bit later the access token is refused as expired; a refresh makes it work again.
            live.simulator.clock.advance(by: 3700)
            await #expect(throws: AdapterError.tokenExpired) {
                _ = try await adapter.accounts(accessToken: tokens.accessToken, client: client, context: self.context())
            }
            let refreshed = try await adapter.refresh(
                try #require(tokens.refreshToken), client: client, context: context())
            #expect(
                try await adapter.accounts(accessToken: refreshed.accessToken, client: client, context: context()).count
                    == 3)
            // Once the bank expires the refresh token, a refresh says a new SCA is needed.
            #expect(try await live.introspect("refresh-tokens/expire?client_id=" + registered.clientID) == 200)
            await #expect {
                _ = try await adapter.refresh(
                    try #require(tokens.refreshToken), client: client, context: self.context())
            } throws: { error in
                if case AdapterError.refreshTokenDead = error { return true }
                return false
            }
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }

    @Test func bankErrorsOverTheWire() async throws {
        let live = try LiveSimulator()
        do {
            let adapter = BPCEAdapter(dependencies: live.dependencies)
            var client = try live.client(live.bpce)
            client.qseal = try live.material("qseal-leaf", certificate: "qseal.crt", key: "qseal.key")
            // A second registration with the same client_name is refused with the bank's own code and message.
            let request = registration(name: "Passerelle BPCE duplicate " + UUID().uuidString.prefix(6))
            _ = try await adapter.register(request, client: client, context: context())
            await #expect {
                _ = try await adapter.register(request, client: client, context: self.context())
            } throws: { error in
                guard case AdapterError.rejected(400, let code?, let message?) = error else { return false }
                return code == "invalid_client_metadata" && message.contains("client_name")
            }
            // An unknown access token is a 401 → tokenExpired.
            client.clientID = "unknown-client"
            await #expect(throws: AdapterError.self) {
                _ = try await adapter.accounts(accessToken: Secret("nope"), client: client, context: self.context())
            }
            // Nothing listens: a transport error naming the host, no secret.
            var gone = client
            var profile = live.bpce
            profile.sandbox?.apiRoot = "https://127.0.0.1:1/stet/psd2/v1"
            gone.bank = profile
            await #expect {
                _ = try await adapter.accounts(accessToken: Secret("at-SECRET"), client: gone, context: self.context())
            } throws: { error in
                guard case AdapterError.transport(let reason) = error else { return false }
                return !reason.contains("SECRET")
            }
        } catch {
            await live.stop()
            throw error
        }
        await live.stop()
    }
}
