import Foundation
import GatewayCore
import GatewayLogging
import PostgresKit
import Testing

@testable import GatewayApp

/// The in-process row cache (`RecordCache`) and what it buys the read path: no query per read once warm, own
/// changes seen at once, another replica's changes after the TTL.
@Suite struct RecordCacheTests {
    // MARK: - The cache itself

    @Test func entriesExpireAfterTheirTTL() async throws {
        let cache = RecordCache<Int, String>(ttl: .milliseconds(50))
        cache.put(1, "one")
        try await Task.sleep(for: .milliseconds(120))
        #expect(cache.get(1) == nil, "an expired entry is not served")
        let forever = RecordCache<Int, String>(ttl: nil)
        forever.put(1, "one")
        try await Task.sleep(for: .milliseconds(60))
        #expect(forever.get(1) == "one")
    }

    @Test func aRowReadBeforeARemovalIsNotCachedAfterIt() async throws {
        let cache = RecordCache<Int, String>(ttl: .seconds(60))
        let epoch = cache.epoch
        cache.remove(1)  // a write committed while the read was in flight
        cache.put(1, "old row", readAt: epoch)
        #expect(cache.get(1) == nil)
        cache.put(1, "new row", readAt: cache.epoch)
        #expect(cache.get(1) == "new row")

        // The loading helper applies the same rule.
        let loaded = await cache.value(2) {
            cache.remove(2)
            return "read before the write"
        }
        #expect(loaded == "read before the write")
        #expect(cache.get(2) == nil)
    }

    @Test func aZeroTTLDisablesTheCacheAndAFullCacheStartsOver() async throws {
        let off = RecordCache<Int, String>(ttl: .zero)
        off.put(1, "one")
        #expect(off.get(1) == nil)
        var loads = 0
        for _ in 0..<3 {
            _ = await off.value(1) {
                loads += 1
                return "one"
            }
        }
        #expect(loads == 3)

        let small = RecordCache<Int, Int>(ttl: nil, capacity: 3)
        for i in 0..<3 { small.put(i, i) }
        #expect(small.get(2) == 2)
        small.put(3, 3)
        #expect(small.get(0) == nil && small.get(3) == 3, "the fourth entry empties the cache first")
    }

    // MARK: - The read path

    /// Statements run by the pool so far (PostgresKit logs one debug line per statement).
    static func statements(_ bed: ConnectionsTestBed) -> Int {
        bed.sqlLogs.captured.filter { $0.contains("\"message\":\"sql\"") }.count
    }

    @Test func warmAccountReadsRunNoStatement() async throws {
        try await ConnectionsTestBed.with { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([AccountInformationTests.cash]) }
            let first = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            // The first read created the account ids (and dropped the cached map); the second reads the map back.
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            let before = Self.statements(bed)
            for _ in 0..<5 {
                let again = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
                #expect(again.map(\.id) == first.map(\.id))
            }
            _ = try await bed.accounts.balances(connectionID: connection.id, accountID: first[0].id, caller: bed.caller())
            #expect(Self.statements(bed) == before, "connection, registration and account ids come from the cache")
            #expect(bed.euroInformation.calls.filter { $0 == .accounts }.count == 7, "every read still calls the bank")
        }

        // With the cache off, every read queries again.
        try await ConnectionsTestBed.with(recordCacheTTL: .zero) { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([AccountInformationTests.cash]) }
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            let before = Self.statements(bed)
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            #expect(Self.statements(bed) >= before + 3, "connection, registration, account ids")
        }
    }

    @Test func aRevocationOnThisReplicaIsSeenByTheNextRead() async throws {
        try await ConnectionsTestBed.with(recordCacheTTL: .seconds(300)) { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([AccountInformationTests.cash]) }
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            try await bed.connections.revoke(connection.id, logger: bed.logger)
            await #expect(throws: GatewayError.conflict("connection is revoked")) {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            }
            #expect(try await bed.connections.get(connection.id).status == .revoked)
        }
    }

    @Test func aChangeByAnotherReplicaIsSeenOnceTheTTLHasPassed() async throws {
        try await ConnectionsTestBed.with(recordCacheTTL: .milliseconds(200)) { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([AccountInformationTests.cash]) }
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            // Another replica revokes it: a write this process does not know about.
            _ = try await bed.db.execute(
                "UPDATE connections SET status = 'revoked', access_token_sealed = NULL WHERE id = \(connection.id)")
            try await Task.sleep(for: .milliseconds(400))
            await #expect(throws: GatewayError.conflict("connection is revoked")) {
                _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            }
        }
    }

    @Test func aRefreshedTokenReplacesTheCachedOne() async throws {
        try await ConnectionsTestBed.with(recordCacheTTL: .seconds(300)) { bed in
            let connection = try await bed.activeConnection()
            bed.euroInformation.update { $0.accounts = .success([AccountInformationTests.cash]) }
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            let firstToken = try #require(bed.euroInformation.lastAccessToken)
            // Past the access token's expiry: the cached row says "expired", the locked re-read refreshes once.
            bed.euroInformation.update {
                $0.refreshes = [.success(TokenLifecycleTests.fresh(bed, access: "access-2", refresh: "refresh-2", lifetime: 7200 + 3600))]
            }
            bed.clock.advance(3600 * 2)
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            let refreshed = try #require(bed.euroInformation.lastAccessToken)
            #expect(refreshed != firstToken)
            _ = try await bed.accounts.accounts(connectionID: connection.id, caller: bed.caller())
            #expect(bed.euroInformation.lastAccessToken == refreshed, "the new token, not the cached old one")
            #expect(bed.refreshCount(bed.euroInformation) == 1)
        }
    }
}
