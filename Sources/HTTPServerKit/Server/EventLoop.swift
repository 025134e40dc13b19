internal import CShims
import GatewayLogging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A complete request handed from the event loop to the handler tasks.
struct RequestJob: Sendable {
    let connectionID: UInt64
    let fd: Int32
    let head: RequestHead
    let body: [UInt8]
    let peerCertificate: [UInt8]?
    let peerCertificateChain: [[UInt8]]
    let remoteAddress: String
}

/// An encoded response handed back to the event loop.
struct ResponseCompletion: Sendable {
    let connectionID: UInt64
    let fd: Int32
    let bytes: [UInt8]
    let close: Bool
}

/// The I/O side of the server: one dedicated thread running epoll over the listener and every connection.
///
/// Why a dedicated thread and not tasks: `epoll_wait` blocks, and Swift's cooperative pool has one thread per
/// core (two here), so a blocking wait there would stall every handler. This thread only does non-blocking
/// syscalls and parsing; each complete request is handed to `dispatch`, which starts its handler task directly on
/// the executor that will run it (no intermediate hop through the cooperative pool), and encoded responses come
/// back through a mutex-guarded inbox plus an eventfd wake-up (one wake-up per batch). This is the NIO/nginx
/// shape: one loop owns the sockets, no locks on the hot per-connection state.
///
/// Everything but `inbox` is touched only by the loop thread, hence `@unchecked Sendable`.
final class EventLoop: @unchecked Sendable {
    struct Inbox {
        var completions: [ResponseCompletion] = []
        var wakePending = false
        var shutdownGrace: Duration?
    }

