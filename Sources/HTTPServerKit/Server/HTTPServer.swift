import GatewayLogging
import Reactor
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Our HTTP/1.1 server: one event loop per reactor (epoll on a dedicated thread; `Configuration.reactors`); each
/// request's handler is a task started by its loop where `Configuration.handlerPlacement` says (the cooperative
/// pool by default, or the loop's own reactor), awaited by `run()`.
///
/// ```swift
/// let lifecycle = ServerLifecycle()
/// var routes = Router.Builder()
/// OperationsRoutes.add(to: &routes, lifecycle: lifecycle, metrics: metrics) { .ready }
/// let server = try HTTPServer(configuration: .init(port: 8080), handler: routes.build(), logger: logger,
///                             metrics: metrics, lifecycle: lifecycle)
/// try await server.run(untilSignals: [SIGTERM, SIGINT], gracePeriod: .seconds(20))
/// ```
/// Every request passes the built-in middleware: request id, error mapping to problem+json, access log, metrics.
public final class HTTPServer: Sendable {
    /// The port actually bound (useful with port 0).
    public let boundPort: Int
    /// Draining state shared with `/ready`.
    public let lifecycle: ServerLifecycle
    private let loops: [EventLoop]
    /// The reactors the server started itself (stopped when `run` returns); nil when given.
    private let ownReactors: ReactorGroup?
    private let pipeline: MiddlewarePipeline
    private let started = Mutex(false)
    private let handlerPlacement: (@Sendable (RequestHead) -> HandlerPlacement)?

    /// Binds the listener (so `boundPort` is known at once) and prepares TLS. Serving starts with `run()`.
    /// - Throws: `SocketError` when binding fails, `TLSError` when the TLS material is unusable.
    public init(
        configuration: Configuration, handler: any HTTPHandler, logger: Logger,
        metrics: MetricsRegistry = MetricsRegistry(), lifecycle: ServerLifecycle = ServerLifecycle()
    ) throws {
        signal(SIGPIPE, SIG_IGN)  // OpenSSL writes with write(2), not send(MSG_NOSIGNAL)
        let tls = try configuration.tls.map { try TLSContext($0) }
        let fd = try SocketIO.listen(host: configuration.host, port: configuration.port, backlog: configuration.backlog)
        self.boundPort = SocketIO.localPort(fd)
        self.lifecycle = lifecycle
        self.handlerPlacement = configuration.handlerPlacement
        let httpMetrics = HTTPMetrics(metrics)
        let group = configuration.reactors ?? ReactorGroup(name: "http", count: 1)
        self.ownReactors = configuration.reactors == nil ? group : nil
        let shared = EventLoopGroupState()
        let loops = group.reactors.enumerated().map { index, reactor in
            EventLoop(
                reactor: reactor, index: index, listener: index == 0 ? fd : -1, shared: shared,
                configuration: configuration, tlsContext: tls, logger: logger, metrics: httpMetrics,
                lifecycle: lifecycle)
        }
        for loop in loops { loop.siblings = loops }
        self.loops = loops
        self.pipeline = MiddlewarePipeline(handler: handler, logger: logger, metrics: httpMetrics, lifecycle: lifecycle)
    }

    deinit {
        // A server that was never run still has the reactor it started for itself.
        ownReactors?.shutdown()
    }

    /// True once `shutdown` was called: `/ready` answers 503.
    public var isDraining: Bool { lifecycle.isDraining }

    /// Serves until `shutdown(gracePeriod:)` has drained every connection (or the grace period ran out, in which
    /// case unfinished handlers are cancelled). Cancelling the calling task shuts down without a grace period.
    /// Call once.
    public func run() async {
        let first = started.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        precondition(first, "HTTPServer.run() called twice")
        let handlers = HandlerTasks()
        let pipeline = self.pipeline
        let placement = self.handlerPlacement
        for loop in loops {
            let reactor = loop.reactor
            loop.start { job in
                let executor: (any TaskExecutor)?
                switch placement?(job.head) ?? .pool {
                case .pool: executor = nil
                case .eventLoop: executor = reactor
                case .executor(let given): executor = given
                }
                handlers.start(on: executor) {
                    loop.complete(await pipeline.respond(to: job))
                }
            }
        }
        // Cancelling the task running `run()` closes everything at once rather than leave the event loops serving.
        let loops = self.loops
        await withTaskCancellationHandler {
            for loop in loops { await loop.waitUntilStopped() }
        } onCancel: {
            self.shutdown(gracePeriod: .zero)
        }
        // Every connection is closed; handlers still running are cut short when the grace period ran out.
        await handlers.waitForAll(cancelling: loops.contains { $0.forcedShutdown })
        if let ownReactors {
            ownReactors.shutdown()
            await ownReactors.waitUntilStopped()
        }
    }

    /// Starts a graceful shutdown: `/ready` turns 503, the listener closes, idle keep-alive connections close,
    /// in-flight requests get `gracePeriod` to finish (their responses carry `Connection: close`). `run()` returns
    /// when done. Safe to call from any thread, more than once.
    public func shutdown(gracePeriod: Duration = .seconds(20)) {
        lifecycle.startDraining()
        for loop in loops { loop.requestShutdown(grace: gracePeriod) }
    }

    /// Runs until one of `signals` arrives, then shuts down gracefully and returns once drained.
    public func run(untilSignals signals: [Int32], gracePeriod: Duration) async {
        // Before the first connection is accepted: a flood of them must not leave the process deaf to SIGTERM.
        SignalHandling.install(signals)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.run()
                return true
            }
            group.addTask {
                if await SignalHandling.wait(for: signals) != nil { self.shutdown(gracePeriod: gracePeriod) }
                return false
            }
            // Only the end of run() ends this: the signal task merely starts the shutdown.
            while let finished = await group.next() {
                if finished { break }
            }
            group.cancelAll()
        }
    }
}

/// The handler tasks in progress, so that `run()` can wait for them (and cancel them after a forced shutdown).
///
/// Unstructured tasks rather than a task group: the event loop's thread starts each one directly on its executor,
/// where a task group's child would first need a task on the cooperative pool to add it (one more thread
/// wake-up per request). The task is created outside the lock: creating it wakes a pool thread (a futex call),
/// and a short handler (`/health`) then finished and wanted the lock while its creator still held it — threads
/// spinning in `Mutex` took a third of the CPU under load. A task that ends before its creator registers it leaves
/// its id in `finishedEarly`, and is then not registered at all.
final class HandlerTasks: Sendable {
    private struct State {
        var next: UInt64 = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
        var finishedEarly: Set<UInt64> = []
    }
    private let state = Mutex(State())

    func start(on executor: (any TaskExecutor)?, _ body: @escaping @Sendable () async -> Void) {
        let id = state.withLock { state in
            defer { state.next &+= 1 }
            return state.next
        }
        let task = Task(executorPreference: executor) {
            await body()
            self.state.withLock { state in
                if state.tasks.removeValue(forKey: id) == nil { state.finishedEarly.insert(id) }
            }
        }
        state.withLock { state in
            if state.finishedEarly.remove(id) == nil { state.tasks[id] = task }
        }
    }

    /// Returns when no handler task is left (`cancelling`: cancel them first).
    func waitForAll(cancelling: Bool) async {
        while true {
            let tasks = state.withLock { Array($0.tasks.values) }
            if tasks.isEmpty { return }
            if cancelling { tasks.forEach { $0.cancel() } }
            for task in tasks { await task.value }
        }
    }
}
