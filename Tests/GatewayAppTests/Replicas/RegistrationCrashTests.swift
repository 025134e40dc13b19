import Foundation
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

/// kill -9 of `passerelle serve` while the bank (the simulator, slowed down) is creating a registration: the
/// intent row was written before the call, so after a restart `GET /v1/registrations` lists a row for the client
/// the bank now holds (`registering`: the process stopped during the call), and `DELETE` removes it.
@Suite(.serialized) struct RegistrationCrashTests {
    @Test(.timeLimit(.minutes(2)))
    func killDuringTheBankCallLeavesTheRegistrationVisibleAfterARestart() async throws {
        try await ReplicaCluster.with(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: ["PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0"]) { cluster in
            try await Self.run(on: cluster)
        }
    }

    static func run(on cluster: ReplicaCluster) async throws {
        let first = cluster.gateways[0]
        let certificates = try await ReplicaRefreshRaceTests.uploadCertificates(first)
        // The bank takes 2 s to answer the next registration call.
        _ = try await runProcess(
            "/usr/bin/curl",
            ["-sS", "--fail", "--max-time", "20", "--cacert", try TestEnvironment.pki("ca.crt"), "-X", "POST",
             "https://localhost:\(cluster.simulatorPort)/__simulator/faults?bank=cmcic:cic&fault=latency=2000&count=1"])
        let body = RegistrationsAPITests.body(bank: "cmcic:cic", qwac: certificates[0], qseal: certificates[1])
        let registering = Task { try? await first.request("POST", "/v1/registrations", json: body) }
        let db = PostgresClient(
            configuration: PostgresConfiguration(url: Secret(cluster.databaseURL), poolSize: 1),
            logger: Logger(label: "test", level: .error))
        var intents = 0
        for _ in 0..<100 where intents == 0 {
            intents = try await db.query(
                "SELECT count(*)::int AS n FROM registrations WHERE status = 'registering'")[0].decode("n", as: Int.self)
            if intents == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        await db.shutdown()
        try #require(intents == 1, "the intent is written before the bank is called")
        // Kill once the bank has the request (it answers 2 s later).
        var arrived = 0
        for _ in 0..<100 where arrived == 0 {
            let raw = try await cluster.counters().raw
            arrived = ((try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])?["requests"] as? Int) ?? 0
            if arrived == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        try #require(arrived == 1, "the registration call reached the bank")
        await first.process.kill()
        _ = await registering.value
        try await Task.sleep(for: .milliseconds(2500))  // the bank finishes the registration it was slowed in
        let counters = try await cluster.counters()
        let clientsAtTheBank = ((try JSONSerialization.jsonObject(with: Data(counters.raw.utf8)) as? [String: Any])?[
            "registrationsByClient"] as? [String: Any])?.count ?? -1

        let second = try await cluster.startGateway(name: "serve-after-kill")
        do {
            let listed = try await second.request("GET", "/v1/registrations").json["registrations"] as? [[String: Any]] ?? []
            print(
                "RegistrationCrashTests: clients at the bank \(clientsAtTheBank), registrations listed after the restart "
                    + "\(listed.count) (\(listed.compactMap { $0["status"] as? String }))")
            #expect(clientsAtTheBank == 1)
            #expect(listed.count == clientsAtTheBank, "a row for every client the bank holds")
            #expect(listed.first?["status"] as? String == "registering")
            let id = try #require(listed.first?["id"] as? String)
            #expect(try await second.request("DELETE", "/v1/registrations/\(id)").status == 204)
            #expect((try await second.request("GET", "/v1/registrations").json["registrations"] as? [Any])?.isEmpty == true)
        } catch {
            await second.process.kill()
            throw error
        }
        await second.process.kill()
        second.process.removeLog()
    }
}
