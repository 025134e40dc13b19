import CurlKit
import Testing

/// Keep-alive connections are pooled per (host, identity) and reused: many calls, few handshakes.
@Suite struct ConnectionReuseTests {
    @Test func sequentialCallsReuseOneConnection() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        defer { transport.shutdown() }
        let identity = try Fixtures.identity()
        var last: OutboundResponse?
        for _ in 0..<30 {
            last = try await transport.send(.make(server.url("/ok"), identity: identity))
        }
        let counters = transport.countersSnapshot
        #expect(counters.requests == 30)
        #expect(counters.newConnections == 1)
        #expect(counters.reusedConnections == 29)
        #expect(counters.idleConnections == 1)
        // The server saw one TLS connection for thirty requests.
        let json = try Fixtures.json(try #require(last))
        #expect(json["connections"] as? Int == 1)
        #expect(json["requests"] as? Int == 30)
    }

    /// A handle keeps its static options between transfers and only resets the per-request ones: what one
    /// transfer set (a body, a custom method, HEAD) must not leak into the next one on the same connection.
    @Test func methodsAndBodiesDoNotLeakBetweenTransfersOnOneConnection() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        defer { transport.shutdown() }
        let identity = try Fixtures.identity()
        let sequence: [(method: String, body: String)] = [
            ("POST", #"{"a":1}"#), ("GET", ""), ("DELETE", ""), ("PUT", #"{"b":22}"#), ("GET", ""), ("HEAD", ""),
            ("GET", ""), ("POST", ""), ("PATCH", "xyz"), ("DELETE", ""), ("GET", ""),
        ]
        for (index, step) in sequence.enumerated() {
            let response = try await transport.send(
                .make(server.url("/ok"), method: step.method, body: Array(step.body.utf8), identity: identity))
            #expect(response.status == 200, "step \(index) \(step.method)")
            if step.method == "HEAD" {
                #expect(response.body.isEmpty, "a HEAD answer has no body")
                continue
            }
            let json = try Fixtures.json(response)
            #expect(json["method"] as? String == step.method, "step \(index)")
            #expect(json["bodyLength"] as? Int == step.body.utf8.count, "step \(index) \(step.method)")
            #expect(json["connections"] as? Int == 1, "one reused connection")
        }
        #expect(transport.countersSnapshot.newConnections == 1)
    }

    @Test func concurrentCallsNeverShareAHandleAndStayBounded() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.workerThreads = 4 }
        defer { transport.shutdown() }
        let identity = try Fixtures.identity()
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var ok = 0
                    for _ in 0..<15 {
                        let response = try await transport.send(.make(server.url("/ok"), identity: identity))
                        if response.status == 200 { ok += 1 }
                    }
                    return ok
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(statuses == 60)
        let counters = transport.countersSnapshot
        #expect(counters.newConnections <= 4)  // at most one per worker thread
        #expect(counters.reusedConnections >= 56)
        let check = try await transport.send(.make(server.url("/ok"), identity: identity))
        #expect(try Fixtures.json(check)["connections"] as? Int ?? 99 <= 4)
    }

    @Test func differentIdentitiesGetDifferentConnections() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        defer { transport.shutdown() }
        let first = try Fixtures.identity("qwac")
        let second = try Fixtures.identity("qwac2")
        for _ in 0..<3 {
            let a = try await transport.send(.make(server.url("/ok"), identity: first))
            let b = try await transport.send(.make(server.url("/ok"), identity: second))
            #expect(try Fixtures.json(a)["connection"] as? Int == 1)
            #expect(try Fixtures.json(b)["connection"] as? Int == 2)
        }
        #expect(transport.countersSnapshot.newConnections == 2)
    }
}
