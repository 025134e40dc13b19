import Synchronization

extension Task where Failure == Never, Success: Sendable {
    /// The task's value if it ends within `timeout`, else nil — and then the caller goes on without it while the
    /// task runs to its end in the background (bounded by its own deadlines). For waits on something that may not
    /// answer at all (a database frozen mid-statement: the blocking call cannot be interrupted) where the caller
    /// must answer in time: a readiness probe, a check with a recent answer to fall back on.
    ///
    /// A task group would not do: it waits for all its children, so cancelling the slow one does not let the
    /// caller return before it ends.
    public func value(within timeout: Duration) async -> Success? {
        let answer = FirstAnswer<Success?>()
        return await withCheckedContinuation { continuation in
            answer.wait(continuation)
            Task<Void, Never> { answer.give(await self.value) }
            Task<Void, Never> {
                try? await Task<Never, Never>.sleep(for: timeout)
                answer.give(nil)
            }
        }
    }
}

/// Resumes a continuation with the first answer given; later ones are dropped.
private final class FirstAnswer<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T, Never>?>(nil)

    func wait(_ continuation: CheckedContinuation<T, Never>) { self.continuation.withLock { $0 = continuation } }

    func give(_ value: T) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
