internal import CCurl
internal import CShims
import Reactor
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One libcurl multi handle driven by one reactor (the multi-socket interface): libcurl tells us which sockets to
/// watch and when its next timeout is (`CURLMOPT_SOCKETFUNCTION`, `CURLMOPT_TIMERFUNCTION`); the reactor calls
/// `curl_multi_socket_action` when a socket is ready or the timer is due. A bank call in flight is a socket
/// registered with the reactor, not a thread blocked in `poll`.
///
/// Connections live in the multi handle's cache and are shared by the easy handles added to it. libcurl reuses
/// one only for a transfer with the same host and the same TLS settings — client certificate blob included
/// (`Curl_ssl_config_matches`), so a connection opened with one TPP's QWAC never carries another's calls
/// (`ConnectionReuseTests.differentIdentitiesGetDifferentConnections`).
///
/// Used only on its reactor's thread, except the counters (atomics) and `init`; hence `@unchecked Sendable`.
final class CurlMulti: ReactorIOHandler, ReactorTicker, @unchecked Sendable {
    let reactor: Reactor
    private let multi: UnsafeMutableRawPointer
    private let settings: TransferSettings
    /// Idle easy handles per client identity (their static options already set for it).
    private var idleHandles: [String?: [CurlEasy]] = [:]
    private var active: [UnsafeMutableRawPointer: Active] = [:]
    private var timerDeadline = UInt64.max
    private var closed = false
    /// Sockets libcurl has open (connections in use or idle in the cache).
    let openSockets = Atomic<Int>(0)
    /// Transfers added and not finished.
    let inFlight = Atomic<Int>(0)

    private struct Active {
        let easy: CurlEasy
        let prepared: PreparedTransfer
        let request: OutboundRequest
        let host: String
        let completion: (AttemptResult) -> Void
    }

