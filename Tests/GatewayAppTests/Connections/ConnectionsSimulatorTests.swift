import BankSimulator
import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
import HTTPServerKit
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

/// The bank simulator in-process over mutual TLS on port 0, a banks file pointing `cmcic:cic` and `bpce:13807` at
/// it, and the real adapters over `CurlTransport`: what the Application under test talks to.
final class SimulatorBanks: Sendable {
    let served: ServedSimulator
    let transport: CurlTransport
    let banksFile: String
    var simulator: BankSimulator { served.simulator }
    var server: HTTPServer { served.server }

    /// - Parameters:
    ///   - activation: `.strict` for the bank's 14:00 Paris rule (move `simulator.clock` across it).
    ///   - configure: Further changes to the simulator's configuration.
    init(
        activation: SimulatorConfiguration.ActivationMode = .immediate,
        configure: (inout SimulatorConfiguration) -> Void = { _ in }
    ) throws {
        served = try ServedSimulator {
            $0.activationMode = activation
            configure(&$0)
        }
        transport = try ServedSimulator.transport()
        let port = served.port
        let ei = "https://localhost:\(port)/sandbox/cic/"
        let bpce = "https://localhost:\(port)/bpce/13807"
        let banks: [String: Any] = [
            "banks": [
                "cmcic:cic": [
                    "sandbox": [
                        "apiRoot": ei + "stet-psd2-api/v2.1", "token": ei + "oauth2/token",
                        "registration": ei + "oauth2/registrations", "authorize": ei + "oauth2/{lang}/sandbox/signin.html",
                    ]
                ],
                "bpce:13807": [
                    "sandbox": [
                        "apiRoot": bpce + "/stet/psd2/v1", "token": bpce + "/stet/psd2/oauth/token",
                        "registration": bpce + "/stet/setting/v1/register", "authorize": bpce + "/stet/psd2/oauth/authorize",
                    ]
                ],
            ]
        ]
        banksFile = NSTemporaryDirectory() + "passerelle-banks-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: banks).write(to: URL(fileURLWithPath: banksFile))
    }

    /// The production adapters over the test transport.
    var adapters: [Provider: any BankAdapter] { Application.standardAdapters()(transport) }

    func stop() async {
        await transport.shutdown()
        await served.stop()
        try? FileManager.default.removeItem(atPath: banksFile)
    }

    /// Runs `body`, then stops the application `h` and these banks, whatever happens.
    func run(with h: AppHarness, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            await h.stop()
            await stop()
            throw error
        }
        await h.stop()
        await stop()
    }

    /// Plays the customer's browser: follows `authorizationUrl` with `persona=` (`refuse` refuses) and returns the
    /// query of the redirect to the TPP, decoded.
    func redirect(_ url: String, persona: String) async throws -> [String: String] {
        let response = try await transport.send(
            OutboundRequest(
                method: "GET", url: url + "&persona=" + persona, timeout: .seconds(10), bankID: "browser",
                pathTemplate: "/authorize"))
        guard (300..<400).contains(response.status) else {
            throw GatewayError.internal("authorize answered \(response.status), not a redirect")
        }
        let location = response.headers.first { $0.name.lowercased() == "location" }?.value ?? ""
        let query = location.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        var items: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            items[parts[0]] = parts.count > 1 ? parts[1].replacingOccurrences(of: "+", with: " ").removingPercentEncoding : ""
        }
        return items
    }

    /// The code of the redirect for `persona`.
    func authorize(_ url: String, persona: String, state: String) async throws -> String {
        let items = try await redirect(url, persona: persona)
        guard items["state"] == state, let code = items["code"] else {
            throw GatewayError.internal("authorize redirected without code or with another state")
        }
        return code
    }
}

