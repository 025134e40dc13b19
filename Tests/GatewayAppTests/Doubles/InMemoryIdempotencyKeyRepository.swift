import Foundation
import Synchronization

@testable import GatewayApp

/// `IdempotencyKeyRepository` in memory, for tests without PostgreSQL. It keeps the promises of
/// `IdempotencyKeyStore`: one claim per principal and key, a take-over only of the claim as it was read (one of
/// concurrent callers wins), release of in-flight keys only, purge by claim time.
final class InMemoryIdempotencyKeyRepository: IdempotencyKeyRepository {
    private struct Key: Hashable {
        var principal: String
        var key: String
    }

    private let keys = Mutex([Key: StoredIdempotencyKey]())

    func insertClaim(principal: String, key: String, requestHash: [UInt8], at now: Date) async throws -> Bool {
        keys.withLock { keys in
            let id = Key(principal: principal, key: key)
            guard keys[id] == nil else { return false }
            keys[id] = StoredIdempotencyKey(requestHash: requestHash, claimedAt: now, answer: nil)
            return true
        }
    }

    func find(principal: String, key: String) async throws -> StoredIdempotencyKey? {
        keys.withLock { $0[Key(principal: principal, key: key)] }
    }

    func takeOver(principal: String, key: String, claimedAt: Date, at now: Date) async throws -> Bool {
        keys.withLock { keys in
            let id = Key(principal: principal, key: key)
            guard var stored = keys[id], stored.answer == nil, stored.claimedAt == claimedAt else { return false }
            stored.claimedAt = now
            keys[id] = stored
            return true
        }
    }

    func complete(principal: String, key: String, answer: StoredIdempotentAnswer) async throws {
        keys.withLock { $0[Key(principal: principal, key: key)]?.answer = answer }
    }

    func release(principal: String, key: String) async throws {
        keys.withLock { keys in
            let id = Key(principal: principal, key: key)
            if keys[id]?.answer == nil { keys[id] = nil }
        }
    }

    func purge(claimedBefore date: Date) async throws -> Int {
        keys.withLock { keys in
            let old = keys.filter { $0.value.claimedAt < date }.map(\.key)
            for id in old { keys[id] = nil }
            return old.count
        }
    }
}
