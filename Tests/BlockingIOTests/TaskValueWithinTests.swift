import BlockingIO
import Foundation
import Testing

@Suite struct TaskValueWithinTests {
    @Test func aTaskThatEndsInTimeGivesItsValue() async {
        let task = Task { 42 }
        #expect(await task.value(within: .seconds(30)) == 42)
    }

    /// The caller returns nil at the timeout while the task (here: one blocked on a thread, as a libpq call on a
    /// frozen server is) goes on; it still ends later.
    @Test func theCallerStopsWaitingAtTheTimeoutAndTheTaskGoesOn() async {
        let executor = BlockingExecutor(name: "test-within", threads: 1)
        defer { executor.shutdown() }
        let gate = Gate()
        let task = Task { () -> Int in
            (try? await executor.run { gate.wait(); return 7 }) ?? -1
        }
        #expect(await task.value(within: .milliseconds(100)) == nil)
        gate.open()
        #expect(await task.value == 7)
    }
}

/// What a blocking thread waits on.
private struct Gate: Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func wait() { semaphore.wait() }
    func open() { semaphore.signal() }
}
