import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

/// SIGTERM under load (a `passerelle serve` process, the simulator as its banks): the gateway stops accepting,
/// finishes its in-flight calls, writes every pending outbound audit row and exits 0 — the bank calls the simulator
/// counted are exactly the rows in `outbound_requests`.
@Suite(.serialized) struct ShutdownAuditDrainTests {
    static let psu = [("PSU-IP-Address", "192.0.2.10"), ("PSU-User-Agent", "shutdown/1.0")]

    @Test(.timeLimit(.minutes(3)))
    func sigtermUnderLoadLosesNoOutboundAuditRow() async throws {
        let cluster = try await ReplicaCluster.start(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: ["PASSERELLE_SHUTDOWN_GRACE_SECONDS": "20", "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"])
        do {
            try await Self.run(on: cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    static func run(on cluster: ReplicaCluster) async throws {
        let gateway = cluster.gateways[0]
        let (connection, _) = try await ReplicaRefreshRaceTests.connect(gateway, cluster: cluster, bank: "cmcic:cic", persona: "marc")

        // Account reads (one bank call each) from 8 clients until the gateway stops answering.
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
        try await Task.sleep(for: .seconds(3))
        let status = await gateway.process.terminate(within: .seconds(60))
        await load.value
        #expect(status == 0, "exit status after SIGTERM: \(String(describing: status))\n\(gateway.process.logTail())")

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
        let log = gateway.process.log
        let auditFailures = log.split(separator: "\n").filter { $0.contains("writing the outbound audit log failed") }
        print(
            "ShutdownAuditDrainTests: \(answered.withLock { $0 }) reads answered before SIGTERM; bank calls \(gatewayCalls),"
                + " audit rows \(rows), audit write failures logged \(auditFailures.count)")
        #expect(rows == gatewayCalls, "every bank call has its audit row: \(auditFailures.prefix(3))")
        #expect(auditFailures.isEmpty, "\(auditFailures.prefix(3))")
        #expect(answered.withLock { $0 } > 0)
    }
}
