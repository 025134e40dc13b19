internal import CShims
import BlockingIO
import Reactor
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Turns POSIX signals into an awaitable event, for graceful shutdown on SIGTERM/SIGINT.
///
/// A handler installed with `sigaction` writes the signal's number into a pipe opened once per process, and one
/// thread reads the pipe and resumes the waiters. Everything is in place when `install` returns: no descriptor,
/// thread or registration is needed when the signal comes, so a process that has run out of descriptors still
/// hears SIGTERM. (Dispatch signal sources registered themselves asynchronously and needed a descriptor of their
/// own: a server flooded with connections right after start-up could end up deaf to SIGTERM.)
public enum SignalHandling {
    /// Routes `signals` to the waiters from now on, instead of their default action. A signal that comes while
    /// nobody waits for it is kept for the next waiter (a SIGTERM between start-up and the moment the server's
    /// waiting task runs still shuts it down). Idempotent; `wait(for:)` calls it too.
    public static func install(_ signals: [Int32]) {
        SignalHub.shared.install(signals)
    }

    /// Whether `signal` came and is kept for the next waiter (for tests).
    static func isPending(_ signal: Int32) -> Bool { SignalHub.shared.isPending(signal) }

    /// Waits for the first of `signals`; nil when the waiting task is cancelled first.
    public static func wait(for signals: [Int32]) async -> Int32? {
        let hub = SignalHub.shared
        hub.install(signals)
        let id = hub.newWaiterID()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                hub.add(id: id, signals: Set(signals), continuation: continuation)
            }
        } onCancel: {
            hub.cancel(id: id)
        }
    }
}

/// The process's signal pipe, its reader thread and the waiters.
private final class SignalHub: Sendable {
    static let shared = SignalHub()

    private struct Waiter {
        let id: UInt64
        let signals: Set<Int32>
        let continuation: CheckedContinuation<Int32?, Never>
    }

    private struct State {
        var installed: Set<Int32> = []
        var waiters: [Waiter] = []
        /// Signals that came while no waiter wanted them.
        var pending: Set<Int32> = []
        /// Waiters cancelled before they were added.
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    private init() {
        let fd = cshim_signal_pipe_open()
        precondition(fd >= 0, "cannot open the signal pipe: errno \(errno)")
        startDetachedThread(name: "signals") { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(fd, &byte, 1)
                if n == 1 {
                    deliver(Int32(byte))
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    func install(_ signals: [Int32]) {
        state.withLock { state in
            for signal in signals where !state.installed.contains(signal) {
                precondition(cshim_signal_forward(signal) == 0, "sigaction(\(signal)) failed: errno \(errno)")
                state.installed.insert(signal)
            }
        }
    }

    func isPending(_ signal: Int32) -> Bool { state.withLock { $0.pending.contains(signal) } }

    func newWaiterID() -> UInt64 {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    func add(id: UInt64, signals: Set<Int32>, continuation: CheckedContinuation<Int32?, Never>) {
        // nil: the waiter waits; .some(nil): it was cancelled; .some(signal): that signal already came.
        let outcome = state.withLock { state -> Int32?? in
            if state.cancelled.remove(id) != nil { return .some(nil) }
            if let early = state.pending.first(where: signals.contains) {
                state.pending.remove(early)
                return .some(early)
            }
            state.waiters.append(Waiter(id: id, signals: signals, continuation: continuation))
            return nil
        }
        if let outcome { continuation.resume(returning: outcome) }
    }

    func cancel(id: UInt64) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                state.cancelled.insert(id)
                return nil
            }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(returning: nil)
    }

    private func deliver(_ signal: Int32) {
        let woken = state.withLock { state -> [Waiter] in
            let matching = state.waiters.filter { $0.signals.contains(signal) }
            if matching.isEmpty { state.pending.insert(signal) }
            state.waiters.removeAll { $0.signals.contains(signal) }
            return matching
        }
        for waiter in woken { waiter.continuation.resume(returning: signal) }
    }
}
