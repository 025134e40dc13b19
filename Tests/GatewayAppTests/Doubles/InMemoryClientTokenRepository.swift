import Foundation
import Synchronization

@testable import GatewayApp

/// `ClientTokenRepository` in memory, for tests without PostgreSQL. It keeps the promise of `ClientTokenStore`:
/// renewals of one registration and scope run one at a time (the advisory lock's role), each seeing what the one
/// before stored, so concurrent callers make one token call per expiry.
final class InMemoryClientTokenRepository: ClientTokenRepository {
    private struct Key: Hashable {
        var registration: UUID
        var scope: String
    }

    private let tokens = Mutex([Key: StoredClientToken]())
    private let locks = KeyedLock<Key>()

    func find(registration: UUID, scope: String) async throws -> StoredClientToken? {
        tokens.withLock { $0[Key(registration: registration, scope: scope)] }
    }

    func renew<T: Sendable>(
        registration: UUID, scope: String,
        _ renew: (StoredClientToken?) async throws -> (store: StoredClientToken?, result: T)
    ) async throws -> T {
        let key = Key(registration: registration, scope: scope)
        await locks.acquire(key)
        do {
            let (new, result) = try await renew(tokens.withLock { $0[key] })
            if let new { tokens.withLock { $0[key] = new } }
            await locks.release(key)
            return result
        } catch {
            await locks.release(key)
            throw error
        }
    }
}

/// One holder per key at a time; the others wait in order (an in-memory advisory lock).
actor KeyedLock<Key: Hashable & Sendable> {
    private var held: Set<Key> = []
    private var waiters: [Key: [CheckedContinuation<Void, Never>]] = [:]

    func acquire(_ key: Key) async {
        guard held.contains(key) else {
            held.insert(key)
            return
        }
        await withCheckedContinuation { waiters[key, default: []].append($0) }
    }

    /// Hands the key to the next waiter, or frees it.
    func release(_ key: Key) {
        if var queue = waiters[key], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[key] = queue.isEmpty ? nil : queue
            next.resume()
        } else {
            held.remove(key)
        }
    }
}
