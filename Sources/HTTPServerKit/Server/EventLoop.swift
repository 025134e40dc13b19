internal import CShims
import GatewayLogging
import Reactor
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

/// State the event loops of one server share: the connection count behind `maxConnections`, the connections of
/// each peer behind `maxConnectionsPerPeer`, and where the acceptor hands new connections.
final class EventLoopGroupState: Sendable {
    let openConnections = Atomic<Int>(0)
    /// Set while the acceptor's listener is paused for back-pressure (a loop closing a connection then wakes it).
    let listenerPausedForLimit = Atomic<Bool>(false)
    /// Set while the server is full and connections wait in the backlog: a connection that turns idle is then
    /// closed at once instead of kept alive (idle connections are reclaimed first under pressure).
    let connectionsWaiting = Atomic<Bool>(false)
    private let cursor = Atomic<Int>(0)
    private let peers = Mutex<[String: Int]>([:])

    /// Round-robin position for the next accepted connection.
    func nextIndex(of count: Int) -> Int { cursor.add(1, ordering: .relaxed).oldValue % count }

    /// Counts a new connection of `peer`; false, and nothing counted, when the peer already holds `limit`
    /// connections (a `limit` of 0 counts nothing and admits everything).
    func admit(peer: String, limit: Int) -> Bool {
        guard limit > 0 else { return true }
        return peers.withLock { counts in
            let held = counts[peer, default: 0]
            if held >= limit { return false }
            counts[peer] = held + 1
            return true
        }
    }

    /// Forgets one connection of `peer` (admitted under the same `limit`).
    func release(peer: String, limit: Int) {
        guard limit > 0 else { return }
        peers.withLock { counts in
            guard let held = counts[peer] else { return }
            counts[peer] = held > 1 ? held - 1 : nil
        }
    }
}

/// The I/O side of the server: HTTP connections served on one reactor (`Reactor`: epoll on a dedicated thread).
///
/// A server has one event loop per reactor of its group. The first one owns the listener: it accepts and hands
/// each new connection to the loops in turn; from then on a connection lives on one loop. Each complete request
/// is handed to `dispatch`, which starts its handler task — on this loop's reactor for the API (the handler's
/// signing and bank call then run on the same thread, with no hand-over at all) or elsewhere for routes placed
/// off it; the encoded response comes back through `complete`, inline when the handler ran here. This is the
/// NIO/nginx shape: one thread owns a connection's socket, no locks on the hot per-connection state.
///
/// Everything is touched only on the reactor's thread (`@unchecked Sendable`); other threads go through
/// `reactor.execute`.
final class EventLoop: ReactorIOHandler, ReactorTicker, @unchecked Sendable {
    let reactor: Reactor
    /// Its position in the server's loops (0 owns the listener).
    let index: Int
    private let stopped = Latch()
    private let configuration: HTTPServer.Configuration
    private let tlsContext: TLSContext?
    private let logger: Logger
    private let metrics: HTTPMetrics
    private let lifecycle: ServerLifecycle
    private let shared: EventLoopGroupState
    /// All loops of the server, in order (set once by the server before `start`).
    var siblings: [EventLoop] = []
    private var dispatch: (RequestJob) -> Void = { _ in }
    private var listener: Int32
    private var listenerPaused = false
    /// When a listener paused for lack of resources is watched again (0: paused for back-pressure only).
    private var listenerResumeAt: UInt64 = 0
    private var connections: [Int32: Connection] = [:]
    private var nextID: UInt64 = 1
    private var drainDeadline: UInt64 = 0
    private var nextTimerScan: UInt64 = 0
    private var running = false
    private var finished = false
    private let forced = Atomic<Bool>(false)
    private var scratch = [UInt8](repeating: 0, count: 65536)

    init(
        reactor: Reactor, index: Int, listener: Int32, shared: EventLoopGroupState,
        configuration: HTTPServer.Configuration, tlsContext: TLSContext?, logger: Logger, metrics: HTTPMetrics,
        lifecycle: ServerLifecycle
    ) {
        self.reactor = reactor
        self.index = index
        self.listener = listener
        self.shared = shared
        self.configuration = configuration
        self.tlsContext = tlsContext
        self.logger = logger
        self.metrics = metrics
        self.lifecycle = lifecycle
    }

    deinit {
        // A server that was never run still owns its listening socket.
        if listener >= 0 { Glibc.close(listener) }
    }

    /// True once the grace period ran out and connections were closed with handlers still running.
    var forcedShutdown: Bool { forced.load(ordering: .relaxed) }

    // MARK: - Called from any thread

