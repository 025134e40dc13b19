import FoundationEssentials
import GatewayLogging
import Reactor
import Synchronization

/// The libcurl implementation of `HTTPTransport`: mutual TLS from memory, keep-alive connections reused per
/// (host, client identity), deadlines, a response size limit, retries for idempotent calls, counters and an
/// audit record per call.
///
/// Transfers run on reactors (`Reactor`), one libcurl multi handle each (`CurlMulti`): a bank call in flight is a
/// socket watched by epoll, not a thread blocked in `curl_easy_perform`. A call made on a reactor's thread — an
/// API handler running on the HTTP server's reactor — is driven by that same reactor, so the request, its
/// signature, the bank transfer and the answer never change threads; calls from elsewhere go to the reactors in
/// turn. Calls in flight are bounded per host (`maxConnectionsPerHost`, per reactor): the back-pressure towards
/// banks that the worker threads used to give, without tying up a thread per slow bank call.
public final class CurlTransport: HTTPTransport {
    /// Where the CAs trusted for banks' TLS come from.
    public enum TrustAnchors: Sendable {
        /// The system store (Debian: /etc/ssl/certs).
        case system
        /// A PEM bundle file (`PASSERELLE_BANK_CA_FILE`), read once at start-up and kept in memory.
        case pemFile(String)
        /// A PEM bundle in memory.
        case pem([UInt8])
    }

    /// Settings of the transport (the lead maps `PASSERELLE_OUTBOUND_*` onto these).
    public struct Configuration: Sendable {
        /// Trust anchors for the banks' server certificates. Verification is always on.
        public var trustAnchors: TrustAnchors = .system
        /// Longest TCP connect + TLS handshake.
        public var connectTimeout: Duration = .seconds(5)
        /// Largest response body; larger ones abort with `responseTooLarge`.
        public var maxResponseBytes = 10 << 20
        /// Reactors the transport starts for itself when it is given none (`init(reactors:)`).
        public var reactors = 1
        /// Connections to one host at once, per reactor; further transfers wait (under their deadline).
        public var maxConnectionsPerHost = 32
        /// Connections kept open per reactor, idle or not (libcurl's connection cache).
        public var maxIdleConnections = 64
        /// Connections idle longer than this are closed instead of reused (`CURLOPT_MAXAGE_CONN`; banks' servers
        /// often close at 60 s).
        public var idleTimeout: Duration = .seconds(50)
        /// Retries for idempotent calls.
        public var retry = RetryPolicy()
        /// `User-Agent` sent when the request has none.
        public var userAgent = "Passerelle"
        /// An explicit egress proxy URL; nil means none (the `*_proxy` environment variables are ignored).
        public var proxyURL: String?
        /// Also allow plain `http://` to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`), never through the
        /// proxy: a webhook receiver on the same machine. Every other URL must still be `https`.
        public var allowsLoopbackHTTP = false

        public init() {}
    }

    /// A snapshot of the transport's counters (for `/metrics`).
    public struct Counters: Sendable, Equatable {
        /// `send` calls.
        public var requests = 0
        /// Transfers performed (requests plus retries).
        public var attempts = 0
        /// Retries performed.
        public var retries = 0
        /// Connections opened (`CURLINFO_NUM_CONNECTS` summed): each one a TCP + TLS handshake.
        public var newConnections = 0
        /// Transfers that reused a pooled connection (opened none).
        public var reusedConnections = 0
        /// `send` calls that ended in an error (not counting HTTP error statuses).
        public var failures = 0
        /// Open connections not carrying a transfer now (kept in the multi handles' caches).
        public var idleConnections = 0

        public init() {}
    }

    private let configuration: Configuration
    private let settings: TransferSettings
    private let group: ReactorGroup
    private let ownsGroup: Bool
    /// One multi handle per reactor of `group`, in the same order.
    private let multis: [CurlMulti]
    private let counters = Mutex(Counters())
    private let auditSink: any OutboundAuditSink
    private let logger: Logger

