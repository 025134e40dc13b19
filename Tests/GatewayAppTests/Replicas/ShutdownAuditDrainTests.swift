import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

/// Repeated SIGTERMs under load (`passerelle serve` processes one after the other on one database, the simulator as
/// their banks): each gateway stops accepting, finishes its in-flight calls, writes every pending outbound audit row
/// and exits 0 — the bank calls the simulator counted are exactly the rows in `outbound_requests`.
@Suite(.serialized) struct ShutdownAuditDrainTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "shutdown/1.0")]
    static let readsBeforeSigterm = 60

    @Test(.timeLimit(.minutes(3)))
    func repeatedSigtermsUnderLoadLoseNoOutboundAuditRow() async throws {
        try await ReplicaCluster.with(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: ["PASSERELLE_SHUTDOWN_GRACE_SECONDS": "20", "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"]) { cluster in
            try await Self.run(on: cluster)
        }
    }

    static func run(on cluster: ReplicaCluster) async throws {
        let first = cluster.gateways[0]
        let (connection, _, _) = try await ReplicaRefreshRaceTests.connect(first, cluster: cluster, bank: "cmcic:cic", persona: "marc")

        // Three rounds: load, SIGTERM, exit 0; then a new gateway on the same database for the next round.
        var answered = 0
        var gateway = first
        for round in 1...3 {
            if round > 1 { gateway = try await cluster.startGateway(name: "serve-round-\(round)") }
            do {
                answered += try await loadThenTerminate(gateway, connection: connection, round: round)
            } catch {
                if round > 1 { await gateway.process.kill() }
                throw error
            }
            if round > 1 { gateway.process.removeLog() }
        }

        let counters = try await cluster.counters()
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(cluster.databaseURL), poolSize: 1),
            logger: Logger(label: "test", level: .error))
        let rows = try await db.query("SELECT count(*)::int AS n FROM outbound_requests")[0].decode("n", as: Int.self)
        await db.shutdown()
        let bankCalls = try #require(
            (try JSONSerialization.jsonObject(with: Data(counters.raw.utf8)) as? [String: Any])?["requests"] as? Int)
        // The simulator also counted the customer's browser on the authorization page (one request).
        let gatewayCalls = bankCalls - 1
        print("ShutdownAuditDrainTests: \(answered) reads answered over 3 SIGTERMs; bank calls \(gatewayCalls), audit rows \(rows)")
        #expect(rows == gatewayCalls, "every bank call has its audit row")
    }

    /// Account reads (one bank call each) from 8 clients until the gateway stops answering; SIGTERM once
    /// `readsBeforeSigterm` were answered. Returns the reads answered 200.
    static func loadThenTerminate(_ gateway: ReplicaCluster.Gateway, connection: String, round: Int) async throws -> Int {
        let answered = Shared(0)
        let port = gateway.port
        let load = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        while true {
                            guard let response = try? await TestHTTPClient(port: port).send(
                                "GET", "/v1/connections/\(connection)/accounts",
                                headers: psu + [("Authorization", "Bearer \(ReplicaCluster.apiKey)")])
                            else { return }
                            if response.status == 200 { answered.withLock { $0 += 1 } }
                        }
                    }
                }
            }
        }
        // SIGTERM once the load is flowing (bounded poll): calls are in flight and audit rows wait to be written.
        for _ in 0..<3000 where answered.withLock({ $0 }) < Self.readsBeforeSigterm {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(answered.withLock { $0 } >= Self.readsBeforeSigterm, "round \(round): the load never got going")
        let status = await gateway.process.terminate(within: .seconds(60))
        await load.value
        #expect(status == 0, "round \(round): exit status after SIGTERM: \(String(describing: status))\n\(gateway.process.logTail())")
        let failures = gateway.process.log.split(separator: "\n").filter { $0.contains("writing the outbound audit log failed") }
        #expect(failures.isEmpty, "round \(round): \(failures.prefix(3))")
        let n = answered.withLock { $0 }
        #expect(n > 0, "round \(round): the gateway answered before SIGTERM")
        return n
    }
}
