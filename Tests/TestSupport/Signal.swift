/// A one-shot signal between tasks of a test (an `AsyncStream` that is finished once).
public struct Signal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    public init() {
        (stream, continuation) = AsyncStream<Void>.makeStream()
    }

    /// Wakes every waiter, now and later.
    public func fire() { continuation.finish() }

    /// Returns once `fire()` was called.
    public func wait() async {
        for await _ in stream {}
    }
}
