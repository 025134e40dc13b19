// A tiny server around HTTPServerKit, for the graceful-shutdown and descriptor-exhaustion tests (a real process
// receiving SIGTERM, under `ulimit -n`). Protocol on stdout: `port N` once listening, `in-flight` when /slow starts, `exited` last.
// Environment: HTTP_TEST_PORT (default 0), HTTP_TEST_LOG_LEVEL (default error; `info` writes the access log).
import GatewayLogging
import HTTPServerKit

#if canImport(Glibc)
    import Glibc
#endif

func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = write(1, &bytes, bytes.count)
}

func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

let logger = Logger(
    label: "http-test-server", level: environment("HTTP_TEST_LOG_LEVEL").flatMap(Logger.Level.init(name:)) ?? .error)
let metrics = MetricsRegistry()
let lifecycle = ServerLifecycle()
var routes = Router.Builder()
OperationsRoutes.add(to: &routes, lifecycle: lifecycle, metrics: metrics)
routes.add(.get, "/hello") { _, _ in .text(200, "hello") }
routes.add(.get, "/slow") { _, _ in
    say("in-flight")
    try await Task.sleep(for: .milliseconds(1500))
    return .text(200, "slow done")
}
let server = try HTTPServer(
    configuration: .init(host: "127.0.0.1", port: environment("HTTP_TEST_PORT").flatMap { Int($0) } ?? 0),
    handler: routes.build(), logger: logger, metrics: metrics, lifecycle: lifecycle)
say("port \(server.boundPort)")
await server.run(untilSignals: [SIGTERM, SIGINT], gracePeriod: .seconds(10))
say("exited")
exit(0)
