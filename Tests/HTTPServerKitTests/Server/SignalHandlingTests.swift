import Synchronization
import Testing

@testable import HTTPServerKit

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct SignalHandlingTests {
    final class Heard: Sendable {
        let signal = Mutex<Int32?>(nil)
    }

    @Test func aWaiterHearsItsSignalAndOthersDoNot() async throws {
        SignalHandling.install([SIGUSR1, SIGUSR2])
        let heard = Heard()
        let usr1 = Task {
            let signal = await SignalHandling.wait(for: [SIGUSR1])
            heard.signal.withLock { $0 = signal }
            return signal
        }
        let usr2 = Task { await SignalHandling.wait(for: [SIGUSR2]) }
        // Signal until the waiter has heard one (one sent before it registered is kept for it anyway).
        for _ in 0..<250 where heard.signal.withLock({ $0 }) == nil {
            kill(getpid(), SIGUSR1)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await usr1.value == SIGUSR1)
        usr2.cancel()
        #expect(await usr2.value == nil, "cancelled, and SIGUSR1 is not its signal")
    }

    @Test func aSignalThatCameBeforeAnyWaiterIsKeptForTheNextOne() async throws {
        SignalHandling.install([SIGWINCH])
        kill(getpid(), SIGWINCH)
        // The handler's byte goes through the pipe to the reader thread, which keeps it: wait until it has.
        for _ in 0..<500 where !SignalHandling.isPending(SIGWINCH) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(SignalHandling.isPending(SIGWINCH))
        let waiter = Task { await SignalHandling.wait(for: [SIGWINCH]) }
        #expect(await waiter.value == SIGWINCH)
        #expect(!SignalHandling.isPending(SIGWINCH), "handed to the waiter")
    }

    @Test func aCancelledWaiterReturnsNil() async {
        let waiter = Task { await SignalHandling.wait(for: [SIGUSR2]) }
        waiter.cancel()
        #expect(await waiter.value == nil)
    }
}