/// End to end: the Application over HTTP, the real adapters, the simulator over mutual TLS, PostgreSQL.
@Suite(.serialized) struct ConnectionsSimulatorTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "e2e/1.0")]

    /// Registers at `bank`, connects persona `persona`, authorizes; returns the harness' connection id.
    static func connect(
        _ h: AppHarness, _ banks: SimulatorBanks, bank: String, persona: String, clock: ConnectionsClock? = nil
    ) async throws -> String {
        let registered = try await h.register(bank: bank, name: "Passerelle e2e \(UUID().uuidString.prefix(6))")
        // A BPCE registration is pending until its activation time (next working day 14:00 Paris): refused first,
        // then accepted once the application's clock has passed it (the simulator activates at once).
        if let clock, let activatesAt = (registered.json["activatesAt"] as? String).flatMap(RFC3339.date) {
            let early = try await h.request(
                "POST", "/v1/connections",
                json: ["bank": bank, "psuReference": "e2e-\(persona)", "redirectUri": "https://tpp.example/callback"])
            #expect(early.status == 409)
            #expect(early.json["detail"] as? String == nil || (early.json["detail"] as? String)?.contains("activates at") == true)
            clock.advance(activatesAt.timeIntervalSince(clock.now) + 1)
        }
        return try await authorizeConnection(h, banks, bank: bank, persona: persona)
    }

    /// Starts a connection at `bank` for persona `persona` with the registration in place and authorizes it at the
    /// simulator; returns the connection id.
    static func authorizeConnection(_ h: AppHarness, _ banks: SimulatorBanks, bank: String, persona: String)
        async throws -> String
    {
        let pending = try await h.createConnection(bank: bank, psuReference: "e2e-\(persona)")
        let (id, state) = pending.idAndState
        let code = try await banks.authorize(pending.authorizationURL, persona: persona, state: state)
        let authorized = try await h.request("POST", "/v1/connections/\(id)/authorization", json: ["code": code, "state": state])
        #expect(authorized.status == 200, "\(authorized.text)")
        #expect(authorized.json["status"] as? String == "active")
        // The same code and state again: refused before the bank.
        let replay = try await h.request("POST", "/v1/connections/\(id)/authorization", json: ["code": code, "state": state])
        #expect(replay.status == 409)
        return id
    }

    /// Every transactions page through our cursor.
    static func allTransactions(_ h: AppHarness, connection: String, account: String) async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var target = "/v1/connections/\(connection)/accounts/\(account)/transactions"
        for _ in 0..<20 {
            let page = try await h.request("GET", target, headers: psu)
            #expect(page.status == 200, "\(page.text)")
            all += page.json["transactions"] as? [[String: Any]] ?? []
            guard let cursor = page.json["nextCursor"] as? String else { return all }
            target = "/v1/connections/\(connection)/accounts/\(account)/transactions?cursor=\(cursor)"
        }
        Issue.record("too many pages")
        return all
    }

    /// The customer refuses at the bank: the bank redirects back with `error` (RFC 6749 §4.1.2.1), the TPP posts it,
    /// and the connection ends `refused`, its state consumed (it used to stay pending forever: "code is required").
    @Test func aCustomerRefusalEndsTheConnectionRefused() async throws {
        let banks = try SimulatorBanks()
        let h = try await AppHarness.start(adapters: banks.adapters, environment: ["PASSERELLE_BANKS_FILE": banks.banksFile])
        try await banks.run(with: h) {
            try await h.register(bank: "cmcic:cic")
            let pending = try await h.createConnection(bank: "cmcic:cic", psuReference: "refuser")
            let (id, state) = pending.idAndState
            let back = try await banks.redirect(pending.authorizationURL, persona: "refuse")
            #expect(back["code"] == nil)
            let error = try #require(back["error"])
            #expect(back["state"] == state)
            var body: [String: Any] = ["error": error, "state": state]
            if let description = back["error_description"] { body["errorDescription"] = description }
            let refused = try await h.request("POST", "/v1/connections/\(id)/authorization", json: body)
            #expect(refused.status == 200, "\(refused.text)")
            #expect(refused.json["status"] as? String == "refused")
            #expect((refused.json["authorizationError"] as? String)?.hasPrefix(error) == true)
            #expect(try await h.request("GET", "/v1/connections/\(id)").json["status"] as? String == "refused")
            // The state's single use and the redirect body's rules: `ConnectionsRouterTests`.
            let read = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
            #expect(read.status == 409)
        }
    }

    @Test func euroInformationConnectionEndToEnd() async throws {
        let banks = try SimulatorBanks()
        let h = try await AppHarness.start(
            adapters: banks.adapters,
            environment: [
                "PASSERELLE_BANKS_FILE": banks.banksFile, "PASSERELLE_TRANSACTION_PAGES_PER_CALL": "2",
                "PASSERELLE_EI_REAUTHORIZE_DAYS": "90",
            ])
        do {
            let id = try await Self.connect(h, banks, bank: "cmcic:cic", persona: "marc")
            // The bank publishes no lifetime: reauthorizeBy is the configured one after the authorization.
            let shown = try await h.request("GET", "/v1/connections/\(id)")
            let authorizedAt = try #require((shown.json["authorizedAt"] as? String).flatMap(RFC3339.date))
            let reauthorizeBy = try #require((shown.json["reauthorizeBy"] as? String).flatMap(RFC3339.date), "\(shown.text)")
            #expect(abs(reauthorizeBy.timeIntervalSince(authorizedAt) - 90 * 86_400) < 1)
            let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
            #expect(accounts.status == 200, "\(accounts.text)")
            let list = try #require(accounts.json["accounts"] as? [[String: Any]])
            #expect(list.count == 3)
            let account = try #require(list.first?["id"] as? String)
            #expect(account.hasPrefix("acc_"))
            let consents = try await h.request(
                "PUT", "/v1/connections/\(id)/consents", json: ["balances": [], "transactions": [], "trustedBeneficiaries": true, "identity": true],
                headers: Self.psu)
            #expect(consents.status == 200, "\(consents.text)")
            // Euro-Information has no PUT /consents: nothing is recorded as forwarded.
            #expect(try await h.request("GET", "/v1/connections/\(id)").json["consents"] == nil)
            let balances = try await h.request("GET", "/v1/connections/\(id)/accounts/\(account)/balances", headers: Self.psu)
            #expect(balances.status == 200, "\(balances.text)")
            #expect((balances.json["balances"] as? [Any])?.isEmpty == false)
            let transactions = try await Self.allTransactions(h, connection: id, account: account)
            #expect(transactions.count == 120)
            let beneficiaries = try await h.request("GET", "/v1/connections/\(id)/trusted-beneficiaries", headers: Self.psu)
            #expect(beneficiaries.status == 200, "\(beneficiaries.text)")
            let identity = try await h.request("GET", "/v1/connections/\(id)/identity", headers: Self.psu)
            #expect(identity.json["name"] as? String == "MALLOW MARC", "\(identity.text)")
            #expect(!h.logs.text.contains("Bearer "), "no Authorization header in the logs")
        } catch {
            await h.stop()
            await banks.stop()
            throw error
        }
        await h.stop()
        await banks.stop()
    }

    @Test func bpceConnectionEndToEnd() async throws {
        let banks = try SimulatorBanks()
        let clock = ConnectionsClock(Date())
        let h = try await AppHarness.start(
            adapters: banks.adapters, environment: ["PASSERELLE_BANKS_FILE": banks.banksFile], now: { clock.now })
        do {
            let id = try await Self.connect(h, banks, bank: "bpce:13807", persona: "marc", clock: clock)
            let connection = try await h.request("GET", "/v1/connections/\(id)")
            #expect(connection.json["reauthorizeBy"] is String, "BPCE: 90 days from the SCA")
            let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu)
            let list = try #require(accounts.json["accounts"] as? [[String: Any]], "\(accounts.text)")
            #expect(list.count == 3)
            let ibans = list.compactMap { $0["iban"] as? String }
            let account = try #require(list.first?["id"] as? String)
            // Before PUT /consents BPCE answers NAAC: that is a missing consent (409 naming what to put), not an
            // empty list (it used to be 200 with no balances, silently).
            for path in ["accounts/\(account)/balances", "accounts/\(account)/transactions", "identity"] {
                let early = try await h.request("GET", "/v1/connections/\(id)/\(path)", headers: Self.psu)
                #expect(early.status == 409, "\(path): \(early.text)")
                #expect(early.json["type"] as? String == "/problems/consent-required", "\(path)")
                #expect((early.json["detail"] as? String)?.contains("/consents") == true)
                #expect((early.json["bank"] as? [String: Any])?["code"] as? String == "NAAC")
            }
            let consents = try await h.request(
                "PUT", "/v1/connections/\(id)/consents",
                json: ["balances": ibans, "transactions": ibans, "trustedBeneficiaries": false, "identity": true],
                headers: Self.psu)
            #expect(consents.status == 200, "\(consents.text)")
            // The connection shows who the bank says the customer is (BPCE's accounts list names the customer once
            // consented) and what was consented.
            #expect(try await h.request("GET", "/v1/connections/\(id)/accounts", headers: Self.psu).status == 200)
            let shown = try await h.request("GET", "/v1/connections/\(id)")
            #expect(shown.json["connectedPsu"] as? String == "MALLOW MARC", "\(shown.text)")
            let consented = shown.json["consents"] as? [String: Any]
            #expect(Set(consented?["balances"] as? [String] ?? []) == Set(ibans), "\(shown.text)")
            #expect(Set(consented?["transactions"] as? [String] ?? []) == Set(ibans))
            #expect(consented?["identity"] as? Bool == true)
            let balances = try await h.request("GET", "/v1/connections/\(id)/accounts/\(account)/balances", headers: Self.psu)
            #expect((balances.json["balances"] as? [Any])?.isEmpty == false, "\(balances.text)")
            let transactions = try await Self.allTransactions(h, connection: id, account: account)
            #expect(!transactions.isEmpty)
            let beneficiaries = try await h.request("GET", "/v1/connections/\(id)/trusted-beneficiaries", headers: Self.psu)
            #expect(beneficiaries.status == 501, "not offered by Banques Populaires")
            let identity = try await h.request("GET", "/v1/connections/\(id)/identity", headers: Self.psu)
            #expect(identity.status == 200, "\(identity.text)")
        } catch {
            await h.stop()
            await banks.stop()
            throw error
        }
        await h.stop()
        await banks.stop()
    }
}