    /// - Parameters:
    ///   - maxConnectionsPerHost: Connections to one host at once (`CURLMOPT_MAX_HOST_CONNECTIONS`); further
    ///     transfers wait inside libcurl, still under their deadline.
    ///   - maxCachedConnections: Connections kept open in the cache (`CURLMOPT_MAXCONNECTS`).
    init(reactor: Reactor, settings: TransferSettings, maxConnectionsPerHost: Int, maxCachedConnections: Int) throws(OutboundError) {
        guard let multi = curl_multi_init() else {
            throw OutboundError(code: .other, bankID: "-", host: "-", message: "curl_multi_init failed")
        }
        self.reactor = reactor
        self.multi = multi
        self.settings = settings
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = cshim_multi_setopt_socket_function(multi, Self.socketCallback)
        _ = cshim_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        _ = cshim_multi_setopt_timer_function(multi, Self.timerCallback)
        _ = cshim_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
        _ = cshim_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, maxConnectionsPerHost))
        _ = cshim_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, maxCachedConnections))
    }

    /// A multi handle is closed on its reactor's thread (`close`, called by `CurlTransport.shutdown`); one released
    /// without it still frees the handle and its cached connections here (nothing else can reach them any more).
    deinit {
        if !closed { curl_multi_cleanup(multi) }
    }

    // MARK: - Transfers (on the reactor's thread)

    /// Starts `request` now; `completion` is called exactly once, on the reactor's thread.
    func start(
        _ request: OutboundRequest, host: String, cancellation: CancellationFlag,
        completion: @escaping (AttemptResult) -> Void
    ) {
        reactor.assertCurrent("CurlMulti.start")
        guard !closed else {
            completion(Self.ended(request, host: host, code: .cancelled, message: "the outbound transport was shut down"))
            return
        }
        let easy: CurlEasy
        if let reused = idleHandles[request.identity?.id]?.popLast() {
            easy = reused
        } else {
            do throws(OutboundError) {
                easy = try CurlEasy()
            } catch {
                completion(Self.ended(request, host: host, code: error.code, message: error.message))
                return
            }
        }
        let sockets = Unmanaged.passUnretained(self).toOpaque()
        switch easy.prepare(request, host: host, settings: settings, cancellation: cancellation, sockets: sockets) {
        case .ended(let result):
            release(easy)
            completion(result)
        case .ready(let prepared):
            let code = curl_multi_add_handle(multi, easy.handle)
            guard code == CURLM_OK else {
                let result = easy.finish(CURLE_FAILED_INIT, request: request, host: host, prepared: prepared, settings: settings)
                release(easy)
                completion(result)
                return
            }
            active[easy.handle] = Active(easy: easy, prepared: prepared, request: request, host: host, completion: completion)
            inFlight.add(1, ordering: .relaxed)
        }
    }

    /// Aborts the transfer cancelled through `cancellation`, if it is still running (task cancellation).
    func abort(_ cancellation: CancellationFlag) {
        reactor.assertCurrent("CurlMulti.abort")
        guard let entry = active.first(where: { $0.value.prepared.sink.cancellation === cancellation }) else { return }
        complete(entry.key, code: CURLE_ABORTED_BY_CALLBACK)
    }

    /// Fails the transfers in flight, closes every connection and frees the handles. Later `start`s fail at once.
    func close() {
        reactor.assertCurrent("CurlMulti.close")
        guard !closed else { return }
        closed = true
        for handle in Array(active.keys) { complete(handle, code: CURLE_ABORTED_BY_CALLBACK) }
        curl_multi_cleanup(multi)  // closes the cached connections
        idleHandles.removeAll()
        timerDeadline = .max
        reactor.removeTicker(self)
    }

    /// Keeps `easy` for the next transfer with the same identity (unless it lost its options or there are plenty).
    private func release(_ easy: CurlEasy) {
        guard case .some(let identity) = easy.configuredIdentity else { return }
        if idleHandles[identity, default: []].count < 64 { idleHandles[identity, default: []].append(easy) }
    }

    private func complete(_ handle: UnsafeMutableRawPointer, code: CURLcode) {
        guard let entry = active.removeValue(forKey: handle) else { return }
        inFlight.add(-1, ordering: .relaxed)
        curl_multi_remove_handle(multi, handle)
        let result = entry.easy.finish(
            code, request: entry.request, host: entry.host, prepared: entry.prepared, settings: settings)
        release(entry.easy)
        entry.completion(result)
    }

    /// Finished transfers, after `curl_multi_socket_action`.
    private func collectFinished() {
        var pending: Int32 = 0
        while let message = curl_multi_info_read(multi, &pending) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            complete(handle, code: cshim_msg_result(message))
        }
    }

    // MARK: - Reactor callbacks

    func reactorEvent(fd: Int32, events: UInt32) {
        var mask: Int32 = 0
        if events & Reactor.readable != 0 { mask |= CURL_CSELECT_IN }
        if events & Reactor.writable != 0 { mask |= CURL_CSELECT_OUT }
        if events & Reactor.errorOrHangUp != 0 { mask |= CURL_CSELECT_ERR }
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, fd, mask, &running)
        collectFinished()
    }

    var nextDeadline: UInt64 { timerDeadline }

    func tick(now: UInt64) {
        reactor.assertCurrent("CurlMulti.tick")
        guard now >= timerDeadline, !closed else { return }
        timerDeadline = .max
        var running: Int32 = 0
        _ = curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running)
        collectFinished()
    }

    // MARK: - libcurl callbacks (C function pointers; their context is the CurlMulti)

    /// `CURLMOPT_SOCKETFUNCTION`: watch `fd` for what libcurl waits on, or stop watching it.
    static let socketCallback: curl_socket_callback = { _, fd, what, context, _ in
        let multi = Unmanaged<CurlMulti>.fromOpaque(context!).takeUnretainedValue()
        switch what {
        case CURL_POLL_REMOVE: multi.reactor.unwatch(fd)
        default:
            var events: UInt32 = 0
            if what & CURL_POLL_IN != 0 { events |= Reactor.readable }
            if what & CURL_POLL_OUT != 0 { events |= Reactor.writable }
            multi.reactor.watch(fd, events: events, handler: multi)
        }
        return 0
    }

    /// `CURLMOPT_TIMERFUNCTION`: when libcurl next needs `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` (-1: never).
    /// The reactor's tick calls it; calling it from here is not allowed.
    static let timerCallback: curl_multi_timer_callback = { _, timeoutMS, context in
        let multi = Unmanaged<CurlMulti>.fromOpaque(context!).takeUnretainedValue()
        if timeoutMS < 0 {
            multi.timerDeadline = .max
        } else {
            if multi.timerDeadline == .max && !multi.closed { multi.ensureTicker() }
            multi.timerDeadline = Reactor.now() + UInt64(timeoutMS) * 1_000_000
        }
        return 0
    }

    private var tickerAdded = false
    private func ensureTicker() {
        guard !tickerAdded else { return }
        tickerAdded = true
        reactor.addTicker(self)
    }

    /// `CURLOPT_OPENSOCKETFUNCTION`: opens the socket libcurl asks for and counts it.
    static let openSocket: curl_opensocket_callback = { context, _, address in
        guard let address else { return CURL_SOCKET_BAD }
        let fd = socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
        guard fd >= 0 else { return CURL_SOCKET_BAD }
        Unmanaged<CurlMulti>.fromOpaque(context!).takeUnretainedValue().openSockets.add(1, ordering: .relaxed)
        return fd
    }

    /// `CURLOPT_CLOSESOCKETFUNCTION`: closes a socket libcurl is done with (it has already asked us to stop
    /// watching it, but be sure: its number may be reused at once).
    static let closeSocket: curl_closesocket_callback = { context, fd in
        let multi = Unmanaged<CurlMulti>.fromOpaque(context!).takeUnretainedValue()
        multi.openSockets.add(-1, ordering: .relaxed)
        if multi.reactor.isCurrent { multi.reactor.unwatch(fd) }
        return Glibc.close(fd)
    }

    static func ended(_ request: OutboundRequest, host: String, code: OutboundError.Code, message: String) -> AttemptResult {
        AttemptResult(
            outcome: .failure(OutboundError(code: code, bankID: request.bankID, host: host, message: message)),
            newConnections: 0, bytesSent: 0, bytesReceived: 0)
    }
}
