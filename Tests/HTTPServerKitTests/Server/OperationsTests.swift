import GatewayLogging
import Glibc
import Synchronization
import TestSupport
import Testing
import TestSupport

@testable import HTTPServerKit

/// /health, /ready, /metrics, timeouts, back-pressure and in-process graceful shutdown.
@Suite struct OperationsTests {
    func get(_ port: Int, _ path: String) async throws -> ParsedResponse {
        try await offPool {
            let client = try RawClient(port: port)
            try client.send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
            return try client.readResponse()
        }
    }

    @Test func healthReadyAndMetrics() async throws {
        let ready = Mutex<Readiness>(.ready)
        let metrics = MetricsRegistry()
        try await withTestServer(
            metrics: metrics,
            routes: { builder, lifecycle in
                OperationsRoutes.add(to: &builder, lifecycle: lifecycle, metrics: metrics) { ready.withLock { $0 } }
            }
        ) { server in
            let health = try await get(server.boundPort, "/health")
            #expect(health.status == 200 && health.text == "{\"status\":\"ok\"}")
            #expect(try await get(server.boundPort, "/ready").status == 200)
            ready.withLock { $0 = .notReady(["database unreachable"]) }
            let notReady = try await get(server.boundPort, "/ready")
            #expect(notReady.status == 503)
            #expect(notReady.header("Content-Type") == "application/problem+json")
            #expect(notReady.text.contains("\"reasons\":[\"database unreachable\"]"))
            let m = try await get(server.boundPort, "/metrics")
            #expect(m.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
            #expect(m.text.contains("http_requests_total{method=\"GET\",route=\"/health\",status=\"2xx\"} 1"))
            #expect(m.text.contains("http_open_connections"))
        }
    }

    @Test func readyTurns503WhileDraining() async throws {
        let gate = Gate()
        let metrics = MetricsRegistry()
        try await withTestServer(
            metrics: metrics,
            routes: { builder, lifecycle in
                OperationsRoutes.add(to: &builder, lifecycle: lifecycle, metrics: metrics)
                builder.add(.get, "/slow") { _, _ in
                    await gate.wait()
                    return .text(200, "slow done")
                }
            }
        ) { server in
            let port = server.boundPort
            // Hold a request in flight, start draining, then ask /ready on an already-open connection.
            let readyClient = try await offPool { () -> RawClient in
                let c = try RawClient(port: port)
                try c.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
                _ = try c.readResponse()
                return c
            }
            async let slow = offPool { () -> ParsedResponse in
                let c = try RawClient(port: port)
                try c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
                return try c.readResponse()
            }
            await gate.waitForWaiter()
            server.shutdown(gracePeriod: .seconds(10))
            #expect(server.isDraining)
            // The idle keep-alive connection is closed by the drain.
            let idleClosed = try await offPool { () -> Bool in readyClient.isClosedByPeer() }
            #expect(idleClosed)
            // New connections are refused once the listener is closed.
            let refused = try await offPool { () -> Bool in
                for _ in 0..<50 {
                    if (try? RawClient(port: port)) == nil { return true }
                    usleep(20_000)
                }
                return false
            }
            #expect(refused)
            gate.open()
            let response = try await slow
            #expect(response.text == "slow done")
            #expect(response.header("Connection") == "close")
        }
    }

    @Test func readyHandlerReportsDraining() async throws {
        let lifecycle = ServerLifecycle()
        var builder = Router.Builder()
        OperationsRoutes.add(to: &builder, lifecycle: lifecycle, metrics: MetricsRegistry())
        let router = builder.build()
        let context = RequestContext(requestID: "r", logger: Logger(label: "t", sink: CapturingLogSink()))
        #expect(try await router.handle(HTTPRequest(method: .get, target: "/ready"), context: context).status == 200)
        lifecycle.startDraining()
        let draining = try await router.handle(HTTPRequest(method: .get, target: "/ready"), context: context)
        #expect(draining.status == 503)
        #expect(String(decoding: draining.body, as: UTF8.self).contains("draining"))
    }

    @Test func slowHeaderGets408AndIsClosed() async throws {
        try await withTestServer(configuration: .with { $0.headerTimeout = .milliseconds(600) }) { server in
            let port = server.boundPort
            let (response, closed) = try await offPool {
                let client = try RawClient(port: port)
                var sentAll = true
                for byte in "GET /hello HTTP/1.1\r\nHost: a\r\nX-Slow: ".utf8 {
                    // Byte by byte, 50 ms apart: the whole header section would take far longer than 600 ms.
                    if (try? client.send([byte])) == nil {
                        sentAll = false
                        break
                    }
                    usleep(50_000)
                    if client.readSome() { break }
                }
                _ = sentAll
                return (try client.readResponse(), client.isClosedByPeer())
            }
            #expect(response.status == 408)
            #expect(closed)
        }
    }

    @Test func idleConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await withTestServer(configuration: .with { $0.idleTimeout = .milliseconds(300) }) { server in
            let port = server.boundPort
            let closed = try await offPool {
                let client = try RawClient(port: port)
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                _ = try client.readResponse()
                return client.isClosedByPeer(timeoutSeconds: 5)
            }
            #expect(closed)
        }
    }

    @Test func silentConnectionIsClosedWithoutAResponse() async throws {
        try await withTestServer(configuration: .with { $0.headerTimeout = .milliseconds(300) }) { server in
            let port = server.boundPort
            let (closed, bytes) = try await offPool {
                let client = try RawClient(port: port)
                return (client.isClosedByPeer(), client.received.count)
            }
            #expect(closed && bytes == 0)
        }
    }
}

@Suite struct HandlerTimeoutTests {
    @Test func slowHandlerGets503AndTheConnectionCloses() async throws {
        let gate = Gate()
        try await withTestServer(
            configuration: .with { $0.handlerTimeout = .milliseconds(300) },
            routes: { builder, _ in
                builder.add(.get, "/stuck") { _, _ in
                    await gate.wait()
                    return .text(200, "late")
                }
            }
        ) { server in
            let port = server.boundPort
            let (response, closed) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("GET /stuck HTTP/1.1\r\nHost: a\r\n\r\n")
                return (try client.readResponse(), client.isClosedByPeer())
            }
            gate.open()
            #expect(response.status == 503)
            #expect(response.text.contains("/problems/handler-timeout"))
            #expect(closed)
        }
    }
}

@Suite struct CancellationTests {
    @Test func cancellingRunShutsTheServerDown() async throws {
        let server = try HTTPServer(
            configuration: .init(host: "127.0.0.1", port: 0), handler: Router.Builder().build(),
            logger: Logger(label: "t", sink: CapturingLogSink()))
        let port = server.boundPort
        let task = Task { await server.run() }
        let served = try await offPool { () -> Int? in
            for _ in 0..<100 {
                if let c = try? RawClient(port: port), (try? c.send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")) != nil,
                    let r = try? c.readResponse()
                {
                    return r.status
                }
                usleep(20_000)
            }
            return nil
        }
        #expect(served == 404)
        task.cancel()
        await task.value
        #expect(server.isDraining)
        let refused = try await offPool { (try? RawClient(port: port)) == nil }
        #expect(refused)
    }
}
