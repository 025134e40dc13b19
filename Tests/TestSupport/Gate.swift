import Synchronization

/// Lets a test hold async work (a handler, a fake bank call) until it says so.
public final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>], arrived: Int)>((false, [], 0))

    public init() {}

    /// Suspends until `open()` (at once when already open).
    public func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { s -> Bool in
                s.arrived += 1
                if s.open { return true }
                s.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Lets every waiter, present and future, through.
    public func open() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// How many callers have reached `wait()` so far.
    public var arrived: Int { state.withLock { $0.arrived } }

    /// Returns once `count` callers have reached `wait()`, or after about 10 s (check `arrived`).
    public func waitForWaiter(count: Int = 1) async {
        for _ in 0..<1000 {
            if arrived >= count { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
