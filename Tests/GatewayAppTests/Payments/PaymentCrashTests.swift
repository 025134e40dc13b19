import Foundation
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// `kill -9` of a `passerelle serve` process while the bank holds its payment request (committed at the bank, no
/// answer yet), then a new process on the same database: the payment is `unknown`, the same request with the same
/// key answers it, and the bank never sees a second POST.
@Suite(.serialized) struct PaymentCrashTests {
    static let auth = [("Authorization", "Bearer \(ReplicaCluster.apiKey)")]

    /// Payment requests the simulator accepted, by `paymentInformationId`.
    static func bankPayments(_ cluster: ReplicaCluster) async throws -> [String: Int] {
        let out = try await cluster.simulator("GET", "counters")
        let object = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return object?["paymentsByInformationId"] as? [String: Int] ?? [:]
    }

    // Letting a taken-over claim run the payment again (no lookup of the committed payment by its key) makes the
    // bank count two payments; never committing the row before the bank call leaves nothing to find after restart.
    @Test func killDuringTheBankCallThenRestartSendsNoDuplicate() async throws {
        let cluster = try await ReplicaCluster.start(
            replicas: 1, simulatorEnvironment: [:],
            gatewayEnvironment: [
                "PASSERELLE_TOKEN_REFRESHER_INTERVAL_SECONDS": "0", "PASSERELLE_PAYMENT_STALE_AFTER_SECONDS": "1",
                "PASSERELLE_PAYMENT_RECONCILER_INTERVAL_SECONDS": "0",
            ])
        var restarted: ReplicaCluster.Gateway?
        do {
            let gateway = cluster.gateways[0]
            var certificates: [String] = []
            for (cert, key) in [("qwac-chain.pem", "qwac.key"), ("qseal-chain.pem", "qseal.key")] {
                let uploaded = try await gateway.request(
                    "POST", "/v1/certificates",
                    json: [
                        "certificate": try TestEnvironment.pkiContents(cert),
                        "privateKey": try TestEnvironment.pkiContents(key),
                    ])
                try #require(uploaded.status == 201, "\(uploaded.text)")
                certificates.append(try #require(uploaded.json["id"] as? String))
            }
            var registration = RegistrationsAPITests.body(
                bank: "cmcic:cic", qwac: certificates[0], qseal: certificates[1], name: "Passerelle crash")
            registration["roles"] = ["aisp", "pisp"]
            try #require(try await gateway.request("POST", "/v1/registrations", json: registration).status == 201)
            let body = PaymentsFixture.body(bank: "cmcic:cic")
            let client = TestHTTPClient(port: gateway.port)
            // A first payment leaves the pisp token cached: the next bank call is the payment request itself.
            let warm = try await client.sendJSON(
                "POST", "/v1/payments", body, headers: Self.auth + [("Idempotency-Key", "warm")])
            try #require(warm.status == 201, "\(warm.text)")

            // The bank commits the next payment request and holds its answer for 30 s.
            _ = try await cluster.simulator(
                "POST", "faults?bank=cmcic:cic&fault=latency-after-commit=30000&count=1&path=payment-requests&method=POST")
            let port = gateway.port
            let pending = Task {
                try? await TestHTTPClient(port: port).sendJSON(
                    "POST", "/v1/payments", PaymentsFixture.body(bank: "cmcic:cic", amount: "50.00"),
                    headers: Self.auth + [("Idempotency-Key", "crash")])
            }
            // Bounded poll: until the bank has the second payment.
            var atBank = 0
            for _ in 0..<400 where atBank < 2 {
                atBank = try await Self.bankPayments(cluster).values.reduce(0, +)
                if atBank < 2 { try await Task.sleep(for: .milliseconds(25)) }
            }
            try #require(atBank == 2, "the bank got the payment request")
            _ = await gateway.process.kill()
            _ = await pending.value
            let rows = try await cluster.texts(
                "SELECT status AS value FROM payments WHERE idempotency_key = 'crash'")
            #expect(rows == ["submitting"], "committed before the bank call: \(rows)")

            let next = try await cluster.startGateway(name: "serve-restarted")
            restarted = next
            // Past the stale delay (1 s), the same request takes the abandoned claim over and finds the payment.
            try await Task.sleep(for: .milliseconds(1500))
            let again = try await TestHTTPClient(port: next.port).sendJSON(
                "POST", "/v1/payments", PaymentsFixture.body(bank: "cmcic:cic", amount: "50.00"),
                headers: Self.auth + [("Idempotency-Key", "crash")])
            #expect(again.status == 202, "\(again.text)")
            #expect(again.json["status"] as? String == "unknown")
            let id = try #require(again.json["id"] as? String)
            let read = try await next.request("GET", "/v1/payments/\(id)")
            #expect(read.json["status"] as? String == "unknown", "\(read.text)")
            let replay = try await TestHTTPClient(port: next.port).sendJSON(
                "POST", "/v1/payments", PaymentsFixture.body(bank: "cmcic:cic", amount: "50.00"),
                headers: Self.auth + [("Idempotency-Key", "crash")])
            #expect(replay.body == again.body, "from now on the stored answer")
            let counts = try await Self.bankPayments(cluster)
            #expect(counts.values.reduce(0, +) == 2, "no second POST: \(counts)")
            #expect(counts.values.allSatisfy { $0 == 1 })
        } catch {
            Issue.record("gateway log tail:\n\(cluster.gateways[0].process.logTail(30))")
            if let restarted { await restarted.process.kill() }
            await cluster.stop()
            throw error
        }
        if let restarted {
            await restarted.process.kill()
            restarted.process.removeLog()
        }
        await cluster.stop()
    }
}
