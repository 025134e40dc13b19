import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit
import Testing
import TestSupport

@testable import GatewayApp

/// No database connection or row lock is held across a token refresh's bank call (the lease of docs/race.md),
/// against the real PostgreSQL, with a fake bank whose token endpoint answers only when the test says so.
@Suite struct RefreshLeaseTests {
    /// Four refreshes wait at a slow bank with a pool of two connections: an API-key check (which needs the
    /// database) still answers, and the four refreshes complete once the bank answers.
    @Test func apiKeyChecksKeepAnsweringWhileSlowRefreshesAreInFlight() async throws {
        try await ConnectionsTestBed.with(poolSize: 2) { bed in
            let keys = APIKeyStore(db: bed.db, cacheTTL: .zero)
            let (key, _) = try await keys.create(name: "reader")
            var ids: [UUID] = []
            for _ in 0..<4 { ids.append(try await bed.activeConnection().id) }
            bed.clock.advance(3600)
            let gate = Gate()
            bed.euroInformation.update {
                $0.refreshes = [.success(TokenLifecycleTests.fresh(bed, access: "access-2", refresh: "refresh-2"))]
                $0.refreshGate = gate
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids {
                    group.addTask { _ = try await bed.accounts.accounts(connectionID: id, caller: bed.caller()) }
                }
                await gate.waitForWaiter(count: 4)
                let inFlight = gate.arrived
                let verdict: Result<UUID?, any Error>
                do { verdict = .success(try await keys.authenticate(APIKeyStore.PresentedKey(key.reveal))) } catch { verdict = .failure(error) }
                gate.open()
                try await group.waitForAll()
                #expect(inFlight == 4, "every refresh reached the bank while the pool has two connections")
                #expect(try verdict.get() != nil, "the API key check answered during the refreshes")
            }
            #expect(bed.refreshCount(bed.euroInformation) == 4)
            for id in ids { #expect(try await bed.connections.get(id).tokenGeneration == 2) }
        }
    }

    /// A lease left by a caller that died during its bank call (kill -9) is waited for until it expires, then the
    /// refresh happens once; the lease is released afterwards.
    @Test func aLeaseLeftByADeadCallerIsWaitedForUntilItExpires() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.clock.advance(3600)
            bed.euroInformation.update {
                $0.refreshes = [.success(TokenLifecycleTests.fresh(bed, access: "access-2", refresh: "refresh-2"))]
            }
            let abandoned = bed.clock.now.addingTimeInterval(30)
            _ = try await bed.db.execute(
                "UPDATE connections SET refresh_lease_id = \(UUID()), refresh_lease_until = \(abandoned) WHERE id = \(connection.id)")
            let read = Task { try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller()) }
            try await Task.sleep(for: .milliseconds(300))
            let refreshesWhileHeld = bed.refreshCount(bed.euroInformation)
            bed.clock.advance(31)
            _ = try await read.value
            #expect(refreshesWhileHeld == 0, "nobody refreshes while another caller's lease runs")
            #expect(bed.refreshCount(bed.euroInformation) == 1)
            let lease = try await bed.db.query(
                "SELECT refresh_lease_id FROM connections WHERE id = \(connection.id)")[0]
                .decode("refresh_lease_id", as: UUID?.self)
            #expect(lease == nil)
        }
    }

    /// A connection revoked while its refresh was at the bank stays revoked, without tokens.
    @Test func aConnectionRevokedDuringTheBankCallKeepsNoTokens() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.clock.advance(3600)
            let gate = Gate()
            bed.euroInformation.update {
                $0.refreshes = [.success(TokenLifecycleTests.fresh(bed, access: "access-2", refresh: "refresh-2"))]
                $0.refreshGate = gate
            }
            let read = Task { try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller()) }
            await gate.waitForWaiter()
            try await bed.connections.revoke(connection.id, logger: bed.logger)
            gate.open()
            await #expect(throws: GatewayError.self) { _ = try await read.value }
            let row = try await bed.connections.get(connection.id)
            #expect(row.status == .revoked && row.accessTokenSealed == nil && row.refreshTokenSealed == nil)
        }
    }
}
