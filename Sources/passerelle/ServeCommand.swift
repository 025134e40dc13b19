import GatewayApp
import GatewayLogging
import HTTPServerKit

#if canImport(Glibc)
import Glibc
#endif

/// `passerelle serve`: listens at once (so `/health` answers), then waits for the database and migrates while
/// `/ready` says 503; SIGTERM/SIGINT drain in-flight requests for the grace period and exit 0.
enum ServeCommand {
    static func run(arguments: [String]) async -> Int32 {
        guard let config = CommandLineTool.loadConfig(requireMasterKey: true) else { return 78 }
        MallocTuning.startTrimming()
        let logger = Logger(label: "passerelle", level: config.logLevel)
        let app: Application
        let server: HTTPServer
        let opsServer: HTTPServer?
        do {
            app = try Application(config: config, logger: logger, makeAdapters: Application.standardAdapters(activationCalendar: config.bpceActivationCalendar))
            server = try app.makeServer()
            opsServer = try app.makeOperationsServer()
        } catch {
            logger.error("cannot start", metadata: ["error": "\(error)"])
            return 1
        }
        app.metrics.counter(
            "passerelle_log_lines_dropped_total", help: "Log lines dropped because stdout did not keep up."
        ) { BufferedLogWriter.standardOutput.droppedLines }
        var listening = ["http.host": config.http.host, "http.port": "\(server.boundPort)",
                         "version": PasserelleVersion.current]
        if let opsServer { listening["ops.port"] = "\(opsServer.boundPort)" }
        logger.info("listening", metadata: listening)
        enum Outcome: Sendable { case prepared(ok: Bool), serverStopped, backgroundStopped, opsStopped }
        let failed = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                do {
                    try await app.prepare()
                    logger.info("ready")
                    return .prepared(ok: true)
                } catch {
                    if !Task.isCancelled {
                        logger.error("database preparation failed; shutting down", metadata: ["error": "\(error)"])
                        server.shutdown(gracePeriod: .zero)
                    }
                    return .prepared(ok: false)
                }
            }
            group.addTask {
                await app.runBackground()
                return .backgroundStopped
            }
            if let opsServer {
                group.addTask {
                    await opsServer.run()  // cancelled (closed at once) when the API server has stopped
                    return .opsStopped
                }
            }
            group.addTask {
                await server.run(
                    untilSignals: [SIGTERM, SIGINT],
                    gracePeriod: .milliseconds(Int(config.http.shutdownGraceSeconds * 1000)))
                return .serverStopped
            }
            var failed = false
            for await outcome in group {
                switch outcome {
                case .prepared(let ok): failed = !ok
                case .serverStopped: group.cancelAll()  // stops the background work and any start-up database wait
                case .backgroundStopped, .opsStopped: break
                }
            }
            return failed
        }
        await app.shutdown()
        logger.info("stopped")
        BufferedLogWriter.standardOutput.flush()  // exit() flushes too (atexit); this is the graceful path's
        return failed ? 1 : 0
    }
}
