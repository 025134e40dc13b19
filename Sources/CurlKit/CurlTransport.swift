import BlockingIO
import Foundation
import GatewayLogging
import Synchronization

/// The libcurl implementation of `HTTPTransport`: mutual TLS from memory, keep-alive connections pooled per
/// (host, client identity), deadlines, a response size limit, retries for idempotent calls, counters and an
/// audit record per call.
///
/// Why a `BlockingExecutor` running `curl_easy_perform` on pooled easy handles, not a multi handle on its own
/// thread: bank calls are few and slow (tens in flight, not thousands), so a thread per in-flight call costs
/// little; the blocking easy interface is libcurl's simplest path, each pooled easy handle *is* one keep-alive
/// connection (its connection cache survives `curl_easy_reset`), so "never shared by two requests" and
/// "bounded pool, idle expiry" are plain data-structure properties instead of multi-handle bookkeeping, and
/// there is no event loop or wake-up pipe to get right. The cost is that in-flight calls are bounded by
/// `workerThreads` (extra calls queue, still under their deadline) — which is also the back-pressure we want
/// towards banks. A multi handle would be the choice for thousands of concurrent transfers.
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
        /// Worker threads, i.e. transfers in flight at once.
        public var workerThreads = 8
        /// Idle keep-alive connections kept per (host, identity).
        public var maxIdleConnectionsPerHost = 8
        /// Idle keep-alive connections kept in total.
        public var maxIdleConnections = 64
        /// Idle connections older than this are closed (banks' servers often close at 60 s).
        public var idleTimeout: Duration = .seconds(50)
        /// Retries for idempotent calls.
        public var retry = RetryPolicy()
        /// `User-Agent` sent when the request has none.
        public var userAgent = "Passerelle"
        /// An explicit egress proxy URL; nil means none (the `*_proxy` environment variables are ignored).
        public var proxyURL: String?

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
        /// Idle pooled connections now.
        public var idleConnections = 0

        public init() {}
    }

    private let configuration: Configuration
    private let settings: TransferSettings
    private let pool: CurlHandlePool
    private let executor: BlockingExecutor
    private let counters = Mutex(Counters())
    private let auditSink: any OutboundAuditSink
    private let logger: Logger

    /// Initialises libcurl if needed, loads the trust anchors and starts the worker threads.
    /// - Parameters:
    ///   - configuration: Timeouts, limits, pool sizes, trust anchors.
    ///   - auditSink: Receives one record per `send` call.
    ///   - logger: Debug-level lines per call (no secrets).
    /// - Throws: `OutboundError` (`.other`) if libcurl cannot initialise or the CA file cannot be read.
    public init(
        configuration: Configuration = Configuration(), auditSink: any OutboundAuditSink = DiscardingOutboundAuditSink(),
        logger: Logger
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
            userAgent: configuration.userAgent, proxyURL: configuration.proxyURL)
        self.pool = CurlHandlePool(
            maxIdlePerKey: configuration.maxIdleConnectionsPerHost, maxIdleTotal: configuration.maxIdleConnections,
            idleTimeout: configuration.idleTimeout)
        self.executor = BlockingExecutor(name: "curl", threads: max(1, configuration.workerThreads))
        self.auditSink = auditSink
        self.logger = logger
    }

    /// Closes idle connections and stops the worker threads after the queued transfers.
    public func shutdown() {
        executor.shutdown()
        pool.closeAll()
    }

    /// The counters now.
    public var countersSnapshot: Counters {
        var snapshot = counters.withLock { $0 }
        snapshot.idleConnections = pool.idleCount
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
        switch Self.host(of: request.url).flatMap({ host in Self.validateHeaders(request.headers).map { host } }) {
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
                guard attempts <= configuration.retry.maxRetries, RetryPolicy.isIdempotent(request.method) else { break }
                let retryable: Bool
                var delay = configuration.retry.backoff(forRetry: attempts - 1)
                switch final {
                case .success(let response):
                    retryable = response.status == 503
                    // RFC 9110 §10.2.3: a bank asking for more patience than our backoff allows gets no retry.
                    if retryable, let value = response.header("Retry-After") {
                        guard let seconds = Int(value.trimmingCharacters(in: .whitespaces)), seconds >= 0,
                            .seconds(seconds) <= configuration.retry.maxDelay
                        else { break attemptLoop }
                        delay = max(delay, .seconds(seconds))
                    }
                case .failure(let error): retryable = RetryPolicy.isRetryable(error.code)
                }
                guard retryable else { break }
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
                errorKind: errorKind))
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

    /// One transfer on a pooled handle, on a worker thread; task cancellation aborts it.
    private func perform(_ request: OutboundRequest, host: String) async throws -> AttemptResult {
        try Task.checkCancellation()
        let cancellation = CancellationFlag()
        let key = CurlHandlePool.Key(host: host, identityID: request.identity?.id)
        let (pool, settings) = (self.pool, self.settings)
        let attempt = try await withTaskCancellationHandler {
            try await executor.run { () -> AttemptResult in
                let handle: CurlEasy
                do throws(OutboundError) {
                    handle = try pool.checkOut(key)
                } catch {
                    return AttemptResult(
                        outcome: .failure(OutboundError(code: error.code, bankID: request.bankID, host: host,
                                                        message: error.message)),
                        newConnections: 0, bytesSent: 0, bytesReceived: 0)
                }
                let result = handle.perform(request, host: host, settings: settings, cancellation: cancellation)
                pool.checkIn(handle, key: key)
                return result
            }
        } onCancel: {
            cancellation.cancel()
        }
        counters.withLock { counters in
            counters.attempts += 1
            counters.newConnections += attempt.newConnections
            if attempt.newConnections == 0, case .response = attempt.outcome { counters.reusedConnections += 1 }
        }
        return attempt
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

    /// `host[:port]` of an `https://` URL, lower-cased, without user info; refuses other schemes before any I/O.
    static func host(of url: String) -> Result<String, OutboundError> {
        let bytes = Array(url.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), bytes[colon...].starts(with: "://".utf8) else {
            return .failure(OutboundError(code: .invalidURL, bankID: "-", host: "-", message: "URL has no scheme"))
        }
        guard colon == 5, String(decoding: bytes[..<colon], as: UTF8.self).lowercased() == "https" else {
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
        return .success(String(decoding: authority, as: UTF8.self).lowercased())
    }
}
