// A tiny server for HTTPServerKit's graceful-shutdown test: it runs the real HTTPServer in its own process so the
// test can send SIGTERM. Protocol on stdout: `port N` once listening, `in-flight` when /slow starts, `exited` last.
import GatewayLogging
import HTTPServerKit

#if canImport(Glibc)
import Glibc
#endif

func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    _ = write(1, &bytes, bytes.count)
}

let logger = Logger(label: "http-test-server", level: .error)
var routes = Router.Builder()
routes.add(.get, "/hello") { _, _ in .text(200, "hello") }
routes.add(.get, "/slow") { _, _ in
    say("in-flight")
    try await Task.sleep(for: .milliseconds(1500))
    return .text(200, "slow done")
}
let server = try HTTPServer(
    configuration: .init(host: "127.0.0.1", port: 0), handler: routes.build(), logger: logger)
say("port \(server.boundPort)")
await server.run(untilSignals: [SIGTERM, SIGINT], gracePeriod: .seconds(10))
say("exited")
exit(0)