    /// Starts serving on the reactor; `dispatch` is called there with every complete request (it must not block).
    func start(dispatch: @escaping (RequestJob) -> Void) {
        let box = UncheckedBox(dispatch)
        reactor.execute { [self] in
            self.dispatch = box.value
            running = true
            if listener >= 0 { reactor.watch(listener, events: Reactor.readable, handler: self) }
            nextTimerScan = Reactor.now() + 100_000_000
            reactor.addTicker(self)
        }
    }

    /// Queues a response for its connection (written at once when called on the loop's thread).
    func complete(_ completion: ResponseCompletion) {
        if reactor.isCurrent {
            apply(completion)
        } else {
            reactor.execute { [self] in apply(completion) }
        }
    }

    /// Starts draining: stop accepting, close idle connections, finish in-flight ones within `grace`.
    func requestShutdown(grace: Duration) {
        reactor.execute { [self] in beginDrain(grace) }
    }

    /// Returns once the loop has closed its listener and every connection (callable from any task).
    func waitUntilStopped() async { await stopped.wait() }

    // MARK: - The loop (on the reactor's thread)

    var nextDeadline: UInt64 { finished ? .max : nextTimerScan }

    func tick(now: UInt64) {
        guard running, !finished, now >= nextTimerScan else { return }
        scanDeadlines(now)
        nextTimerScan = now + 100_000_000
        if lifecycle.isDraining && drainDeadline != 0 {
            if connections.isEmpty {
                finish()
            } else if now >= drainDeadline {
                forced.store(true, ordering: .relaxed)
                logger.warning("grace period over; closing \(connections.count) connection(s)")
                for c in Array(connections.values) { close(c) }
                finish()
            }
        }
    }

    /// Closes the listener, stops ticking and wakes `waitUntilStopped`.
    private func finish() {
        finished = true
        closeListener()
        reactor.removeTicker(self)
        stopped.open()
    }

    private func closeListener() {
        if listener >= 0 {
            reactor.unwatch(listener)
            Glibc.close(listener)
            listener = -1
        }
    }

    func reactorEvent(fd: Int32, events: UInt32) {
        if fd == listener {
            acceptConnections()
            return
        }
        guard let c = connections[fd] else { return }
        if events & Reactor.errorOrHangUp != 0 {
            close(c)
            return
        }
        let wasAwaitingHandler = c.phase == .awaitingHandler
        switch c.phase {
        case .handshake: advanceHandshake(c)
        case .lingering: drainLingering(c)
        case .reading:
            if events & Reactor.writable != 0 || c.tlsWantsWrite { flush(c) }
            if connections[fd] === c, c.phase == .reading, events & Reactor.readable != 0 { readAndProcess(c) }
        case .writing, .awaitingHandler:
            flush(c)
        }
        // A request just handed to its handler keeps the connection's read interest: usually nothing arrives
        // before the answer, and dropping the interest now and restoring it then cost two epoll_ctl calls per
        // request. Only a read event while it waits (more data, EOF) drops it, so level-triggered epoll stops
        // reporting input that will not be read until the answer is written.
        let keepReading =
            !wasAwaitingHandler && c.phase == .awaitingHandler && c.wantedInterest == 0 && c.interest == Reactor.readable
        if connections[fd] === c, !keepReading { updateInterest(c) }
    }

    private func apply(_ completion: ResponseCompletion) {
        guard let c = connections[completion.fd], c.id == completion.connectionID, c.phase == .awaitingHandler
        else { return }
        c.output += completion.bytes
        c.closeAfterWrite = completion.close || lifecycle.isDraining
        c.phase = .writing
        c.requestsServed += 1
        flush(c)
        if connections[completion.fd] === c { updateInterest(c) }
    }

    // MARK: - Accept

