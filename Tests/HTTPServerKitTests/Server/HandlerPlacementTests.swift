import BlockingIO
import Foundation
import TestSupport
import Reactor
import Synchronization
import Testing

@testable import HTTPServerKit

/// `Configuration.handlerPlacement`: a route's handler runs on the pool, on a given executor, or on the event loop
/// of its connection; `Configuration.reactors` spreads connections over several loops.
@Suite struct HandlerPlacementTests {
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
        configuration.handlerPlacement = { head in head.target.hasPrefix("/slow") ? .executor(handlerThreads) : .pool }
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

    /// With `.eventLoop`, a handler runs on the reactor of the loop its connection lives on (and stays there across
    /// a suspension); connections are spread over all the loops; `.pool` handlers run on no reactor.
    @Test func eventLoopHandlersRunOnTheirConnectionsLoopAndConnectionsAreSpread() async throws {
        let group = ReactorGroup(name: "test-loops", count: 3)
        defer { group.shutdown() }
        var configuration = HTTPServer.Configuration()
        configuration.reactors = group
        configuration.handlerPlacement = { head in head.target.hasPrefix("/loop") ? .eventLoop : .pool }
        try await withTestServer(
            configuration: configuration,
            routes: { builder, _ in
                builder.add(.get, "/loop") { _, _ in
                    let before = Reactor.current.flatMap { group.index(of: $0) }
                    try await Task.sleep(for: .milliseconds(2))
                    let after = Reactor.current.flatMap { group.index(of: $0) }
                    return .text(200, "\(before.map(String.init) ?? "none") \(after.map(String.init) ?? "none")")
                }
                builder.add(.get, "/pool") { _, _ in .text(200, Reactor.current == nil ? "pool" : "reactor") }
            }
        ) { server in
            var loopsSeen = Set<String>()
            for _ in 0..<6 {  // six connections, two requests each
                let placements = try await offPool { () -> [String] in
                    let client = try RawClient(port: server.boundPort)
                    var texts: [String] = []
                    for _ in 0..<2 {
                        try client.send("GET /loop HTTP/1.1\r\nHost: a\r\n\r\n")
                        texts.append(try client.readResponse().text)
                    }
                    return texts
                }
                let parts = placements.flatMap { $0.split(separator: " ").map(String.init) }
                #expect(!parts.contains("none"), "the handler ran on a reactor of the group")
                #expect(Set(parts).count == 1, "one connection, one loop: \(placements)")
                loopsSeen.formUnion(parts)
            }
            #expect(loopsSeen == ["0", "1", "2"], "connections are handed to every loop in turn")
            let pool = try await Self.get(server.boundPort, "/pool")
            #expect(pool.text == "pool")
        }
    }
}