    private let inbox = Mutex<Inbox>(Inbox())
    private let stopped = Mutex<(done: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private let poller: Poller
    private let configuration: HTTPServer.Configuration
    private let tlsContext: TLSContext?
    private let logger: Logger
    private let metrics: HTTPMetrics
    private let lifecycle: ServerLifecycle
    private var listener: Int32
    private var listenerPaused = false
    /// When a listener paused for lack of resources is watched again (0: paused for back-pressure only).
    private var listenerResumeAt: UInt64 = 0
    private var connections: [Int32: Connection] = [:]
    private var nextID: UInt64 = 1
    private var drainDeadline: UInt64 = 0
    private(set) var forcedShutdown = false
    /// Requests completed during this loop iteration, dispatched once every ready socket has been read.
    private var pendingJobs: [RequestJob] = []
    private var scratch = [UInt8](repeating: 0, count: 65536)

    init(
        listener: Int32, configuration: HTTPServer.Configuration, tlsContext: TLSContext?, logger: Logger,
        metrics: HTTPMetrics, lifecycle: ServerLifecycle
    ) throws(SocketError) {
        self.listener = listener
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        self.metrics = metrics
        self.lifecycle = lifecycle
        self.poller = try Poller()
    }

    deinit {
        // A server that was never run still owns its listening socket.
        if listener >= 0 { Glibc.close(listener) }
    }

    // MARK: - Called from other threads

    /// Queues a response for its connection and wakes the loop if needed.
    func complete(_ completion: ResponseCompletion) {
        let wake = inbox.withLock { box -> Bool in
            box.completions.append(completion)
            if box.wakePending { return false }
            box.wakePending = true
            return true
        }
        if wake { poller.wake() }
    }

    /// Starts draining: stop accepting, close idle connections, finish in-flight ones within `grace`.
    func requestShutdown(grace: Duration) {
        inbox.withLock { $0.shutdownGrace = grace }
        poller.wake()
    }

    // MARK: - The loop

    /// Runs on the calling (dedicated) thread until drained, handing every complete request to `dispatch`
    /// (called on this thread; it must not block).
    func run(dispatch: (RequestJob) -> Void) {
        poller.add(listener, events: Poller.readable)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var nextTimerScan: UInt64 = 0
        while true {
            poller.wait(timeoutMS: 100, into: &events) { fd, ev in handle(fd: fd, events: ev) }
            if !pendingJobs.isEmpty {
                for job in pendingJobs { dispatch(job) }
                pendingJobs.removeAll(keepingCapacity: true)
            }
            let now = Self.now()
            if now >= nextTimerScan {
                scanDeadlines(now)
                nextTimerScan = now + 100_000_000
            }
            if lifecycle.isDraining {
                if connections.isEmpty { break }
                if now >= drainDeadline {
                    forcedShutdown = true
                    logger.warning("grace period over; closing \(connections.count) connection(s)")
                    for c in Array(connections.values) { close(c) }
                    break
                }
            }
        }
        if listener >= 0 {
            poller.remove(listener)
            Glibc.close(listener)
            listener = -1
        }
        let waiters = stopped.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.done = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once `run` has closed the listener and every connection (callable from any task).
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = stopped.withLock { state -> Bool in
                if state.done { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func handle(fd: Int32, events: UInt32) {
        if fd == poller.wakeFD {
            poller.drainWake()
            takeInbox()
            return
        }
        if fd == listener {
            acceptConnections()
            return
        }
        guard let c = connections[fd] else { return }
        if events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0 {
            close(c)
            return
        }
        switch c.phase {
        case .handshake: advanceHandshake(c)
        case .lingering: drainLingering(c)
        case .reading:
            if events & Poller.writable != 0 || c.tlsWantsWrite { flush(c) }
            if connections[fd] === c, c.phase == .reading, events & Poller.readable != 0 { readAndProcess(c) }
        case .writing, .awaitingHandler:
            flush(c)
        }
        if connections[fd] === c { updateInterest(c) }
    }

    private func takeInbox() {
        let (completions, grace) = inbox.withLock { box -> ([ResponseCompletion], Duration?) in
            let taken = box.completions
            box.completions.removeAll(keepingCapacity: true)
            box.wakePending = false
            let grace = box.shutdownGrace
            box.shutdownGrace = nil
            return (taken, grace)
        }
        for completion in completions {
            guard let c = connections[completion.fd], c.id == completion.connectionID, c.phase == .awaitingHandler
            else { continue }
            c.output += completion.bytes
            c.closeAfterWrite = completion.close || lifecycle.isDraining
            c.phase = .writing
            c.requestsServed += 1
            flush(c)
            if connections[completion.fd] === c { updateInterest(c) }
        }
        if let grace { beginDrain(grace) }
    }

    // MARK: - Accept

    private func acceptConnections() {
        while connections.count < configuration.maxConnections {
            guard let (fd, address) = SocketIO.accept(listener) else {
                let e = errno
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // Out of descriptors or memory: the pending connection stays readable on a level-triggered
                    // listener, so stop watching it for a moment instead of spinning (nginx does the same).
                    logger.warning("accept failed; pausing the listener", metadata: ["errno": "\(e)"])
                    listenerPaused = true
                    listenerResumeAt = Self.now() + 100_000_000
                    poller.modify(listener, events: 0)
                }
                break
            }
            var session: TLSSession?
            if let tlsContext {
                session = TLSSession(context: tlsContext, fd: fd)
                if session == nil {
                    Glibc.close(fd)
                    continue
                }
            }
            let c = Connection(id: nextID, fd: fd, remoteAddress: address, tls: session, limits: configuration.limits)
            nextID += 1
            c.deadline = Self.now() + configuration.headerTimeout.nanoseconds
            connections[fd] = c
            metrics.openConnections.add(1)
            c.interest = Poller.readable
            poller.add(fd, events: c.interest)
        }
        if connections.count >= configuration.maxConnections && !listenerPaused {
            // Back-pressure: leave further connections in the kernel backlog until one closes.
            listenerPaused = true
            poller.modify(listener, events: 0)
        }
    }

    // MARK: - TLS handshake

    private func advanceHandshake(_ c: Connection) {
        guard let tls = c.tls else { return }
        c.tlsWantsWrite = false
        switch tls.handshake() {
        case .done:
            c.peerCertificate = tls.peerCertificateDER()
            c.peerCertificateChain = tls.verifiedChainDER()
            c.phase = .reading
            readAndProcess(c)
        case .wantRead: break
        case .wantWrite: c.tlsWantsWrite = true
        case .closed, .failed:
            logger.debug("TLS handshake failed", metadata: ["net.peer": c.remoteAddress])
            close(c)
        }
    }

    // MARK: - Reading and parsing

    private func readAndProcess(_ c: Connection) {
        // TLS may hold decrypted records beyond one read: keep reading until it would block. At most 8 × 64 KiB
        // per event, and nothing more until the current request is answered, so buffering stays bounded.
        var reads = 0
        while reads < 8 {
            reads += 1
            let result = scratch.withUnsafeMutableBytes { c.read(into: $0) }
            switch result {
            case .bytes(let n):
                scratch.withUnsafeBytes { c.parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                if c.tls == nil && n < scratch.count { reads = 8 }
            case .wouldBlock:
                reads = 8
            case .closed:
                // The client finished sending (half-close): answer what it sent, then close.
                c.inputClosed = true
                reads = 8
            case .failed:
                close(c)
                return
            }
        }
        process(c)
        if c.inputClosed && c.phase == .reading && connections[c.fd] === c { close(c) }
    }

    /// Parses buffered bytes: dispatches a complete request, or answers a parse error and closes.
    private func process(_ c: Connection) {
        while c.phase == .reading {
            let event: RequestParser.Event
            do {
                event = try c.parser.next()
            } catch {
                fail(c, error)
                return
            }
            switch event {
            case .needMoreData:
                if !c.requestStarted && !c.parser.isIdle {
                    c.requestStarted = true
                    c.deadline = Self.now() + configuration.headerTimeout.nanoseconds
                }
                return
            case .head(let head):
                c.head = head
                c.requestStarted = true
                c.deadline = Self.now() + configuration.bodyTimeout.nanoseconds
                if head.expectsContinue && head.framing != .none && c.parser.bufferedByteCount == 0 {
                    // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
                    c.output += Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                    flush(c)
                }
            case .complete(let body):
                guard let head = c.head else { return }
                c.head = nil
                c.requestStarted = false
                c.phase = .awaitingHandler
                c.deadline = Self.now() + configuration.handlerTimeout.nanoseconds
                pendingJobs.append(
                    RequestJob(
                        connectionID: c.id, fd: c.fd, head: head, body: body, peerCertificate: c.peerCertificate,
                        peerCertificateChain: c.peerCertificateChain,
                        remoteAddress: c.remoteAddress))
            }
        }
    }

    /// Answers a parse error with its problem, then closes (never parse past a framing error).
    private func fail(_ c: Connection, _ error: HTTPParseError) {
        metrics.requests.increment(["method": "unknown", "route": "unparsed", "status": "\(error.status / 100)xx"])
        logger.info(
            "request rejected",
            metadata: ["http.status": "\(error.status)", "error": error.reason.rawValue, "net.peer": c.remoteAddress])
        var problem = error.problem(instance: "", requestID: RequestID.generate())
        problem.instance = nil  // the target may be what failed to parse
        respondAndClose(c, problem)
    }

    /// Sends `problem` with `Connection: close`, then closes.
    private func respondAndClose(_ c: Connection, _ problem: Problem) {
        var response = problem.response
        response.headers.set("X-Request-Id", problem.requestID ?? "")
        c.output += ResponseEncoder.encode(response, isHead: false, keepAlive: false, minorVersion: 1)
        c.closeAfterWrite = true
        c.phase = .writing
        flush(c)
    }

    // MARK: - Writing

    private func flush(_ c: Connection) {
        while c.outputOffset < c.output.count {
            let result = c.output.withUnsafeBytes {
                c.write(UnsafeRawBufferPointer(rebasing: $0[c.outputOffset...]))
            }
            switch result {
            case .bytes(let n):
                c.outputOffset += n
            case .wouldBlock:
                if c.phase == .writing { c.deadline = Self.now() + configuration.writeTimeout.nanoseconds }
                return
            case .closed, .failed:
                close(c)
                return
            }
        }
        c.output.removeAll(keepingCapacity: c.output.capacity <= 65536)
        c.outputOffset = 0
        guard c.phase == .writing else { return }
        if c.closeAfterWrite {
            beginLingeringClose(c)
            return
        }
        c.phase = .reading
        c.deadline = Self.now() + configuration.idleTimeout.nanoseconds
        if lifecycle.isDraining && c.parser.isIdle {
            beginLingeringClose(c)
            return
        }
        process(c)
        if c.inputClosed {
            // Pipelined requests sent before the half-close are still answered; then the connection ends.
            if c.phase == .reading && connections[c.fd] === c { close(c) }
            return
        }
        if c.tls != nil && c.phase == .reading && connections[c.fd] === c {
            readAndProcess(c)  // records already decrypted by OpenSSL raise no epoll event
        }
    }

    // MARK: - Closing

    private func beginLingeringClose(_ c: Connection) {
        c.tls?.shutdown()
        Glibc.shutdown(c.fd, Int32(SHUT_WR))
        c.phase = .lingering
        c.tlsWantsWrite = false
        c.deadline = Self.now() + 2_000_000_000
    }

    private func drainLingering(_ c: Connection) {
        let result = scratch.withUnsafeMutableBytes { SocketIO.read(c.fd, into: $0) }
        switch result {
        case .bytes, .wouldBlock: break
        case .closed, .failed: close(c)
        }
    }

    private func close(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        poller.remove(c.fd)
        Glibc.close(c.fd)
        connections[c.fd] = nil
        metrics.openConnections.add(-1)
        if listenerPaused && listenerResumeAt == 0 && connections.count < configuration.maxConnections
            && listener >= 0
        {
            listenerPaused = false
            poller.modify(listener, events: Poller.readable)
        }
    }

    private func updateInterest(_ c: Connection) {
        let wanted = c.wantedInterest
        if wanted != c.interest {
            c.interest = wanted
            poller.modify(c.fd, events: wanted)
        }
    }

    // MARK: - Timers and shutdown

    private func scanDeadlines(_ now: UInt64) {
        if listenerResumeAt != 0 && now >= listenerResumeAt {
            listenerResumeAt = 0
            if listenerPaused && connections.count < configuration.maxConnections && listener >= 0 {
                listenerPaused = false
                poller.modify(listener, events: Poller.readable)
            }
        }
        for c in Array(connections.values) where c.deadline != 0 && c.deadline <= now {
            switch c.phase {
            case .reading where c.requestStarted && c.outputOffset >= c.output.count:
                fail(c, HTTPParseError(.headerTimeout))
                if connections[c.fd] === c { updateInterest(c) }
            case .awaitingHandler where c.outputOffset >= c.output.count:
                logger.warning("handler timed out; answering 503", metadata: ["net.peer": c.remoteAddress])
                respondAndClose(
                    c,
                    Problem(
                        status: 503, type: "/problems/handler-timeout", title: "Request took too long",
                        detail: "The request took too long to process.", requestID: RequestID.generate()))
                if connections[c.fd] === c { updateInterest(c) }
            default:
                close(c)
            }
        }
    }

    private func beginDrain(_ grace: Duration) {
        guard drainDeadline == 0 else { return }
        lifecycle.startDraining()
        drainDeadline = Self.now() + grace.nanoseconds
        // Stop accepting: closing the listener makes new connection attempts fail at once.
        if listener >= 0 {
            poller.remove(listener)
            Glibc.close(listener)
            listener = -1
        }
        for c in Array(connections.values) {
            switch c.phase {
            case .handshake: close(c)
            case .reading where c.parser.isIdle && c.outputOffset >= c.output.count: close(c)
            default: break
            }
        }
        logger.info("draining", metadata: ["connections": "\(connections.count)"])
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