/// Token expiry against the simulator: the application, the adapters and the simulator share the simulator's clock.
@Suite(.serialized) struct ConnectionsSimulatorExpiryTests {
    @Test func accessTokenExpiryIsRefreshedTransparently() async throws {
        let banks = try SimulatorBanks()
        let clock = banks.simulator.clock
        let now: @Sendable () -> Date = { Date(timeIntervalSince1970: TimeInterval(clock.now())) }
        let h = try await AppHarness.start(
            adapters: Application.standardAdapters(now: now)(banks.transport),
            environment: ["PASSERELLE_BANKS_FILE": banks.banksFile], now: now)
        do {
            let id = try await ConnectionsSimulatorTests.connect(h, banks, bank: "cmcic:cic", persona: "marc")
            let before = try await h.request("GET", "/v1/connections/\(id)")
            let expiresAt = try #require((before.json["accessExpiresAt"] as? String).flatMap(RFC3339.date))
            #expect(try await h.request("GET", "/v1/connections/\(id)/accounts", headers: ConnectionsSimulatorTests.psu).status == 200)
            // 30 s before expiry: inside the refresh margin, still valid at the bank.
            clock.advance(by: Int64(expiresAt.timeIntervalSince(now()) - 30))
            let accounts = try await h.request("GET", "/v1/connections/\(id)/accounts", headers: ConnectionsSimulatorTests.psu)
            #expect(accounts.status == 200, "\(accounts.text)")
            let after = try await h.request("GET", "/v1/connections/\(id)")
            let renewed = try #require((after.json["accessExpiresAt"] as? String).flatMap(RFC3339.date))
            #expect(renewed > expiresAt)
            #expect(h.logs.text.contains("refreshed the access token"))
            // Long past expiry (the bank would refuse the old token): refreshed again before the call.
            clock.advance(by: Int64(renewed.timeIntervalSince(now()) + 600))
            #expect(try await h.request("GET", "/v1/connections/\(id)/identity", headers: ConnectionsSimulatorTests.psu).status == 200)
        } catch {
            await h.stop()
            await banks.stop()
            throw error
        }
        await h.stop()
        await banks.stop()
    }
}