    private func acceptConnections() {
        // At most 256 per readiness event (the listener is level-triggered): a flood of connections refused for
        // their peer's limit must not keep this loop from serving the ones it has.
        var accepted = 0
        while shared.openConnections.load(ordering: .relaxed) < configuration.maxConnections && accepted < 256 {
            accepted += 1
            guard let (fd, address) = SocketIO.accept(listener) else {
                let e = errno
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // Out of descriptors or memory: the pending connection stays readable on a level-triggered
                    // listener, so stop watching it for a moment instead of spinning (nginx does the same).
                    logger.warning("accept failed; pausing the listener", metadata: ["errno": "\(e)"])
                    listenerPaused = true
                    listenerResumeAt = Reactor.now() + 100_000_000
                    reactor.watch(listener, events: 0, handler: self)
                }
                break
            }
            guard shared.admit(peer: address, limit: configuration.maxConnectionsPerPeer) else {
                refuse(fd, peer: address)
                continue
            }
            shared.openConnections.add(1, ordering: .relaxed)
            metrics.openConnections.add(1)
            // Spread connections over the loops; each then lives on one thread.
            let target = siblings.isEmpty ? self : siblings[shared.nextIndex(of: siblings.count)]
            if target === self {
                adopt(fd: fd, address: address)
            } else {
                target.reactor.execute { target.adopt(fd: fd, address: address) }
            }
        }
        guard shared.openConnections.load(ordering: .relaxed) >= configuration.maxConnections, !listenerPaused,
            listener >= 0
        else {
            shared.connectionsWaiting.store(false, ordering: .relaxed)
            return
        }
        // Full. While nobody waits the listener stays watched, so that the next arrival (the listener readable
        // while full) lands here again.
        guard SocketIO.isReadable(listener) else {
            shared.connectionsWaiting.store(false, ordering: .relaxed)
            return
        }
        // Someone waits: leave them in the backlog (back-pressure) and make room by closing idle connections,
        // oldest first, on every loop; until a place frees, connections turning idle close too.
        listenerPaused = true
        shared.listenerPausedForLimit.store(true, ordering: .relaxed)
        shared.connectionsWaiting.store(true, ordering: .relaxed)
        reactor.watch(listener, events: 0, handler: self)
        let loops = siblings.isEmpty ? [self] : siblings
        let share = max(1, configuration.maxConnections / 32 / loops.count)
        for loop in loops {
            if loop === self {
                reclaimIdleConnections(upTo: share)
            } else {
                loop.reactor.execute { loop.reclaimIdleConnections(upTo: share) }
            }
        }
    }

    /// Closes up to `count` reclaimable connections of this loop, those idle the longest first (on its thread).
    func reclaimIdleConnections(upTo count: Int) {
        let idle = connections.values.filter(\.isReclaimable).sorted { $0.idleSince < $1.idleSince }.prefix(count)
        guard !idle.isEmpty else { return }
        logger.debug("server full; closing idle connections", metadata: ["connections": "\(idle.count)"])
        metrics.reclaimedConnections.increment(by: Double(idle.count))
        for c in idle { close(c) }
    }

    /// Turns away a connection beyond its peer's limit: a 503 problem on a plain listener (one non-blocking
    /// send into the empty socket buffer; TLS would need a handshake first), then close.
    private func refuse(_ fd: Int32, peer: String) {
        metrics.refusedConnections.increment()
        logger.debug("connection refused: peer at its connection limit", metadata: ["net.peer": peer])
        if tlsContext == nil {
            Self.tooManyConnectionsResponse.withUnsafeBytes { _ = SocketIO.send(fd, $0) }
            Glibc.shutdown(fd, Int32(SHUT_WR))
        }
        Glibc.close(fd)
    }

    /// The answer of `refuse`, encoded once.
    private static let tooManyConnectionsResponse: [UInt8] = {
        let problem = ServerProblem.tooManyConnections.problem(
            detail: "This client holds too many connections; reuse one or retry later.")
        var response = problem.response
        response.headers.set("Retry-After", "1")
        return ResponseEncoder.encode(response, isHead: false, keepAlive: false, minorVersion: 1)
    }()

    /// Serves an accepted connection on this loop (on its thread).
    func adopt(fd: Int32, address: String) {
        guard !finished, drainDeadline == 0 else {  // handed over just as the server began draining
            Glibc.close(fd)
            connectionGone(peer: address)
            return
        }
        var session: TLSSession?
        if let tlsContext {
            session = TLSSession(context: tlsContext, fd: fd)
            if session == nil {
                Glibc.close(fd)
                connectionGone(peer: address)
                return
            }
        }
        let c = Connection(id: nextID, fd: fd, remoteAddress: address, tls: session, limits: configuration.limits)
        nextID += 1
        c.idleSince = Reactor.now()
        c.deadline = c.idleSince + configuration.headerTimeout.nanoseconds
        connections[fd] = c
        c.interest = Reactor.readable
        reactor.watch(fd, events: c.interest, handler: self)
    }

    /// One connection of `peer` fewer: count it and let a listener paused at `maxConnections` accept again.
    private func connectionGone(peer: String) {
        shared.release(peer: peer, limit: configuration.maxConnectionsPerPeer)
        shared.openConnections.add(-1, ordering: .relaxed)
        metrics.openConnections.add(-1)
        if shared.listenerPausedForLimit.load(ordering: .relaxed) {
            let acceptor = siblings.first ?? self
            if acceptor === self {
                resumeListenerIfPossible()
            } else {
                acceptor.reactor.execute { acceptor.resumeListenerIfPossible() }
            }
        }
    }

    /// Watches the listener again after back-pressure, if below `maxConnections` (on the acceptor's thread).
    func resumeListenerIfPossible() {
        guard listenerPaused, listenerResumeAt == 0, listener >= 0,
            shared.openConnections.load(ordering: .relaxed) < configuration.maxConnections
        else { return }
        listenerPaused = false
        shared.listenerPausedForLimit.store(false, ordering: .relaxed)
        reactor.watch(listener, events: Reactor.readable, handler: self)
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
                c.bytesReceived += n
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
                if head.framing != .none {
                    c.bodyStartedAt = Self.now()
                    c.bodyBaseline = c.bytesReceived - c.parser.bufferedByteCount
                }
                if head.expectsContinue && head.framing != .none && c.parser.bufferedByteCount == 0 {
                    // RFC 9110 §10.1.1: tell the client to send the body it is holding back.
                    c.output += Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                    flush(c)
                }
            case .complete(let body):
                guard let head = c.head else { return }
                c.head = nil
                c.requestStarted = false
                c.bodyStartedAt = 0
                c.phase = .awaitingHandler
                c.deadline = Self.now() + configuration.handlerTimeout.nanoseconds
                dispatch(
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
        c.idleSince = Self.now()
        c.deadline = c.idleSince + configuration.idleTimeout.nanoseconds
        if lifecycle.isDraining && c.parser.isIdle {
            beginLingeringClose(c)
            return
        }
        if shared.connectionsWaiting.load(ordering: .relaxed) && c.parser.isIdle && !c.inputClosed {
            // The server is full and connections wait for a place: this one is idle now, so it makes room.
            metrics.reclaimedConnections.increment()
            close(c)
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
        reactor.unwatch(c.fd)
        Glibc.close(c.fd)
        connections[c.fd] = nil
        connectionGone(peer: c.remoteAddress)
    }

    private func updateInterest(_ c: Connection) {
        let wanted = c.wantedInterest
        if wanted != c.interest {
            c.interest = wanted
            reactor.watch(c.fd, events: wanted, handler: self)
        }
    }

    // MARK: - Timers and shutdown

    private func scanDeadlines(_ now: UInt64) {
        if listenerResumeAt != 0 && now >= listenerResumeAt {
            listenerResumeAt = 0
            if listenerPaused && shared.openConnections.load(ordering: .relaxed) < configuration.maxConnections
                && listener >= 0
            {
                listenerPaused = false
                shared.listenerPausedForLimit.store(false, ordering: .relaxed)
                reactor.watch(listener, events: Reactor.readable, handler: self)
            }
        }
        if configuration.minBodyBytesPerSecond > 0 {
            let grace = configuration.bodyRateGracePeriod.nanoseconds
            for c in Array(connections.values)
            where c.phase == .reading && c.bodyStartedAt != 0 && now >= c.bodyStartedAt + grace {
                let seconds = Double(now - c.bodyStartedAt) / 1e9
                let received = Double(c.bytesReceived - c.bodyBaseline)
                if received < Double(configuration.minBodyBytesPerSecond) * seconds {
                    c.bodyStartedAt = 0
                    fail(c, HTTPParseError(.bodyTimeout))
                    if connections[c.fd] === c { updateInterest(c) }
                }
            }
        }
        for c in Array(connections.values) where c.deadline != 0 && c.deadline <= now {
            switch c.phase {
            case .reading where c.requestStarted && c.outputOffset >= c.output.count:
                fail(c, HTTPParseError(c.head == nil ? .headerTimeout : .bodyTimeout))
                if connections[c.fd] === c { updateInterest(c) }
            case .awaitingHandler where c.outputOffset >= c.output.count:
                logger.warning("handler timed out; answering 503", metadata: ["net.peer": c.remoteAddress])
                respondAndClose(
                    c,
                    ServerProblem.handlerTimeout.problem(
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
        closeListener()
        for c in Array(connections.values) {
            switch c.phase {
            case .handshake: close(c)
            case .reading where c.parser.isIdle && c.outputOffset >= c.output.count: close(c)
            default: break
            }
        }
        logger.info("draining", metadata: ["connections": "\(connections.count)"])
        if connections.isEmpty { finish() }  // nothing to wait for: no need to wait for the next tick
    }

    static func now() -> UInt64 { Reactor.now() }
}

/// Carries a non-Sendable value to the reactor's thread, which alone uses it.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
