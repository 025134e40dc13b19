import Synchronization

/// The bounded pool's bookkeeping: idle connections, how many are open (or being opened), and the callers waiting
/// in FIFO order. It never does I/O: a caller granted `.create` opens the connection itself, and connections to
/// close are handed back to the caller, so no libpq call happens under the lock.
final class ConnectionPool: Sendable {
    /// What a caller gets: an idle connection, or the right to open a new one (a slot is reserved for it).
    enum Grant: Sendable {
        case connection(PostgresConnection)
        case create
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections open or being opened (leased + idle + reserved slots).
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    /// The most connections open at once.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Waits up to `timeout` for a grant. Waiters are served in arrival order.
    /// - Throws: `.timeout` when nothing was granted in time, `.poolClosed`, or `CancellationError`.
    func acquire(timeout: Duration) async throws -> Grant {
        // Fast path, without a timer.
        enum Outcome {
            case granted(Grant)
            case mustWait
        }
        let outcome = try state.withLock { state -> Outcome in
            if state.closed { throw Self.closedError }
            if let grant = Self.immediateGrant(&state, capacity: capacity) { return .granted(grant) }
            return .mustWait
        }
        if case .granted(let grant) = outcome { return grant }

        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                self.fail(
                    id,
                    DatabaseError(
                        .timeout, message: "no database connection free within \(timeout) (pool size \(self.capacity))",
                        operation: "acquire"))
            }
            defer { group.cancelAll() }
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                    state.withLock { state in
                        if state.closed { return continuation.resume(throwing: Self.closedError) }
                        if let grant = Self.immediateGrant(&state, capacity: capacity) {
                            return continuation.resume(returning: grant)
                        }
                        // Checked under the lock, so a cancellation handler running now waits and then finds us.
                        if Task.isCancelled { return continuation.resume(throwing: CancellationError()) }
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                    }
                }
            } onCancel: {
                self.fail(id, CancellationError())
            }
        }
    }

    /// Gives back a connection that can be reused: to the first waiter, else to the idle list.
    /// - Returns: The connection if the pool is closed and the caller must close it.
    func release(_ connection: PostgresConnection) -> PostgresConnection? {
        state.withLock { state in
            if state.closed {
                state.open -= 1
                return connection
            }
            if !state.waiters.isEmpty {
                state.waiters.removeFirst().continuation.resume(returning: .connection(connection))
            } else {
                state.idle.append(connection)
            }
            return nil
        }
    }

    /// Frees the slot of a connection that was closed or could not be opened; the first waiter may open a new one.
    func slotFreed() {
        state.withLock { state in
            state.open -= 1
            if !state.closed, !state.waiters.isEmpty {
                state.open += 1
                state.waiters.removeFirst().continuation.resume(returning: .create)
            }
        }
    }

    /// Refuses new acquisitions, fails every waiter with `.poolClosed`, and returns the idle connections to close.
    func close() -> [PostgresConnection] {
        state.withLock { state in
            state.closed = true
            for waiter in state.waiters { waiter.continuation.resume(throwing: Self.closedError) }
            state.waiters.removeAll()
            let idle = state.idle
            state.idle.removeAll()
            state.open -= idle.count
            return idle
        }
    }

    /// Connections open or being opened, and idle ones (for metrics and tests).
    var counts: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }

    private static func immediateGrant(_ state: inout State, capacity: Int) -> Grant? {
        if let connection = state.idle.popLast() { return .connection(connection) }
        if state.open < capacity {
            state.open += 1
            return .create
        }
        return nil
    }

    private func fail(_ id: Int, _ error: any Error) {
        state.withLock { state in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return }
            state.waiters.remove(at: index).continuation.resume(throwing: error)
        }
    }

    private static var closedError: DatabaseError {
        DatabaseError(.poolClosed, message: "the database client was shut down", operation: "acquire")
    }
}
