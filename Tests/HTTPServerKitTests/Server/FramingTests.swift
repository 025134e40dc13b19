import GatewayLogging
import Glibc
import TestSupport
import Testing

@testable import HTTPServerKit

/// Raw-socket tests: every framing rejection answers its status as problem+json and closes the connection.
@Suite struct FramingTests {
    @Test(arguments: ParserCorpus.rejections.map { $0.name })
    func rejectsAndCloses(_ name: String) async throws {
        let entry = ParserCorpus.rejections.first { $0.name == name }!
        let status = HTTPParseError(entry.reason).status
        try await withTestServer { server in
            let port = server.boundPort
            let (response, closed) = try await offPool {
                let client = try RawClient(port: port)
                try client.send(entry.raw)
                let response = try client.readResponse()
                return (response, client.isClosedByPeer())
            }
            #expect(response.status == status, "\(name)")
            #expect(response.header("Content-Type") == "application/problem+json")
            #expect(response.header("Connection") == "close")
            #expect(response.text.contains("\"status\":\(status)"))
            #expect(closed, "\(name): connection must be closed after the error")
        }
    }

    @Test func smuggledSecondRequestIsNeverAnswered() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (first, closed, rest) = try await offPool {
                let client = try RawClient(port: port)
                // A front end honouring Content-Length would see one request; we must refuse, not see two.
                try client.send(
                    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n"
                )
                let first = try client.readResponse()
                let closed = client.isClosedByPeer()
                return (first, closed, client.received.count)
            }
            #expect(first.status == 400)
            #expect(closed)
            #expect(rest == 0)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let responses = try await offPool {
                let client = try RawClient(port: port)
                try client.send(
                    "GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\npingGET /items/3 HTTP/1.1\r\nHost: a\r\n\r\n"
                )
                return try (0..<3).map { _ in try client.readResponse() }
            }
            #expect(responses.map(\.text) == ["item 1", "ping", "item 3"])
        }
    }

    @Test func keepAliveReusesTheConnection() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (a, b, open, c, closed) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                let a = try client.readResponse()
                try client.send("GET /items/x%20y HTTP/1.1\r\nHost: a\r\n\r\n")
                let b = try client.readResponse()
                let open = client.staysOpen()
                try client.send("GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                let c = try client.readResponse()
                return (a, b, open, c, client.isClosedByPeer())
            }
            #expect(a.status == 200 && a.text == "hello")
            #expect(a.header("Connection") == nil)
            #expect(a.header("Date") != nil)
            #expect(a.header("Content-Length") == "5")
            #expect(b.text == "item x y")
            #expect(open)
            #expect(c.header("Connection") == "close")
            #expect(closed)
        }
    }

    @Test func http10ClosesUnlessKeepAlive() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (a, closed, b, open) = try await offPool {
                let one = try RawClient(port: port)
                try one.send("GET /hello HTTP/1.0\r\n\r\n")
                let a = try one.readResponse()
                let closed = one.isClosedByPeer()
                let two = try RawClient(port: port)
                try two.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                let b = try two.readResponse()
                return (a, closed, b, two.staysOpen())
            }
            #expect(a.status == 200 && closed)
            #expect(b.header("Connection") == "keep-alive" && open)
        }
    }

    @Test func expectContinueGetsAnInterimResponse() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (interim, final) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
                let interim = try client.readResponse()
                try client.send("hello")
                return (interim, try client.readResponse())
            }
            #expect(interim.status == 100)
            #expect(final.status == 200 && final.text == "hello")
        }
    }

    @Test func expectContinueWithTooLargeBodyIsRefusedWithoutReadingIt() async throws {
        try await withTestServer(configuration: .with { $0.limits = HTTPLimits(maxBodyBytes: 10) }) { server in
            let port = server.boundPort
            let (response, closed) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n")
                return (try client.readResponse(), client.isClosedByPeer())
            }
            #expect(response.status == 413)
            #expect(closed)
        }
    }

    @Test func headHasHeadersButNoBody() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (head, next) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\nGET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                return (try client.readResponse(head: true), try client.readResponse())
            }
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5")
            #expect(head.body.isEmpty)
            #expect(next.text == "hello", "the next response starts right after the HEAD response's headers")
        }
    }

    @Test func chunkedBodyReachesTheHandler() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let response = try await offPool {
                let client = try RawClient(port: port)
                try client.send(
                    "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n"
                )
                return try client.readResponse()
            }
            #expect(response.text == "wikipedia")
        }
    }

    @Test func optionsAsteriskAndTraceAreAnsweredSensibly() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (options, trace) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\nTRACE /hello HTTP/1.1\r\nHost: a\r\n\r\n")
                return (try client.readResponse(), try client.readResponse())
            }
            #expect(options.status == 200 && options.header("Allow") != nil)
            #expect(trace.status == 405)
            #expect(trace.header("Allow") == "GET, HEAD")
        }
    }

    // MARK: - Limits through the server (N accepted, N + 1 refused)

    func exchange(_ port: Int, _ raw: String) async throws -> (ParsedResponse, Bool) {
        try await offPool {
            let client = try RawClient(port: port)
            try client.send(raw)
            let response = try client.readResponse()
            return (response, response.status >= 400 ? client.isClosedByPeer() : client.staysOpen())
        }
    }

    @Test func requestLineLimit() async throws {
        try await withTestServer { server in
            let target = { (n: Int) in "/hello?" + String(repeating: "a", count: n - "GET /hello? HTTP/1.1".utf8.count)
            }
            let ok = try await exchange(server.boundPort, "GET \(target(8192)) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(ok.0.status == 200 && ok.1)
            let refused = try await exchange(server.boundPort, "GET \(target(8193)) HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(refused.0.status == 414 && refused.1)
        }
    }

    @Test func headerSectionLimit() async throws {
        try await withTestServer { server in
            // "Host: a\r\n" is 9 bytes; "X: <v>\r\n" is 5 + v.
            let request = { (total: Int) in
                "GET /hello HTTP/1.1\r\nHost: a\r\nX: \(String(repeating: "v", count: total - 14))\r\n\r\n"
            }
            let ok = try await exchange(server.boundPort, request(32768))
            #expect(ok.0.status == 200 && ok.1)
            let refused = try await exchange(server.boundPort, request(32769))
            #expect(refused.0.status == 431 && refused.1)
        }
    }

    @Test func headerCountLimit() async throws {
        try await withTestServer { server in
            let request = { (n: Int) in
                "GET /hello HTTP/1.1\r\nHost: a\r\n" + (1..<n).map { "X-\($0): v\r\n" }.joined() + "\r\n"
            }
            let ok = try await exchange(server.boundPort, request(100))
            #expect(ok.0.status == 200 && ok.1)
            let refused = try await exchange(server.boundPort, request(101))
            #expect(refused.0.status == 431 && refused.1)
        }
    }

    @Test func bodyLimit() async throws {
        try await withTestServer { server in
            let body = String(repeating: "b", count: 1 << 20)
            let ok = try await exchange(
                server.boundPort, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(1 << 20)\r\n\r\n\(body)")
            #expect(ok.0.status == 200 && ok.0.body.count == 1 << 20 && ok.1)
            // Refused from the head alone: the body is never sent.
            let refused = try await exchange(
                server.boundPort, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \((1 << 20) + 1)\r\n\r\n")
            #expect(refused.0.status == 413 && refused.1)
        }
    }
}

@Suite struct HalfCloseTests {
    @Test func requestsSentBeforeAHalfCloseAreAnswered() async throws {
        try await withTestServer { server in
            let port = server.boundPort
            let (a, b, closed) = try await offPool {
                let client = try RawClient(port: port)
                try client.send("GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: a\r\n\r\n")
                shutdown(client.fd, Int32(SHUT_WR))
                return (try client.readResponse(), try client.readResponse(), client.isClosedByPeer())
            }
            #expect(a.text == "item 1" && b.text == "item 2")
            #expect(closed)
        }
    }
}
