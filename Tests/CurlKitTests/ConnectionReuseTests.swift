import CurlKit
import Testing

/// Keep-alive connections are reused per (host, identity): many calls, few handshakes.
@Suite struct ConnectionReuseTests {
    @Test func sequentialCallsReuseOneConnection() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
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
    }

    /// A handle keeps its static options between transfers and only resets the per-request ones: what one
    /// transfer set (a body, a custom method, HEAD) must not leak into the next one on the same connection.
    @Test func methodsAndBodiesDoNotLeakBetweenTransfersOnOneConnection() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
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
    }

    /// Sixteen calls at once over one reactor limited to four connections per host: they all succeed, over at
    /// most four connections (the others wait inside libcurl), which are then reused.
    @Test func concurrentCallsAreBoundedPerHostAndReuseConnections() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport {
            $0.reactors = 1
            $0.maxConnectionsPerHost = 4
        }
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        var ok = 0
                        for _ in 0..<4 {
                            let response = try await transport.send(.make(server.url("/ok"), identity: identity))
                            if response.status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(statuses == 64)
            let counters = transport.countersSnapshot
            #expect(counters.newConnections <= 4)  // the per-host bound
            #expect(counters.reusedConnections >= 60)
            #expect(counters.idleConnections == counters.newConnections)  // all kept open, none in use
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            #expect(try Fixtures.json(check)["connections"] as? Int ?? 99 <= 4)
        }
    }

    /// A bank call in flight holds no thread: one reactor carries many slow calls at once (the worker-thread
    /// design it replaced had one call in flight per thread).
    @Test func oneReactorCarriesManySlowCallsAtOnce() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.reactors = 1 }
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let calls = 20
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<calls {
                    group.addTask {
                        try await transport.send(.make(server.url("/slow?ms=2500"), identity: identity)).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: calls))
            let check = try await transport.send(.make(server.url("/ok"), identity: identity))
            // All twenty overlap unless the machine is very slow to open twenty TLS connections; far above one.
            #expect(try Fixtures.json(check)["maxConcurrent"] as? Int ?? 0 >= 12)
            #expect(transport.countersSnapshot.newConnections == calls)
        }
    }

    @Test func differentIdentitiesGetDifferentConnections() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.reactors = 1 }  // one multi handle: libcurl must tell them apart
        try await Fixtures.shuttingDown(transport) {
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
}
