import Foundation
import Testing
import TestSupport

/// The HTTP server settings reach the gateway's server (`Config` → `HTTPServer.Configuration`), checked through the
/// gateway itself: each limit set low answers as HTTPServerKit's own tests say it does. Dropping a setting from
/// `Application.makeServer` leaves the server's default (1 MiB, 10 s, 60 s) and the matching test fails.
@Suite struct HTTPSettingsTests {
    static let environment = [
        "PASSERELLE_HTTP_MAX_BODY_BYTES": "2048", "PASSERELLE_HTTP_HEADER_TIMEOUT_SECONDS": "1",
        "PASSERELLE_HTTP_IDLE_TIMEOUT_SECONDS": "1",
    ]

    static func withGateway(_ body: (Int) async throws -> Void) async throws {
        let h = try await AppHarness.start(environment: environment)
        do {
            try await body(h.server.boundPort)
        } catch {
            await h.stop()
            throw error
        }
        await h.stop()
    }

    @Test func aBodyOverTheMaximumIs413AndClosesTheConnection() async throws {
        try await Self.withGateway { port in
            let (status, closed, text) = try await offPool { () -> (Int, Bool, String) in
                let c = try RawClient(port: port)
                let body = "{\"certificate\": \"" + String(repeating: "A", count: 2100) + "\"}"
                try c.send(
                    "POST /v1/certificates HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(AppHarness.apiKey)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
                let response = try c.readResponse()
                return (response.status, c.isClosedByPeer(), response.text)
            }
            #expect(status == 413, "\(text)")
            #expect(text.contains("/problems/"), "a problem body: \(text)")
            #expect(closed)
            // At the limit it is read (and refused for what it says, not for its size).
            let atLimit = try await offPool { () -> Int in
                let c = try RawClient(port: port)
                let filler = String(repeating: "A", count: 2048 - 19)
                let body = "{\"certificate\": \"" + filler + "\"}"
                precondition(body.utf8.count == 2048)
                try c.send(
                    "POST /v1/certificates HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer \(AppHarness.apiKey)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: 2048\r\n\r\n" + body)
                return try c.readResponse().status
            }
            #expect(atLimit != 413 && atLimit / 100 == 4, "status at the limit: \(atLimit)")
        }
    }

    @Test func aHeaderSectionNotFinishedInTimeIs408AndClosed() async throws {
        try await Self.withGateway { port in
            let (status, closed) = try await offPool { () -> (Int?, Bool) in
                let c = try RawClient(port: port, timeoutSeconds: 8)
                try c.send("GET /health HTTP/1.1\r\nHost: a\r\n")  // never finished
                let response = try? c.readResponse()
                return (response?.status, c.isClosedByPeer(timeoutSeconds: 8))
            }
            #expect(status == 408)
            #expect(closed)
        }
    }

    @Test func anIdleKeepAliveConnectionIsClosedAfterTheIdleTimeout() async throws {
        try await Self.withGateway { port in
            let (first, closed) = try await offPool { () -> (Int, Bool) in
                let c = try RawClient(port: port, timeoutSeconds: 8)
                try c.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
                let response = try c.readResponse()
                return (response.status, c.isClosedByPeer(timeoutSeconds: 8))
            }
            #expect(first == 200)
            #expect(closed, "closed by the gateway after 1 s idle (the default is 60 s)")
        }
    }
}
