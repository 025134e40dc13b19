import Foundation
import GatewayLogging
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import HTTPServerKit

/// Slow and greedy clients (docs/http.md, "Limits"; docs/operations.md, "Failure modes"): a per-peer connection
/// limit, a minimum body rate, idle connections reclaimed when the server is full. The attackers connect from
/// 127.0.0.1, the well-behaved client from 127.0.0.2 (another peer address on the same loopback). The assertions
/// are on behaviour (every answer of the well-behaved client, refusals, 408s); the latencies are printed only.
@Suite(.serialized) struct SlowAndGreedyClientTests {
    static let request = "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"

    @Test func peerBeyondItsConnectionLimitIsRefusedWhileOthersAreServed() async throws {
        let metrics = MetricsRegistry()
        try await withTestServer(configuration: .with { $0.maxConnectionsPerPeer = 3 }, metrics: metrics) { server in
            let port = server.boundPort
            let outcome = try await offPool { () -> (ParsedResponse, Bool, Int, Int) in
                let held = try (0..<3).map { _ in try RawClient(port: port, source: "127.0.0.1") }
                for client in held {
                    try client.send(Self.request)
                    _ = try client.readResponse()
                }
                let fourth = try RawClient(port: port, source: "127.0.0.1")
                let refused = try fourth.readResponse()
                let closed = fourth.isClosedByPeer()
                let other = try RawClient(port: port, source: "127.0.0.2")
                try other.send(Self.request)
                let otherStatus = try other.readResponse().status
                // A place freed by the peer is its own again.
                try held[0].send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                _ = try held[0].readResponse()
                _ = held[0].isClosedByPeer()
                shutdown(held[0].fd, Int32(SHUT_WR))  // ends the server's lingering close
                var again = 0
                for _ in 0..<100 where again != 200 {  // the server counts the close when it has seen it
                    let next = try RawClient(port: port, source: "127.0.0.1")
                    try? next.send(Self.request)
                    again = (try? next.readResponse().status) ?? 0
                    if again != 200 { usleep(20_000) }
                }
                return (refused, closed, otherStatus, again)
            }
            let (refused, closed, otherStatus, again) = outcome
            #expect(refused.status == 503)
            #expect(refused.text.contains("/problems/too-many-connections"))
            #expect(refused.header("Retry-After") == "1")
            #expect(closed)
            #expect(otherStatus == 200)
            #expect(again == 200)
            #expect(metrics.counter("http_connections_refused_total", help: "").value() >= 1)
        }
    }

    @Test func bodySlowerThanTheMinimumRateGets408AndIsClosed() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.minBodyBytesPerSecond = 1000
        configuration.bodyRateGracePeriod = .milliseconds(300)
        try await withTestServer(configuration: configuration) { server in
            let port = server.boundPort
            let (slow, closed, fast) = try await offPool { () -> (ParsedResponse, Bool, ParsedResponse) in
                let client = try RawClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n")
                client.setTimeout(seconds: 0, microseconds: 100_000)
                // 10 bytes every 100 ms: 100 B/s, a tenth of the minimum.
                for _ in 0..<100 {
                    if (try? client.send(String(repeating: "x", count: 10))) == nil || client.readSome() { break }
                }
                client.setTimeout(seconds: 5)
                let slow = try client.readResponse()
                let closed = client.isClosedByPeer()
                // The same body at once is served.
                let quick = try RawClient(port: port)
                try quick.send(
                    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n" + String(repeating: "y", count: 10000))
                return (slow, closed, try quick.readResponse())
            }
            #expect(slow.status == 408)
            #expect(slow.text.contains("/problems/request-timeout"))
            #expect(closed)
            #expect(fast.status == 200 && fast.body.count == 10000)
        }
    }

