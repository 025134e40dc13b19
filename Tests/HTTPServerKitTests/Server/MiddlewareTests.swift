import GatewayLogging
import TestSupport
import Testing

@testable import HTTPServerKit

/// Request id, error mapping, access log and metrics, through a live server.
@Suite struct MiddlewareTests {
    func get(_ port: Int, _ raw: String) async throws -> ParsedResponse {
        try await offPool {
            let client = try RawClient(port: port)
            try client.send(raw)
            return try client.readResponse()
        }
    }

    @Test func unknownPathIsA404Problem() async throws {
        try await withTestServer { server in
            let r = try await get(server.boundPort, "GET /nope HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-123\r\n\r\n")
            #expect(r.status == 404)
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(r.header("X-Request-Id") == "abc-123")
            #expect(r.text.contains("\"type\":\"/problems/not-found\""))
            #expect(r.text.contains("\"instance\":\"/nope\""))
            #expect(r.text.contains("\"requestId\":\"abc-123\""))
        }
    }

    @Test func wrongMethodIsA405ProblemWithAllow() async throws {
        try await withTestServer { server in
            let r = try await get(server.boundPort, "DELETE /echo HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(r.status == 405)
            #expect(r.header("Allow") == "POST")
            #expect(r.text.contains("/problems/method-not-allowed"))
        }
    }

    @Test func unknownErrorIsAGeneric500LoggedOnce() async throws {
        let sink = CapturingLogSink()
        try await withTestServer(logSink: sink) { server in
            let r = try await get(server.boundPort, "GET /fail HTTP/1.1\r\nHost: a\r\nX-Request-Id: req-500\r\n\r\n")
            #expect(r.status == 500)
            #expect(r.text.contains("\"requestId\":\"req-500\""))
            #expect(!r.text.contains("UnexpectedTestError"), "no internals in the response")
            #expect(r.text.hasPrefix("{\"type\":\"/problems/internal\",\"title\":\"Internal error\""))
        }
        let errors = sink.captured.filter { $0.contains("\"level\":\"error\"") }
        #expect(errors.count == 1)
        #expect(errors.first?.contains("\"request.id\":\"req-500\"") == true)
    }

    @Test func problemConvertibleErrorsKeepTheirShape() async throws {
        try await withTestServer { server in
            let r = try await get(server.boundPort, "GET /problem HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(r.status == 422)
            #expect(
                r.text.hasPrefix(
                    "{\"type\":\"/problems/test\",\"title\":\"Test\",\"status\":422,\"detail\":\"refused\""))
        }
    }

    @Test func insaneRequestIDIsReplacedByAUUID() async throws {
        try await withTestServer { server in
            let long = String(repeating: "a", count: 201)
            let r1 = try await get(server.boundPort, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Request-Id: \(long)\r\n\r\n")
            let r2 = try await get(server.boundPort, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b<c>\r\n\r\n")
            let r3 = try await get(server.boundPort, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            for r in [r1, r2, r3] {
                let id = r.header("X-Request-Id") ?? ""
                #expect(id.count == 36 && id.split(separator: "-").count == 5 && Array(id)[14] == "4", "\(id)")
            }
            let ok = String(repeating: "a", count: 200)
            let r4 = try await get(server.boundPort, "GET /hello HTTP/1.1\r\nHost: a\r\nX-Request-Id: \(ok)\r\n\r\n")
            #expect(r4.header("X-Request-Id") == ok)
        }
    }

    @Test func accessLogHasOneJSONLinePerRequestWithTheTemplate() async throws {
        let sink = CapturingLogSink()
        try await withTestServer(logSink: sink) { server in
            _ = try await get(
                server.boundPort, "GET /items/secret-id-42 HTTP/1.1\r\nHost: a\r\nX-Request-Id: log-1\r\n\r\n")
            _ = try await get(server.boundPort, "GET /unknown HTTP/1.1\r\nHost: a\r\nX-Request-Id: log-2\r\n\r\n")
        }
        let lines = sink.captured.filter { $0.contains("\"message\":\"request\"") }
        #expect(lines.count == 2)
        let first = lines.first { $0.contains("log-1") } ?? ""
        #expect(first.contains("\"http.route\":\"/items/{id}\""))
        #expect(first.contains("\"http.method\":\"GET\""))
        #expect(first.contains("\"http.status\":\"200\""))
        #expect(first.contains("\"duration.ms\":"))
        #expect(!first.contains("secret-id-42"), "identifiers never reach the access log")
        #expect(lines.contains { $0.contains("log-2") && $0.contains("\"http.route\":\"unmatched\"") })
    }

    @Test func metricsCountRequestsByTemplateAndStatusClass() async throws {
        let metrics = MetricsRegistry()
        try await withTestServer(metrics: metrics) { server in
            _ = try await get(server.boundPort, "GET /items/1 HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try await get(server.boundPort, "GET /items/2 HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try await get(server.boundPort, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n")
        }
        let text = metrics.render()
        #expect(text.contains("http_requests_total{method=\"GET\",route=\"/items/{id}\",status=\"2xx\"} 2"))
        #expect(text.contains("http_requests_total{method=\"GET\",route=\"unmatched\",status=\"4xx\"} 1"))
        #expect(text.contains("http_request_duration_seconds_count{method=\"GET\",route=\"/items/{id}\"} 2"))
        #expect(text.contains("http_inflight_requests 0"))
        #expect(text.contains("# TYPE http_open_connections gauge"))
    }
}

@Suite struct ProblemTests {
    @Test func encodesRFC9457MembersAndExtensions() {
        let p = Problem(
            status: 400, detail: "bad \"x\"", instance: "/v1/x", requestID: "r1",
            extensions: ["errors": "[{\"field\":\"a\",\"message\":\"b\"}]"])
        #expect(
            p.json
                == "{\"type\":\"/problems/bad-request\",\"title\":\"Bad request\",\"status\":400,\"detail\":\"bad \\\"x\\\"\",\"instance\":\"/v1/x\",\"requestId\":\"r1\",\"errors\":[{\"field\":\"a\",\"message\":\"b\"}]}"
        )
        #expect(p.response.headers["Content-Type"] == "application/problem+json")
    }

    @Test func defaultTitlesAreSentenceCase() {
        #expect(Problem(status: 431).title == "Request header fields too large")
        #expect(Problem(status: 505).title == "HTTP version not supported")
        #expect(Problem(status: 414).type == "/problems/uri-too-long")
    }

    @Test func parseErrorsMapToTheirStatuses() {
        #expect(HTTPParseError(.requestLineTooLong).status == 414)
        #expect(HTTPParseError(.tooManyHeaderFields).status == 431)
        #expect(HTTPParseError(.bodyTooLarge).status == 413)
        #expect(HTTPParseError(.unsupportedTransferEncoding).status == 501)
        #expect(HTTPParseError(.unsupportedVersion).status == 505)
        #expect(
            HTTPParseError(.obsoleteLineFolding).problem(instance: "/", requestID: "r").type == "/problems/bad-request")
        #expect(
            HTTPParseError(.bodyTooLarge).problem(instance: "/", requestID: "r").type == "/problems/payload-too-large")
    }
}

@Suite struct MetricsRegistryTests {
    @Test func rendersPrometheusTextFormat() {
        let registry = MetricsRegistry()
        let c = registry.counter("jobs_total", help: "Jobs.")
        c.increment(["kind": "a\"b"])
        c.increment(["kind": "a\"b"], by: 2)
        let g = registry.gauge("queue_depth", help: "Depth.")
        g.set(4)
        let h = registry.histogram("latency_seconds", help: "Latency.", buckets: [0.1, 1])
        h.observe(0.05)
        h.observe(0.5)
        h.observe(3)
        #expect(registry.counter("jobs_total", help: "Jobs.") === c, "registering twice returns the family")
        let text = registry.render()
        #expect(text.contains("# TYPE jobs_total counter\njobs_total{kind=\"a\\\"b\"} 3\n"))
        #expect(text.contains("queue_depth 4\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"0.1\"} 1\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"1.0\"} 2\n"))
        #expect(text.contains("latency_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("latency_seconds_count 3\n"))
    }
}
