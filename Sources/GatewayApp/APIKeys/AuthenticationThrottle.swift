import Synchronization

/// Bounds the database look-ups that unknown API keys can cause, per peer address: after `limit` failed
/// look-ups within `window`, further keys the caches do not know are refused (429 with `Retry-After`) without a
/// look-up until the window ends. Keys already known — valid or invalid — are answered from the caches and
/// never throttled, so a client with a good key is not locked out by its neighbour's mistakes (unless both
/// share an address and the good key is not cached yet). Bounded memory: past `capacity` peers it starts over.
final class AuthenticationThrottle: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }
    private let windows = Mutex<[String: Window]>([:])
    let limit: Int
    let window: Duration
    private let capacity: Int

    init(limit: Int = 20, window: Duration = .seconds(10), capacity: Int = 10_000) {
        self.limit = limit
        self.window = window
        self.capacity = capacity
    }

    /// nil when `peer` may cause a look-up now, else the seconds until it may.
    func retryAfter(peer: String) -> Int? {
        let now = ContinuousClock.now
        return windows.withLock { windows in
            guard let w = windows[peer], w.failures >= limit else { return nil }
            let elapsed = now - w.start
            if elapsed >= window {
                windows[peer] = nil
                return nil
            }
            let left = window - elapsed
            return max(1, Int(left.components.seconds) + (left.components.attoseconds > 0 ? 1 : 0))
        }
    }

    /// Counts a look-up that found no key.
    func recordFailure(peer: String) {
        let now = ContinuousClock.now
        windows.withLock { windows in
            if windows.count >= capacity, windows[peer] == nil { windows.removeAll(keepingCapacity: true) }
            if var w = windows[peer], now - w.start < window {
                w.failures += 1
                windows[peer] = w
            } else {
                windows[peer] = Window(start: now, failures: 1)
            }
        }
    }
}
