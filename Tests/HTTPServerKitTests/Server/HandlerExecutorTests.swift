import BlockingIO
import Foundation
import Synchronization
import Testing

@testable import HTTPServerKit

/// `Configuration.handlerExecutor`: chosen routes run on threads made for blocking, the others stay on the pool.
@Suite struct HandlerExecutorTests {
    static func get(_ port: Int, _ path: String) async throws -> ParsedResponse {
        try await offPool {
            let client = try RawClient(port: port)
            try client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            return try client.readResponse()
        }
    }

    @Test func blockingRoutesRunOnTheirThreadsAndOthersAnswerWhileTheyAreBusy() async throws {
        let handlerThreads = BlockingExecutor(name: "handler", threads: 1)
        defer { handlerThreads.shutdown() }
        let release = Mutex(false)
        var configuration = HTTPServer.Configuration()
        configuration.handlerExecutor = { head in head.target.hasPrefix("/slow") ? handlerThreads : nil }
        try await withTestServer(
            configuration: configuration,
            routes: { builder, _ in
                builder.add(.get, "/slow") { _, _ in
                    // Blocks its (only) handler thread until released, as a libcurl call to a slow bank would.
                    let onHandlerThread = BlockingExecutor.onBlockingThread
                    while !release.withLock({ $0 }) { usleep(1_000) }
                    return .text(200, onHandlerThread ? "handler thread" : "pool")
                }
                builder.add(.get, "/hello") { _, _ in
                    .text(200, BlockingExecutor.onBlockingThread ? "handler thread" : "pool")
                }
            }
        ) { server in
            async let slow = Self.get(server.boundPort, "/slow")
            // The handler thread is busy; a route that is not on it still answers (from the pool).
            try await Task.sleep(for: .milliseconds(100))
            let hello = try await Self.get(server.boundPort, "/hello")
            #expect(hello.status == 200 && hello.text == "pool")
            release.withLock { $0 = true }
            let slowResponse = try await slow
            #expect(slowResponse.status == 200 && slowResponse.text == "handler thread")
        }
    }
}