    @Test func idleConnectionsAreReclaimedOldestFirstWhenTheServerIsFull() async throws {
        let metrics = MetricsRegistry()
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 3
        configuration.maxConnectionsPerPeer = 0
        try await withTestServer(configuration: configuration, metrics: metrics) { server in
            let port = server.boundPort
            let (newcomer, oldestClosed, othersOpen) = try await offPool { () -> (Int, Bool, Bool) in
                let idle = try (0..<3).map { _ in try RawClient(port: port) }
                for client in idle {
                    try client.send(Self.request)
                    _ = try client.readResponse()
                }
                let newcomer = try RawClient(port: port, source: "127.0.0.2")
                try newcomer.send(Self.request)
                let status = try newcomer.readResponse().status
                return (status, idle[0].isClosedByPeer(), idle[2].staysOpen())
            }
            #expect(newcomer == 200)
            #expect(oldestClosed)
            #expect(othersOpen)
            #expect(metrics.counter("http_connections_reclaimed_total", help: "").value() >= 1)
        }
    }

    @Test func busyConnectionsAreNotReclaimedAndANewcomerWaitsForOneToFinish() async throws {
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 2
        configuration.maxConnectionsPerPeer = 0
        try await withTestServer(configuration: configuration) { server in
            let port = server.boundPort
            let (servedEarly, late, firstStatus) = try await offPool { () -> (Bool, Int, Int) in
                // Two connections in the middle of a request: not idle, so not reclaimable.
                let a = try RawClient(port: port)
                let b = try RawClient(port: port)
                try a.send("GET /hello HTTP/1.1\r\n")
                try b.send("GET /hello HTTP/1.1\r\n")
                usleep(100_000)
                let c = try RawClient(port: port)
                try c.send(Self.request)
                c.setTimeout(seconds: 0, microseconds: 500_000)
                let servedEarly = c.readSome()
                c.setTimeout(seconds: 5)
                // `a` finishes its request: answered, then (idle while someone waits) closed to make room.
                try a.send("Host: a\r\n\r\n")
                let first = try a.readResponse().status
                return (servedEarly, try c.readResponse().status, first)
            }
            #expect(servedEarly == false)
            #expect(firstStatus == 200)
            #expect(late == 200)
        }
    }

