import Synchronization

/// Work by key that concurrent callers in this process share: the first caller starts it, the others await the
/// same result (Go's `singleflight`). The work runs in its own task, so a caller that is cancelled does not cancel
/// it for the others.
final class SharedFlights<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let running = Mutex<[Key: (flight: Task<Value, any Error>, callers: Int)]>([:])

    /// The result of the flight running for `key`, or of `work` started as that flight.
    func run(_ key: Key, _ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let flight = running.withLock { running in
            if let joined = running[key] {
                running[key]?.callers += 1
                return joined.flight
            }
            // The task removes itself; it cannot get there before this insertion, which holds the lock.
            let flight = Task {
                defer { self.running.withLock { _ = $0.removeValue(forKey: key) } }
                return try await work()
            }
            running[key] = (flight, 1)
            return flight
        }
        return try await flight.value
    }

    /// The callers awaiting the flight running for `key` (0: none running).
    func callers(of key: Key) -> Int {
        running.withLock { $0[key]?.callers ?? 0 }
    }
}
