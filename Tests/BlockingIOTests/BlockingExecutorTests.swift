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
}
