import Synchronization

/// A small in-process cache of database rows, so that the hot read path (an account read: API key, connection,
/// registration, certificate material, account ids) does not query PostgreSQL on every call.
///
/// Entries live for `ttl` (nil: until removed — for immutable rows such as certificates). A replica drops its own
/// entry after each write it commits (`remove`), so it sees its own changes at once; a change committed by another
/// replica is seen after at most `ttl`. Every caller on the token path copes with a stale row: a refresh or a 401
/// re-reads the row under its lock. A row read before a `remove` is not cached after it (an epoch check), so a
/// read racing with a local write cannot put the old row back. When the cache holds `capacity` entries it is
/// emptied (simple, and cheap compared with one query).
final class RecordCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct State {
        /// Expired entries stay until replaced, removed or the cache starts over (for `lastKnown`).
        var entries: [Key: (value: Value, until: ContinuousClock.Instant?, storedAt: ContinuousClock.Instant)] = [:]
        /// Bumped by every removal.
        var epoch: UInt64 = 0
    }
    private let state = Mutex(State())
    let ttl: Duration?
    private let capacity: Int

    /// - Parameters:
    ///   - ttl: How long an entry is trusted; `.zero` disables the cache, nil keeps entries until removed.
    ///   - capacity: The number of entries past which the cache starts over.
    init(ttl: Duration?, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    var isEnabled: Bool { ttl != .zero }

    /// The cached value for `key`, if present and fresh.
    func get(_ key: Key) -> Value? {
        guard isEnabled else { return nil }
        return state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            if let until = entry.until, until <= .now { return nil }
            return entry.value
        }
    }

    /// The value cached for `key` within the last `maxAge`, fresh or not: what a caller may fall back on while
    /// the database cannot be asked (nothing removed it since, so no local write changed it).
    func lastKnown(_ key: Key, maxAge: Duration) -> Value? {
        guard isEnabled else { return nil }
        return state.withLock { state in
            guard let entry = state.entries[key], ContinuousClock.now - entry.storedAt <= maxAge else { return nil }
            return entry.value
        }
    }

    /// Caches `value`, unless something was removed since `epoch` (then the value may predate that write).
    func put(_ key: Key, _ value: Value, readAt epoch: UInt64? = nil) {
        guard isEnabled else { return }
        let now = ContinuousClock.now
        let until = ttl.map { now + $0 }
        state.withLock { state in
            if let epoch, epoch != state.epoch { return }
            if state.entries.count >= capacity, state.entries[key] == nil {
                state.entries.removeAll(keepingCapacity: true)
            }
            state.entries[key] = (value, until, now)
        }
    }

    /// The current epoch, to pass to `put(_:_:readAt:)` for a value read after this call.
    var epoch: UInt64 { state.withLock { $0.epoch } }

    func remove(_ key: Key) {
        state.withLock { state in
            state.entries[key] = nil
            state.epoch &+= 1
        }
    }

    func removeAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.epoch &+= 1
        }
    }

    /// The cached value, or the one `load` returns (cached when not nil and nothing was removed meanwhile).
    func value(_ key: Key, load: () async throws -> Value?) async rethrows -> Value? {
        if let hit = get(key) { return hit }
        let epoch = self.epoch
        let loaded = try await load()
        if let loaded { put(key, loaded, readAt: epoch) }
        return loaded
    }
}