    /// Initialises libcurl if needed, loads the trust anchors and sets up a multi handle on each reactor.
    /// - Parameters:
    ///   - configuration: Timeouts, limits, pool sizes, trust anchors.
    ///   - reactors: Where transfers run (the HTTP server's, so that handlers' calls stay on their thread); nil
    ///     starts `configuration.reactors` of its own, stopped by `shutdown`.
    ///   - auditSink: Receives one record per `send` call.
    ///   - logger: Debug-level lines per call (no secrets).
    /// - Throws: `OutboundError` (`.other`) if libcurl cannot initialise or the CA file cannot be read.
    public init(
        configuration: Configuration = Configuration(), reactors: ReactorGroup? = nil,
        auditSink: any OutboundAuditSink = DiscardingOutboundAuditSink(), logger: Logger
    ) throws {
        try CurlGlobal.initialize()
        var anchors: [UInt8]?
        switch configuration.trustAnchors {
        case .system: anchors = nil
        case .pem(let bytes): anchors = bytes
        case .pemFile(let path):
            guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
                throw OutboundError(
                    code: .other, bankID: "-", host: "-", message: "cannot read the bank CA bundle at \(path)")
            }
            anchors = Array(data)
        }
        self.configuration = configuration
        self.settings = TransferSettings(
            trustAnchorsPEM: anchors, connectTimeout: configuration.connectTimeout,
            maxResponseBytes: configuration.maxResponseBytes, maxConnectionAge: configuration.idleTimeout,
            userAgent: configuration.userAgent, proxyURL: configuration.proxyURL,
            allowsLoopbackHTTP: configuration.allowsLoopbackHTTP)
        let group = reactors ?? ReactorGroup(name: "curl", count: max(1, configuration.reactors))
        self.group = group
        self.ownsGroup = reactors == nil
        let settings = self.settings
        do {
            self.multis = try group.reactors.map { reactor throws(OutboundError) in
                try CurlMulti(
                    reactor: reactor, settings: settings, maxConnectionsPerHost: configuration.maxConnectionsPerHost,
                    maxCachedConnections: configuration.maxIdleConnections)
            }
        } catch {
            if reactors == nil { group.shutdown() }
            throw error
        }
        self.auditSink = auditSink
        self.logger = logger
    }

    /// Fails the transfers still in flight, closes every connection (on each reactor's thread, suspending until it
    /// is done there: no thread is blocked) and stops the reactors the transport started itself. Call once nothing
    /// sends any more.
    public func shutdown() async {
        for multi in multis {
            if multi.reactor.isCurrent {
                multi.close()
                continue
            }
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                multi.reactor.execute {
                    multi.close()
                    done.resume()
                }
            }
        }
        if ownsGroup { group.shutdown() }
    }

    /// The counters now.
    public var countersSnapshot: Counters {
        var snapshot = counters.withLock { $0 }
        snapshot.idleConnections = multis.reduce(0) { sum, multi in
            sum + max(0, multi.openSockets.load(ordering: .relaxed) - multi.inFlight.load(ordering: .relaxed))
        }
        return snapshot
    }

    // MARK: - Sending

    /// Sends `request`, retrying idempotent ones per `Configuration.retry`, and records one audit record.
    /// - Throws: `OutboundError`; `CancellationError` if the task was cancelled.
    public func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        let started = ContinuousClock.now
        let startedAt = Date().timeIntervalSince1970
        counters.withLock { $0.requests += 1 }
        var attempts = 0
        var bytesSent = 0
        var bytesReceived = 0
        var final: Result<OutboundResponse, OutboundError>

        let host: String
        let parsed = Self.host(of: request.url, allowingLoopbackHTTP: configuration.allowsLoopbackHTTP)
        switch parsed.flatMap({ host in Self.validateHeaders(request.headers).map { host } }) {
        case .success(let parsed):
            host = parsed
            attemptLoop: while true {
                attempts += 1
                let attempt: AttemptResult
                do {
                    attempt = try await perform(request, host: host)
                } catch {  // cancelled before the transfer started, or the transport was shut down
                    let code: OutboundError.Code = error is CancellationError ? .cancelled : .other
                    final = .failure(OutboundError(code: code, bankID: request.bankID, host: host, message: "\(error)"))
                    break
                }
                bytesSent += attempt.bytesSent
                bytesReceived += attempt.bytesReceived
                switch attempt.outcome {
                case .response(let response): final = .success(response)
                case .failure(let error): final = .failure(error)
                }
                guard attempts <= configuration.retry.maxRetries, request.mayRetry, RetryPolicy.isIdempotent(request.method)
                else { break }
                let retryable: Bool
                var askedDelay: Duration = .zero
                switch final {
                case .success(let response):
                    retryable = response.status == 503
                    // RFC 9110 §10.2.3: a bank asking for more patience than our backoff allows gets no retry.
                    if retryable, let value = response.header("Retry-After") {
                        guard let seconds = Int(value.trimmingWhitespace()), seconds >= 0,
                            .seconds(seconds) <= configuration.retry.maxDelay
                        else { break attemptLoop }
                        askedDelay = .seconds(seconds)
                    }
                case .failure(let error): retryable = RetryPolicy.isRetryable(error.code)
                }
                guard retryable else { break }
                // Drawn only now: the random jitter costs a getrandom(2) system call.
                let delay = max(configuration.retry.backoff(forRetry: attempts - 1), askedDelay)
                guard ContinuousClock.now + delay + .milliseconds(10) < request.deadline else { break }
                counters.withLock { $0.retries += 1 }
                logger.debug(
                    "retrying idempotent bank call",
                    metadata: ["bank": request.bankID, "http.method": request.method, "path": request.pathTemplate,
                               "attempt": String(attempts + 1)])
                do {
                    try await Task.sleep(for: delay)
                } catch {
                    final = .failure(
                        OutboundError(code: .cancelled, bankID: request.bankID, host: host, message: "cancelled during backoff"))
                    break
                }
            }
        case .failure(let error):
            host = "-"
            final = .failure(OutboundError(code: error.code, bankID: request.bankID, host: host, message: error.message))
        }

        let duration = started.duration(to: .now)
        var status: Int?
        var correlation: String?
        var errorKind: String?
        switch final {
        case .success(let response):
            status = response.status
            correlation = response.header("X-Request-ID") ?? response.header("X-Correlation-ID")
        case .failure(let error):
            errorKind = error.code.kind
            counters.withLock { $0.failures += 1 }
        }
        auditSink.record(
            OutboundAuditRecord(
                startedAt: startedAt, requestID: request.header("X-Request-ID"), bankID: request.bankID,
                method: request.method, host: host, pathTemplate: request.pathTemplate,
                signedHeaderNames: request.signedHeaderNames, status: status, duration: duration, attempts: attempts,
                bytesSent: bytesSent, bytesReceived: bytesReceived, bankCorrelationID: correlation,
                errorKind: errorKind, inboundRequestID: request.inboundRequestID))
        if logger.logLevel <= .debug {  // build the metadata only when it is written
            var metadata = [
                "bank": request.bankID, "http.method": request.method, "path": request.pathTemplate,
                "duration.ms": String(duration.milliseconds), "attempts": String(attempts),
            ]
            if let status { metadata["http.status"] = String(status) }
            if let errorKind { metadata["error"] = errorKind }
            logger.debug("bank call", metadata: metadata)
        }
        if case .failure(let error) = final, error.code == .cancelled { throw CancellationError() }
        return try final.get()
    }

    /// One transfer on a multi handle: the calling reactor's, else the one chosen by host and identity (so that
    /// calls from outside the reactors reuse the same connections); task cancellation aborts it.
    private func perform(_ request: OutboundRequest, host: String) async throws -> AttemptResult {
        try Task.checkCancellation()
        let cancellation = CancellationFlag()
        let multi: CurlMulti
        if let current = Reactor.current, let index = group.index(of: current) {
            multi = multis[index]
        } else {
            multi = multis[Self.affinity(host: host, identity: request.identity?.id) % multis.count]
        }
        let reactor = multi.reactor
        let attempt = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<AttemptResult, Never>) in
                if reactor.isCurrent {
                    multi.start(request, host: host, cancellation: cancellation) { continuation.resume(returning: $0) }
                } else {
                    reactor.execute {
                        multi.start(request, host: host, cancellation: cancellation) { continuation.resume(returning: $0) }
                    }
                }
            }
        } onCancel: {
            cancellation.cancel()
            reactor.execute { multi.abort(cancellation) }
        }
        counters.withLock { counters in
            counters.attempts += 1
            counters.newConnections += attempt.newConnections
            if attempt.newConnections == 0, case .response = attempt.outcome { counters.reusedConnections += 1 }
        }
        return attempt
    }

    /// FNV-1a over host and identity: a stable reactor per (host, identity) for calls made off the reactors.
    static func affinity(host: String, identity: String?) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in host.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for byte in (identity ?? "").utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % 0x7fff_ffff)
    }

    // MARK: - URL and header checks

    /// Refuses header names that are not RFC 9110 tokens and values with CR, LF or NUL, so a forwarded value
    /// (a `PSU-User-Agent`, say) can never inject a header line. The error names the header, never its value.
    static func validateHeaders(_ headers: [(name: String, value: String)]) -> Result<Void, OutboundError> {
        for field in headers {
            let nameIsToken = !field.name.isEmpty && field.name.utf8.allSatisfy { Self.tokenBytes[Int($0)] }
            let valueIsClean = !field.value.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
            guard nameIsToken, valueIsClean else {
                let shown = nameIsToken ? field.name : "(invalid name)"
                return .failure(
                    OutboundError(code: .invalidHeader, bankID: "-", host: "-", message: "refused header \(shown)"))
            }
        }
        return .success(())
    }

    /// RFC 9110 `tchar`s: visible ASCII except the delimiters.
    private static let tokenBytes: [Bool] = (0..<256).map { byte in
        byte > 0x20 && byte < 0x7F && !"()<>@,;:\\\"/[]?={}".utf8.contains(UInt8(byte))
    }

    /// `host[:port]` of an `https://` URL (or, with `allowingLoopbackHTTP`, of an `http://` URL whose host is
    /// loopback), lower-cased, without user info; refuses other schemes and hosts before any I/O.
    static func host(of url: String, allowingLoopbackHTTP: Bool = false) -> Result<String, OutboundError> {
        let bytes = Array(url.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) else {
            return .failure(OutboundError(code: .invalidURL, bankID: "-", host: "-", message: "URL has no scheme"))
        }
        let https = colon == 5 && ASCII.equalBytesIgnoringCase(bytes[..<colon], "https".utf8)
        let http = colon == 4 && ASCII.equalBytesIgnoringCase(bytes[..<colon], "http".utf8)
        guard https || (http && allowingLoopbackHTTP) else {
            return .failure(OutboundError(code: .notHTTPS, bankID: "-", host: "-", message: "only https URLs are allowed"))
        }
        let start = colon + 3
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "/"), bytes[end] != UInt8(ascii: "?"),
            bytes[end] != UInt8(ascii: "#")
        {
            end += 1
        }
        var authority = bytes[start..<end]
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) { authority = authority[(at + 1)...] }
        guard !authority.isEmpty, !authority.contains(where: { $0 <= 0x20 || $0 == UInt8(ascii: "\\") }) else {
            return .failure(OutboundError(code: .invalidURL, bankID: "-", host: "-", message: "URL has no valid host"))
        }
        let host = ASCII.lowercased(String(decoding: authority, as: UTF8.self))
        if http, !isLoopback(authority: host) {
            return .failure(
                OutboundError(code: .notHTTPS, bankID: "-", host: "-", message: "plain http only to a loopback host"))
        }
        return .success(host)
    }

    /// Whether `host[:port]` (lower-cased) names this machine: `localhost`, an IPv4 address in 127.0.0.0/8 or
    /// `[::1]` (libcurl resolves `localhost` itself, to loopback addresses only, since 7.78).
    static func isLoopback(authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && isPort(rest.dropFirst())) else { return false }
            return host[..<close] == "[::1"
        }
        if let colon = host.lastIndex(of: ":") {
            guard isPort(host[host.index(after: colon)...]) else { return false }
            host = host[..<colon]
        }
        if host == "localhost" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets.first == "127"
            && octets.allSatisfy { (1...3).contains($0.count) && isDigits($0) && Int($0)! <= 255 }
    }

    private static func isPort(_ text: Substring) -> Bool { (1...5).contains(text.count) && isDigits(text) }

    private static func isDigits(_ text: Substring) -> Bool { text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}
