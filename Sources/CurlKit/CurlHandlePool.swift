import Synchronization

/// Idle easy handles, each holding a keep-alive connection, grouped per (host, client identity) so a
/// connection is only ever reused with the same peer and the same certificate. A handle is checked out
/// exclusively by one transfer and checked back in afterwards; the pool is bounded per key and in total, and
/// handles idle longer than `idleTimeout` are closed.
final class CurlHandlePool: Sendable {
    /// Which connections a handle may reuse.
    struct Key: Hashable, Sendable {
        /// `host[:port]`, lower-case.
        var host: String
        /// `TLSClientIdentity.id`, or nil without a client certificate.
        var identityID: String?
    }

    private struct Idle {
        var key: Key
        var handle: CurlEasy
    }

    private struct State: ~Copyable {
        /// Most recently used last.
        var idle: [Idle] = []
        var created = 0
    }

    private let state = Mutex<State>(State())
    let maxIdlePerKey: Int
    let maxIdleTotal: Int
    let idleTimeout: Duration

    init(maxIdlePerKey: Int, maxIdleTotal: Int, idleTimeout: Duration) {
        self.maxIdlePerKey = max(0, maxIdlePerKey)
        self.maxIdleTotal = max(0, maxIdleTotal)
        self.idleTimeout = idleTimeout
    }

    /// An idle handle for `key` (the most recently used, whose connection is the likeliest alive), or a new one.
    /// Expired handles are closed on the way (on the calling worker thread, outside the lock).
    func checkOut(_ key: Key, now: ContinuousClock.Instant = .now) throws(OutboundError) -> CurlEasy {
        var expired: [CurlEasy] = []
        let reused: CurlEasy? = state.withLock { state in
            let limit = now - idleTimeout
            var kept: [Idle] = []
            kept.reserveCapacity(state.idle.count)
            for entry in state.idle {
                if entry.handle.lastUsed < limit { expired.append(entry.handle) } else { kept.append(entry) }
            }
            state.idle = kept
            if let index = state.idle.lastIndex(where: { $0.key == key }) {
                return state.idle.remove(at: index).handle
            }
            state.created += 1
            return nil
        }
        expired.removeAll()  // curl_easy_cleanup of expired handles
        if let reused { return reused }
        return try CurlEasy()
    }

    /// Returns `handle` for reuse, or closes it when the pool is full for its key (or in total, after closing
    /// the least recently used handle of another key).
    func checkIn(_ handle: CurlEasy, key: Key, now: ContinuousClock.Instant = .now) {
        handle.lastUsed = now
        var evicted: [CurlEasy] = []
        state.withLock { state in
            // Close connections idle too long for any key, so quiet hosts do not keep sockets forever.
            if let oldest = state.idle.first, oldest.handle.lastUsed < now - idleTimeout {
                state.idle.removeAll { entry in
                    guard entry.handle.lastUsed < now - idleTimeout else { return false }
                    evicted.append(entry.handle)
                    return true
                }
            }
            let sameKey = state.idle.lazy.filter { $0.key == key }.count
            guard sameKey < maxIdlePerKey, maxIdleTotal > 0 else {
                evicted.append(handle)
                return
            }
            if state.idle.count >= maxIdleTotal { evicted.append(state.idle.removeFirst().handle) }
            state.idle.append(Idle(key: key, handle: handle))
        }
        evicted.removeAll()
    }

    /// Closes every idle handle (at shutdown).
    func closeAll() {
        var all: [CurlEasy] = []
        state.withLock { state in
            all = state.idle.map(\.handle)
            state.idle.removeAll()
        }
        all.removeAll()
    }

    /// Idle handles now.
    var idleCount: Int { state.withLock { $0.idle.count } }

    /// Handles created since start.
    var createdCount: Int { state.withLock { $0.created } }
}
