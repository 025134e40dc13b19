import CurlKit
import Foundation
import Testing
import TestSupport

/// Connect and total timeouts, the response size limit, and the errors for unreachable hosts and bad URLs.
@Suite struct DeadlineAndLimitTests {
    @Test func connectTimeoutFiresOnAFullBacklog() async throws {
        let listener = try FullBacklogListener()
        defer { listener.close() }
        let transport = try Fixtures.transport {
            $0.connectTimeout = .milliseconds(300)
            $0.retry = .none
        }
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make("https://127.0.0.1:\(listener.port)/ok", timeout: .seconds(20)))
            }
            #expect(error?.code == .timeout(.connect), "\(String(describing: error))")
        }
    }

    @Test func connectTimeoutFiresWhenTheServerNeverStartsTLS() async throws {
        let server = try await TestTLSServer(noHandshake: true)
        defer { server.stop() }
        let transport = try Fixtures.transport {
            $0.connectTimeout = .milliseconds(300)
            $0.retry = .none
        }
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/ok"), timeout: .seconds(20), identity: try Fixtures.identity()))
            }
            #expect(error?.code == .timeout(.connect), "\(String(describing: error))")
        }
    }

    @Test func totalTimeoutFiresWhenTheServerNeverAnswers() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url("/hang"), timeout: .milliseconds(800), identity: try Fixtures.identity()))
            }
            #expect(error?.code == .timeout(.total), "\(String(describing: error))")
        }
    }

    @Test(arguments: ["/huge?len=50000000", "/huge-chunked?len=50000000"])
    func sizeLimitAbortsAHugeBody(path: String) async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let transport = try Fixtures.transport { $0.maxResponseBytes = 256 * 1024 }
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let error = await Fixtures.outboundError {
                try await transport.send(.make(server.url(path), identity: identity))
            }
            #expect(error?.code == .responseTooLarge, "\(String(describing: error))")
            // A body under the limit still comes through whole.
            let small = try await transport.send(.make(server.url("/huge-chunked?len=200000"), identity: identity))
            #expect(small.body.count == 200_000)
        }
    }

    @Test func cancellingTheTaskAbortsTheTransfer() async throws {
        let server = try await TestTLSServer()
        defer { server.stop() }
        let audit = InMemoryOutboundAuditSink()
        let transport = try Fixtures.transport(audit: audit)
        try await Fixtures.shuttingDown(transport) {
            let identity = try Fixtures.identity()
            let task = Task {
                try await transport.send(.make(server.url("/hang"), timeout: .seconds(60), identity: identity))
            }
            try await Task.sleep(for: .milliseconds(300))
            task.cancel()
            let result = await task.result
            #expect(throws: CancellationError.self) { try result.get() }
            #expect(audit.records.map(\.errorKind) == ["cancelled"])
        }
    }

    @Test func refusedConnectionAndUnknownHostAreNamed() async throws {
        let transport = try Fixtures.transport { $0.retry = .none }
        try await Fixtures.shuttingDown(transport) {
            let port = try FullBacklogListener.closedPort()
            let refused = await Fixtures.outboundError {
                try await transport.send(.make("https://127.0.0.1:\(port)/x"))
            }
            #expect(refused?.code == .connectionRefused, "\(String(describing: refused))")
            #expect(refused?.host == "127.0.0.1:\(port)")
            let unknown = await Fixtures.outboundError {
                try await transport.send(.make("https://does-not-exist.invalid/x"))
            }
            #expect(unknown?.code == .dnsFailure, "\(String(describing: unknown))")
            #expect(unknown?.description.contains("does-not-exist.invalid") == true)
        }
    }

    @Test(arguments: [
        ("http://localhost/x", OutboundError.Code.notHTTPS), ("ftp://localhost/x", .notHTTPS),
        ("localhost/x", .invalidURL), ("https:///x", .invalidURL),
    ])
    func nonHTTPSAndMalformedURLsAreRefusedBeforeAnyIO(url: String, expected: OutboundError.Code) async throws {
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError { try await transport.send(.make(url)) }
            #expect(error?.code == expected, "\(String(describing: error))")
            #expect(transport.countersSnapshot.attempts == 0)
        }
    }
}

extension DeadlineAndLimitTests {
    @Test(arguments: [("PSU-User-Agent", "x\r\nX-Injected: 1"), ("Bad Name", "v"), ("X-Nul", "a\u{0}b"), ("", "v")])
    func headerInjectionIsRefusedBeforeAnyIO(name: String, value: String) async throws {
        let transport = try Fixtures.transport()
        try await Fixtures.shuttingDown(transport) {
            let error = await Fixtures.outboundError {
                try await transport.send(.make("https://localhost:1/x", headers: [("Accept", "*/*"), (name, value)]))
            }
            #expect(error?.code == .invalidHeader, "\(String(describing: error))")
            #expect(error?.description.contains("Injected") == false)
            #expect(transport.countersSnapshot.attempts == 0)
        }
    }
}

/// A loopback listener with backlog 0 whose queue is filled by plain connections and never accepted, so the
/// next SYN is dropped and a client's connect hangs until its timeout.
final class FullBacklogListener: @unchecked Sendable {
    let fd: Int32
    let port: Int
    private var fillers: [Int32] = []

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, var address = bindLoopback(fd, listenBacklog: 0) else {
            if fd >= 0 { _ = Glibc.close(fd) }
            throw TestServerError(message: "cannot listen on loopback")
        }
        // Fill the accept queue (backlog 0 still queues one or two connections on Linux).
        var fillers: [Int32] = []
        for _ in 0..<3 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    _ = connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(client)
        }
        usleep(100_000)
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.fillers = fillers
    }

    func close() {
        for client in fillers { _ = Glibc.close(client) }
        _ = Glibc.close(fd)
    }

    /// A loopback port that nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { _ = Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { throw TestServerError(message: "cannot bind on loopback") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
