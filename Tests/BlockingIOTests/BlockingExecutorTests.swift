import Foundation
import Foundation
import Testing
@testable import BlockingIO

@Suite struct BlockingExecutorTests {
    @Test func runsBlockingWorkOffTheCooperativePoolAndReturnsResults() async throws {
        let executor = BlockingExecutor(name: "test", threads: 4)
        defer { executor.shutdown() }
        // 8 jobs that each block for 100 ms would starve a 2-thread cooperative pool; here they all complete.
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<8 {
                group.addTask { try await executor.run { usleep(100_000); return i * 2 } }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<8).map { $0 * 2 })
    }

    @Test func propagatesErrors() async {
        struct Boom: Error {}
        let executor = BlockingExecutor(name: "test", threads: 1)
        defer { executor.shutdown() }
        await #expect(throws: Boom.self) { try await executor.run { throw Boom() } }
    }

    @Test func refusesWorkAfterShutdown() async {
        let executor = BlockingExecutor(name: "test", threads: 1)
        executor.shutdown()
        await #expect(throws: CancellationError.self) { try await executor.run { 1 } }
    }

    /// A finished job's closure is released at once: what it captured (a statement's parameters, hundreds of KB
    /// for a batch of audit rows) must not stay alive in the queue until a compaction.
    @Test func aFinishedJobReleasesWhatItCaptured() async throws {
        final class Payload: Sendable {}
        let executor = BlockingExecutor(name: "test", threads: 1)
        defer { executor.shutdown() }
        weak var released: Payload?
        do {
            let payload = Payload()
            released = payload
            try await executor.run { _ = payload }
        }
        try await executor.run {}  // one worker: the first job's iteration is over once this one has run
        #expect(released == nil)
    }

    /// The thread a piece of blocking work runs on.
    static func threadID() -> UInt { UInt(bitPattern: Int(pthread_self())) }

    /// Runs `body` with a 2-thread handler executor and a 1-thread io executor, shut down afterwards.
    static func withExecutors<T>(_ body: (BlockingExecutor, BlockingExecutor) async throws -> T) async rethrows -> T {
        let handlers = BlockingExecutor(name: "handler", threads: 2)
        let io = BlockingExecutor(name: "io", threads: 1)
        defer {
            handlers.shutdown()
            io.shutdown()
        }
        return try await body(handlers, io)
    }

    @Test func tasksRunOnItsThreadsAndTheirBlockingWorkRunsInline() async throws {
        try await Self.withExecutors { handlers, io in
            // A task preferring `handlers` runs on one of its threads; `io.run` there executes inline (same thread).
            let (taskThread, workThread, marked) = try await Task(executorPreference: handlers) {
                let before = Self.threadID()
                let work = try await io.run { Self.threadID() }
                return (before, work, BlockingExecutor.onBlockingThread)
            }.value
            #expect(marked)
            #expect(workThread == taskThread)

            // From the cooperative pool, the same call hops to the io thread.
            #expect(!BlockingExecutor.onBlockingThread)
            let here = Self.threadID()
            let there = try await io.run { Self.threadID() }
            #expect(there != here)
        }
    }

    @Test func manyTasksOnFewThreadsAllComplete() async throws {
        try await Self.withExecutors { handlers, io in
            // 20 tasks on 2 threads, each suspending (sleep) and blocking (usleep inline): all finish, none is lost.
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask(executorPreference: handlers) {
                        try await Task.sleep(for: .milliseconds(5))
                        return try await io.run { usleep(2_000); return i }
                    }
                }
                return try await group.reduce(0, +)
        }
        #expect(sum == (0..<20).reduce(0, +))
        }
    }
}