    /// One peer holds 1,100 idle keep-alive connections (more than `maxConnections`): with the per-peer limit it
    /// gets 256 and is refused the rest; without it, idle connections are reclaimed for the newcomer. Either way
    /// the other client gets every answer.
    @Test(arguments: [256, 0])
    func idleConnectionFloodFromOnePeerLocksNobodyOut(perPeer: Int) async throws {
        try raiseDescriptorLimit(to: 8192)
        var configuration = HTTPServer.Configuration()
        configuration.maxConnections = 1024
        configuration.maxConnectionsPerPeer = perPeer
        try await withTestServer(configuration: configuration) { server in
            let port = server.boundPort
            let (held, answers) = try await offPool { () -> (Int, [Int]) in
                var flood: [RawClient] = []
                var held = 0
                for _ in 0..<1100 {
                    guard let client = try? RawClient(port: port, source: "127.0.0.1", timeoutSeconds: 2) else { continue }
                    if (try? client.send(Self.request)) != nil, let r = try? client.readResponse(), r.status == 200 {
                        held += 1
                    }
                    flood.append(client)
                }
                var answers: [Int] = []
                for _ in 0..<20 {
                    let client = try RawClient(port: port, source: "127.0.0.2")
                    try client.send(Self.request)
                    answers.append(try client.readResponse().status)
                }
                withExtendedLifetime(flood) {}
                return (held, answers)
            }
            print("idle flood (per-peer limit \(perPeer)): the flooding peer was served on \(held) of 1100 connections")
            #expect(answers == Array(repeating: 200, count: 20))
            if perPeer > 0 { #expect(held <= perPeer) }
        }
    }

    /// slowhttptest (installed by scripts/test) runs slowloris — headers one line every second — and slow bodies
    /// over thousands of connections from 127.0.0.1 while a client at 127.0.0.2 keeps reading: every one of its
    /// requests is answered 200. Its latencies are printed (p50/p99/max), not asserted.
    @Test(arguments: ["slowloris", "slow-body"])
    func slowhttptestLocksNobodyOut(mode: String) async throws {
        try raiseDescriptorLimit(to: 8192)
        let tool = try #require(
            Self.findExecutable("slowhttptest"),
            "slowhttptest is not installed: scripts/test installs it (apt-get install slowhttptest)")
        let metrics = MetricsRegistry()
        var configuration = HTTPServer.Configuration()
        configuration.maxConnectionsPerPeer = 256
        configuration.headerTimeout = .seconds(3)
        configuration.bodyRateGracePeriod = .seconds(1)
        try await withTestServer(configuration: configuration, metrics: metrics) { server in
            let port = server.boundPort
            let modeArguments = mode == "slowloris" ? ["-H"] : ["-B", "-s", "65536"]
            let arguments =
                modeArguments + [
                    "-c", "3000", "-r", "1000", "-i", "1", "-l", "4", "-p", "2", "-x", "10",
                    "-u", "http://127.0.0.1:\(port)/echo", "-t", mode == "slowloris" ? "GET" : "POST",
                ]
            async let attack = runProcessCapturingAll(tool, arguments)
            let latencies = try await offPool { () -> [Double] in
                usleep(500_000)  // let the attack ramp up
                var latencies: [Double] = []
                let end = Date().addingTimeInterval(3)
                var keepAlive = try RawClient(port: port, source: "127.0.0.2")
                var i = 0
                while Date() < end {
                    i += 1
                    let start = Date()
                    if i % 2 == 0 {  // every other request on a new connection: accepting must keep up too
                        let fresh = try RawClient(port: port, source: "127.0.0.2")
                        try fresh.send(Self.request)
                        let r = try fresh.readResponse()
                        guard r.status == 200 else { throw ClientError(description: "status \(r.status)") }
                    } else {
                        if (try? keepAlive.send(Self.request)) == nil {
                            keepAlive = try RawClient(port: port, source: "127.0.0.2")
                            try keepAlive.send(Self.request)
                        }
                        let r = try keepAlive.readResponse()
                        guard r.status == 200 else { throw ClientError(description: "status \(r.status)") }
                    }
                    latencies.append(Date().timeIntervalSince(start))
                    usleep(20_000)
                }
                return latencies
            }
            let result = try await attack
            let sorted = latencies.sorted()
            func ms(_ q: Double) -> String {
                String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000)
            }
            let refused = metrics.counter("http_connections_refused_total", help: "").value()
            let timedOut = metrics.counter("http_requests_total", help: "").value(
                ["method": "unknown", "route": "unparsed", "status": "4xx"])
            print(
                "slowhttptest \(mode) (exit \(result.status)): \(sorted.count) requests by the other client, all 200; "
                    + "p50 \(ms(0.5)) ms, p99 \(ms(0.99)) ms, max \(ms(1)) ms; "
                    + "connections refused for the per-peer limit: \(Int(refused)), requests closed with a 4xx: \(Int(timedOut))")
            #expect(sorted.count >= 20)
            #expect(refused > 0)
            #expect(timedOut > 0)
        }
    }

    static func findExecutable(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin"])
            .map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}

/// Raises the soft descriptor limit (server and clients share this process); fails when the hard limit is lower.
func raiseDescriptorLimit(to wanted: UInt) throws {
    var limit = rlimit()
    getrlimit(RLIMIT_NOFILE_VALUE, &limit)
    guard limit.rlim_cur < wanted else { return }
    guard limit.rlim_max >= wanted else {
        throw ClientError(description: "descriptor limit \(limit.rlim_max) < \(wanted): raise `ulimit -Hn`")
    }
    limit.rlim_cur = rlim_t(wanted)
    setrlimit(RLIMIT_NOFILE_VALUE, &limit)
}

private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
