import Foundation
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// What the README's "Operations" section promises of `passerelle serve` itself, checked on the real process with the
/// simulator (a `passerelle simulator` process) as its banks: what SIGTERM and SIGINT do, the grace period running
/// out, `/metrics`, `X-Request-Id`, and that no secret or customer datum reaches the logs or `outbound_requests`.
@Suite(.serialized) struct ServeProcessTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "serve-tests/1.0")]
    static let auth = [("Authorization", "Bearer \(ReplicaCluster.apiKey)")]

    /// Starts one gateway and the simulator, runs `body`, stops everything whatever happens.
    static func withCluster(
        gateway environment: [String: String], _ body: (ReplicaCluster) async throws -> Void
    ) async throws {
        let cluster = try await ReplicaCluster.start(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: environment.merging(["PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"]) { a, _ in a })
        do {
            try await body(cluster)
        } catch {
            Issue.record("gateway log tail:\n\(cluster.gateways[0].process.logTail(30))")
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    /// Waits (bounded poll) until the gateway is handling `count` requests besides the `/metrics` call itself.
    static func waitForInFlight(_ port: Int, count: Int) async throws {
        for _ in 0..<400 {
            let metrics = try await TestHTTPClient(port: port).send("GET", "/metrics")
            let line = metrics.text.split(separator: "\n").first { $0.hasPrefix("http_inflight_requests ") }
            if let value = line.flatMap({ Double($0.split(separator: " ").last ?? "") }), Int(value) >= count + 1 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw ProcessFailure(description: "fewer than \(count) requests in flight")
    }

    /// A bank read that the simulator holds for `milliseconds` (one fault, on the next cmcic:cic request).
    static func slowRead(_ cluster: ReplicaCluster, connection: String, milliseconds: Int) async throws -> RawClient {
        try await cluster.simulator("POST", "faults?bank=cmcic:cic&fault=latency=\(milliseconds)&count=1")
        let port = cluster.gateways[0].port
        return try await offPool {
            let client = try RawClient(port: port, timeoutSeconds: 60)
            try client.send(
                "GET /v1/connections/\(connection)/accounts HTTP/1.1\r\nHost: a\r\n"
                    + (psu + auth).map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n")
            return client
        }
    }

    /// Checked (temporary edits of `Sources/`, never committed): making `/ready` ignore the draining flag
    /// (`OperationsRoutes`) fails with "/ready while draining: 200" for both signals; making the drain close every
    /// connection, in-flight ones too (`EventLoop.beginDrain`), fails with "no complete response (eof: true)".
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalDrainsInFlightRequestsRefusesNewOnesAndExitsZero(signal: Int32) async throws {
        try await Self.withCluster(gateway: ["PASSERELLE_SHUTDOWN_GRACE_SECONDS": "30"]) { cluster in
            let gateway = cluster.gateways[0]
            let port = gateway.port
            let (connection, _, _) = try await ReplicaRefreshRaceTests.connect(gateway, cluster: cluster, bank: "cmcic:cic", persona: "marc")

            // A keep-alive connection that has sent half of a `/ready` request (it is not idle: it is mid-request),
            // and an account read the bank holds for 1.5 s.
            let halfway = try await offPool { () -> RawClient in
                let c = try RawClient(port: port, timeoutSeconds: 30)
                try c.send("GET /ready HTTP/1.1\r\nHost: a\r\n")
                return c
            }
            let slow = try await Self.slowRead(cluster, connection: connection, milliseconds: 1500)
            try await Self.waitForInFlight(port, count: 1)

            kill(gateway.process.pid, signal)

            let refused = try await offPool { () -> Bool in
                for _ in 0..<250 {
                    if (try? RawClient(port: port)) == nil { return true }
                    usleep(20_000)
                }
                return false
            }
            #expect(refused, "new connections are refused while draining")
            let ready = try await offPool { () -> ParsedResponse in
                try halfway.send("\r\n")
                return try halfway.readResponse()
            }
            #expect(ready.status == 503, "/ready while draining: \(ready.status) \(ready.text)")
            #expect(ready.text.contains("/problems/"), "\(ready.text)")
            let read = try await offPool { try slow.readResponse() }
            #expect(read.status == 200, "the in-flight read finishes: \(read.status) \(read.text.prefix(300))")
            #expect(read.text.contains("\"accounts\""))
            let status = await gateway.process.terminate(within: .seconds(60))
            #expect(status == 0, "exit status \(String(describing: status)); log tail: \(gateway.process.log.suffix(4000))")
            #expect(gateway.process.log.contains("\"message\":\"stopped\""))
        }
    }

    // Removing the forced stop at the end of the grace period leaves the process running until the bank answers
    // (20 s): it has not exited within the 15 s the test waits, and the read then gets its 200.
    @Test func whenTheGracePeriodRunsOutWhatIsLeftIsCutAndTheProcessExitsZero() async throws {
        try await Self.withCluster(gateway: ["PASSERELLE_SHUTDOWN_GRACE_SECONDS": "1"]) { cluster in
            let gateway = cluster.gateways[0]
            let (connection, _, _) = try await ReplicaRefreshRaceTests.connect(gateway, cluster: cluster, bank: "cmcic:cic", persona: "marc")
            let slow = try await Self.slowRead(cluster, connection: connection, milliseconds: 20_000)
            try await Self.waitForInFlight(gateway.port, count: 1)

            kill(gateway.process.pid, SIGTERM)
            let status = await gateway.process.terminate(within: .seconds(15))
            #expect(status == 0, "exit status \(String(describing: status))")
            // The bank holds the read for 20 s; the gateway gave up after 1 s: the client got no account list.
            let outcome = try await offPool { () -> String in
                if let response = try? slow.readResponse() { return "\(response.status) \(response.text.prefix(200))" }
                return slow.sawEOF ? "closed" : "nothing"
            }
            #expect(!outcome.hasPrefix("200"), "the cut read: \(outcome)")
        }
    }

    /// A full flow through the process (registration, authorization, consents, every read at Euro-Information), then:
    /// `/metrics` names route templates and bank connections; `X-Request-Id` is echoed, on the request's log lines and
    /// in its audit row; and no token, code, IBAN, customer name or bank body is in the log or in any column of
    /// `outbound_requests`.
    ///
    /// Checked (temporary edits of `Sources/`, never committed): not passing the API call's request id to the bank
    /// call (`BankCallBuilder`) fails with "the bank call has the API call's request id in its audit row"
    /// (`templates.count → 0`); writing the outgoing `Authorization` header into `bank_correlation_id`
    /// (`CurlTransport`) fails with "an outbound_requests row contains Bearer …" and with the access token.
    @Test func metricsRequestIdsAndNoSecretInLogsOrAuditRows() async throws {
        try await Self.withCluster(gateway: [:]) { cluster in
            let gateway = cluster.gateways[0]
            let port = gateway.port
            let (connection, clientID, code) = try await ReplicaRefreshRaceTests.connect(
                gateway, cluster: cluster, bank: "cmcic:cic", persona: "marc")
            let client = TestHTTPClient(port: port)
            func get(_ path: String, requestID: String? = nil) async throws -> TestResponse {
                try await client.send(
                    "GET", path, headers: Self.psu + Self.auth + (requestID.map { [("X-Request-Id", $0)] } ?? []))
            }
            let accounts = try await get("/v1/connections/\(connection)/accounts")
            try #require(accounts.status == 200, "\(accounts.text)")
            let account = try #require((accounts.json["accounts"] as? [[String: Any]])?.first?["id"] as? String)
            let consents = try await client.sendJSON(
                "PUT", "/v1/connections/\(connection)/consents",
                ["balances": [], "transactions": [], "trustedBeneficiaries": true, "identity": true],
                headers: Self.psu + Self.auth)
            #expect(consents.status == 200, "\(consents.text)")
            for path in [
                "/v1/connections/\(connection)/accounts/\(account)/balances",
                "/v1/connections/\(connection)/accounts/\(account)/transactions",
                "/v1/connections/\(connection)/trusted-beneficiaries", "/v1/connections/\(connection)/identity",
            ] {
                let response = try await get(path)
                #expect(response.status == 200, "\(path): \(response.text.prefix(300))")
            }

            // X-Request-Id: echoed, on the access line and on the line of a bank failure, and in the audit row.
            let requestID = "serve-test-\(UUID().uuidString.prefix(8))"
            try await cluster.simulator("POST", "faults?bank=cmcic:cic&fault=500&count=1")
            let failed = try await get("/v1/connections/\(connection)/accounts/\(account)/balances", requestID: requestID)
            #expect(failed.header("X-Request-Id") == requestID)
            #expect(failed.status >= 500, "\(failed.status) \(failed.text)")
            #expect(failed.text.contains(requestID), "the problem names the request id: \(failed.text)")
            let lines = try await Self.waitForLines(gateway.process, containing: requestID, atLeast: 2)
            #expect(lines.contains { $0.contains("\"message\":\"request\"") && $0.contains("\"http.route\":\"/v1/connections/{connectionId}/accounts/{accountId}/balances\"") }, "\(lines)")
            #expect(lines.contains { $0.contains("\"level\":\"warning\"") || $0.contains("\"level\":\"error\"") }, "the bank failure is logged with the request id: \(lines)")
            try await Self.waitForAuditRows(cluster)
            let templates = try await cluster.texts(
                "SELECT path_template AS value FROM outbound_requests WHERE inbound_request_id = \(requestID)")
            #expect(templates.count >= 1, "the bank call has the API call's request id in its audit row")
            #expect(templates.allSatisfy { !$0.contains(account) && $0.contains("{") }, "path templates: \(templates)")

            // /metrics: route templates (never ids), bank calls, new vs reused bank connections (the transport's
            // counters are copied into /metrics every second: poll until they show every audited call).
            let audited = Double(try await cluster.texts("SELECT count(*)::text AS value FROM outbound_requests").first ?? "0") ?? 0
            var metrics = ""
            func gauge(_ name: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            for _ in 0..<100 {
                metrics = try await client.send("GET", "/metrics").text
                if let calls = gauge("passerelle_outbound_requests"), calls >= audited { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(metrics.contains("route=\"/v1/connections/{connectionId}/accounts\""), "route template in /metrics")
            #expect(!metrics.contains(connection), "no connection id in /metrics")
            let calls = try #require(gauge("passerelle_outbound_requests"))
            let opened = try #require(gauge("passerelle_outbound_connections_opened"))
            let reused = try #require(gauge("passerelle_outbound_connections_reused"))
            #expect(calls >= audited && audited >= 8, "bank calls counted: \(calls), audited \(audited)")
            #expect(opened >= 1 && reused >= 1, "new \(opened) and reused \(reused) bank connections")
            #expect(opened + reused == calls, "each call either opened or reused a connection")

            // Nothing secret or personal in the log or in any column of the audit rows.
            let tokens = try JSONSerialization.jsonObject(
                with: Data(try await cluster.simulator("GET", "tokens?client_id=\(clientID)").utf8)) as? [String: [String]]
            let issued = (tokens?["accessTokens"] ?? []) + (tokens?["refreshTokens"] ?? [])
            #expect(issued.count >= 2, "the simulator issued tokens to \(clientID)")
            let personal = [
                "FR7613807008043001965405158", "FR7613807008043001965405255", "FR7613807008043001965405352",
                "FR76 1380", "MALLOW", "Compte perso", "Retrait et Cheques", "SCI DES TILLEULS", "038-CPT3001965",
                "4179.95", "BNPAFRPP", "-----BEGIN", "Bearer ", ReplicaCluster.apiKey, ReplicaCluster.masterKey,
            ]
            let rows = try await cluster.texts("SELECT row_to_json(o)::text AS value FROM outbound_requests o")
            #expect(rows.count >= 8, "audit rows: \(rows.count)")
            let log = gateway.process.log
            for needle in issued + personal + [code] {
                #expect(!log.contains(needle), "the gateway log contains \(needle.prefix(12))…")
                #expect(!rows.contains { $0.contains(needle) }, "an outbound_requests row contains \(needle.prefix(12))…")
            }
        }
    }

    static func waitForLines(_ process: ChildProcess, containing needle: String, atLeast count: Int) async throws -> [String] {
        for _ in 0..<200 {
            let lines = process.log.split(separator: "\n").filter { $0.contains(needle) }.map(String.init)
            if lines.count >= count { return lines }
            try await Task.sleep(for: .milliseconds(25))
        }
        return process.log.split(separator: "\n").filter { $0.contains(needle) }.map(String.init)
    }

    /// Audit rows are written in batches: waits (bounded) until the simulator's request count is in the table.
    static func waitForAuditRows(_ cluster: ReplicaCluster) async throws {
        for _ in 0..<200 {
            let raw = try await cluster.simulator("GET", "counters")
            let requests = ((try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any])?["requests"] as? Int ?? 0
            let rows = Int(try await cluster.texts("SELECT count(*)::text AS value FROM outbound_requests").first ?? "0") ?? 0
            // The simulator also counted the browser's visit to the authorization page.
            if rows >= requests - 1 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
