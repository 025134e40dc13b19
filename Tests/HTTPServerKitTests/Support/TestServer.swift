import GatewayLogging
import Synchronization
import TestSupport

@testable import HTTPServerKit

/// Runs an `HTTPServer` on 127.0.0.1:0 for the duration of `body`, then shuts it down and waits for `run()`.
func withTestServer<T: Sendable>(
    configuration: HTTPServer.Configuration = HTTPServer.Configuration(),
    logSink: CapturingLogSink = CapturingLogSink(),
    metrics: MetricsRegistry = MetricsRegistry(),
    routes: (inout Router.Builder, ServerLifecycle) -> Void = standardRoutes,
    _ body: (HTTPServer) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.host = "127.0.0.1"
    configuration.port = 0
    let lifecycle = ServerLifecycle()
    var builder = Router.Builder()
    routes(&builder, lifecycle)
    let server = try HTTPServer(
        configuration: configuration, handler: builder.build(),
        logger: Logger(label: "test.http", level: .debug, sink: logSink), metrics: metrics, lifecycle: lifecycle)
    async let running: Void = server.run()
    do {
        let result = try await body(server)
        server.shutdown(gracePeriod: .seconds(2))
        await running
        return result
    } catch {
        server.shutdown(gracePeriod: .seconds(2))
        await running
        throw error
    }
}

extension HTTPServer.Configuration {
    /// The defaults with `change` applied: a test sets the field it is about.
    static func with(_ change: (inout Self) -> Void) -> Self {
        var configuration = Self()
        change(&configuration)
        return configuration
    }
}

/// `/health`-like echo routes used by most tests.
func standardRoutes(_ builder: inout Router.Builder, _ lifecycle: ServerLifecycle) {
    builder.add(.get, "/hello") { _, _ in .text(200, "hello") }
    builder.add(.post, "/echo") { request, _ in HTTPResponse(status: 200, body: request.body) }
    builder.add(.get, "/items/{id}") { request, _ in .text(200, "item " + (request.pathParameters["id"] ?? "?")) }
    builder.add(.get, "/query") { request, _ in .text(200, request.query.first { $0.name == "q" }?.value ?? "-") }
    builder.add(.get, "/fail") { _, _ in throw UnexpectedTestError() }
    builder.add(.get, "/problem") { _, _ in
        throw Problem(status: 422, type: "/problems/test", title: "Test", detail: "refused")
    }
    builder.add(.get, "/peer") { request, _ in
        .text(
            200,
            request.peerCertificateDER.map { "cert \($0.count) chain \(request.peerCertificateChainDER.count)" }
                ?? "no cert")
    }
}

struct UnexpectedTestError: Error {}
