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
        // The waiter registers asynchronously: signal until it has heard one (a signal nobody waits for is dropped).
        for _ in 0..<250 where heard.signal.withLock({ $0 }) == nil {
            kill(getpid(), SIGUSR1)
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await usr1.value == SIGUSR1)
        usr2.cancel()
        #expect(await usr2.value == nil, "cancelled, and SIGUSR1 is not its signal")
    }

    @Test func aCancelledWaiterReturnsNil() async {
        let waiter = Task { await SignalHandling.wait(for: [SIGUSR2]) }
        waiter.cancel()
        #expect(await waiter.value == nil)
    }
}
