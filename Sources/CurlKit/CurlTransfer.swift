internal import CCurl
internal import CShims
import GatewayLogging
import Synchronization

/// Set from a task's cancellation handler: a transfer not started yet never starts, and `CurlMulti.abort` (run
/// on the reactor right after) reports the aborted one as cancelled.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func cancel() { flag.store(true, ordering: .relaxed) }
    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}

/// What one transfer (one attempt) produced.
struct AttemptResult: Sendable {
    enum Outcome: Sendable {
        case response(OutboundResponse)
        case failure(OutboundError)
    }
    var outcome: Outcome
    /// `CURLINFO_NUM_CONNECTS`: new connections this transfer opened (0 means it reused one).
    var newConnections: Int
    /// Request bytes sent (`CURLINFO_REQUEST_SIZE` plus the body when a response came).
    var bytesSent: Int
    /// Response bytes received (`CURLINFO_HEADER_SIZE` plus the body).
    var bytesReceived: Int
}

/// The per-transfer state the C callbacks write into, passed to them as `WRITEDATA`/`HEADERDATA`.
final class TransferSink {
    let maxBodyBytes: Int
    let cancellation: CancellationFlag
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    var tooLarge = false

    init(maxBodyBytes: Int, cancellation: CancellationFlag) {
        self.maxBodyBytes = maxBodyBytes
        self.cancellation = cancellation
        headers.reserveCapacity(12)
    }
}

// MARK: - C callbacks (non-capturing; their context is the TransferSink)

/// `CURLOPT_WRITEFUNCTION`: appends body bytes; returning less than given aborts with `CURLE_WRITE_ERROR`, which is
/// how the size limit is enforced for bodies without (or with a lying) `Content-Length`.
private func writeBody(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    let sink = Unmanaged<TransferSink>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard sink.body.count + length <= sink.maxBodyBytes else {
        sink.tooLarge = true
        return 0
    }
    if let data, length > 0 {
        sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    }
    return length
}

/// `CURLOPT_HEADERFUNCTION`: called once per header line, status lines included. A new status line (after
/// `100 Continue`) starts a fresh header list so only the final response's fields remain.
private func receiveHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?
) -> Int {
    let sink = Unmanaged<TransferSink>.fromOpaque(context!).takeUnretainedValue()
    let length = size * count
    guard let data, length > 0 else { return length }
    let bytes = UnsafeRawBufferPointer(start: data, count: length)
    if bytes.starts(with: "HTTP/".utf8) {
        sink.headers.removeAll(keepingCapacity: true)
        return length
    }
    guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return length }
    let name = String(decoding: bytes[..<colon], as: UTF8.self)
    var value = bytes[(colon + 1)...]
    while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
    while let last = value.last, last == 0x20 || last == 0x09 || last == 0x0D || last == 0x0A {
        value = value.dropLast()
    }
    sink.headers.append((name: name, value: String(decoding: value, as: UTF8.self)))
    return length
}

// MARK: - One transfer

/// The transport-wide TLS and limit settings a transfer needs, resolved once.
struct TransferSettings: Sendable {
    var trustAnchorsPEM: [UInt8]?
    var connectTimeout: Duration
    var maxResponseBytes: Int
    var maxConnectionAge: Duration
    var userAgent: String
    var proxyURL: String?
    /// `CurlTransport.Configuration.allowsLoopbackHTTP` (the transport checks each URL's host before any I/O).
    var allowsLoopbackHTTP = false
}

/// A transfer set up on an easy handle and not finished yet: what must live until libcurl is done with it.
final class PreparedTransfer {
    let sink: TransferSink
    /// A copy of the request body (`CURLOPT_POSTFIELDS` points into it), freed by `release`.
    var body: UnsafeMutableRawBufferPointer?
    /// Time left before the request's deadline when the transfer was set up.
    let remaining: Duration

    init(sink: TransferSink, remaining: Duration) {
        self.sink = sink
        self.remaining = remaining
    }

    func release() {
        body?.deallocate()
        body = nil
    }

    deinit { release() }
}

/// What `CurlEasy.prepare` gives: a transfer ready for the multi handle, or an attempt that ended before it started.
enum Preparation {
    case ready(PreparedTransfer)
    case ended(AttemptResult)
}

extension CurlEasy {
    /// Sets `request` up on this handle for the multi handle (`CurlMulti` adds it, libcurl drives it). The handle's
    /// static options (TLS material, limits, callbacks) are set once per identity; each transfer sets only its URL,
    /// timeouts, method, body, headers and callback context.
    /// - Parameter sockets: The `CurlMulti` whose socket callbacks count open connections (`OPENSOCKETDATA`).
    func prepare(
        _ request: OutboundRequest, host: String, settings: TransferSettings, cancellation: CancellationFlag,
        sockets: UnsafeMutableRawPointer
    ) -> Preparation {
        let remaining = ContinuousClock.now.duration(to: request.deadline)
        guard remaining > .milliseconds(1) else {
            return .ended(
                AttemptResult(
                    outcome: .failure(
                        OutboundError(
                            code: .timeout(.total), bankID: request.bankID, host: host,
                            message: "deadline passed before the transfer started")),
                    newConnections: 0, bytesSent: 0, bytesReceived: 0))
        }
        let sink = TransferSink(maxBodyBytes: settings.maxResponseBytes, cancellation: cancellation)
        let prepared = PreparedTransfer(sink: sink, remaining: remaining)
        let context = Unmanaged.passUnretained(sink).toOpaque()
        errorBuffer[0] = 0
        do throws(CurlSetupError) {
            if configuredIdentity != .some(request.identity?.id) {
                configuredIdentity = nil  // until every static option is set
                curl_easy_reset(handle)
                try setStaticOptions(identity: request.identity, settings: settings, sockets: sockets)
                configuredIdentity = .some(request.identity?.id)
            }
            try set(CURLOPT_URL, request.url)
            // See `OutboundRequest.freshConnection`: no silent resend of an at-most-once call.
            try set(CURLOPT_FRESH_CONNECT, request.freshConnection ? 1 : 0)
            try set(CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(min(settings.connectTimeout, remaining).milliseconds)))
            try set(CURLOPT_TIMEOUT_MS, max(1, Int(remaining.milliseconds)))
            if !request.body.isEmpty {
                let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: request.body.count, alignment: 1)
                request.body.withUnsafeBytes { copy.copyMemory(from: $0) }
                prepared.body = copy
            }
            try configureMethod(request.method, body: UnsafeRawBufferPointer(prepared.body ?? UnsafeMutableRawBufferPointer(start: nil, count: 0)))
            let sawExpect = request.headers.contains { ASCII.equalsIgnoringCase($0.name, "expect") }
            // "Expect:" (empty) turns off libcurl's wait for a 100-continue.
            let list = headerList.build(request.headers, extra: sawExpect ? [] : ["Expect:"])
            try check(cshim_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, list), CURLOPT_HTTPHEADER)
            try set(CURLOPT_WRITEDATA, pointer: context)
            try set(CURLOPT_HEADERDATA, pointer: context)
        } catch {
            configuredIdentity = nil
            return .ended(finish(error.code, request: request, host: host, prepared: prepared, settings: settings))
        }
        if cancellation.isCancelled {
            return .ended(finish(CURLE_ABORTED_BY_CALLBACK, request: request, host: host, prepared: prepared, settings: settings))
        }
        return .ready(prepared)
    }

    /// The attempt's result once libcurl finished the transfer with `code` (or it never started); clears the
    /// per-transfer pointers from the handle and frees what `prepare` allocated.
    func finish(
        _ code: CURLcode, request: OutboundRequest, host: String, prepared: PreparedTransfer, settings: TransferSettings
    ) -> AttemptResult {
        let attempt = result(
            of: code, request: request, host: host, sink: prepared.sink, settings: settings, remaining: prepared.remaining)
        // Leave no dangling pointer in the handle: the body is freed now, the header list rebuilt by the next transfer.
        _ = cshim_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, nil)
        if prepared.body != nil {
            _ = cshim_easy_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)
            _ = cshim_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, -1)
        }
        prepared.release()
        return attempt
    }

    /// The options that are the same for every transfer of this handle: set after a `curl_easy_reset`, when the
    /// handle is new or was last used with another identity (`CurlMulti` keeps idle handles per identity, so in
    /// practice once per handle). Re-applying them per transfer cost a reset, twenty `setopt`s and three PEM
    /// copies (`CURL_BLOB_COPY`) for every bank call.
    private func setStaticOptions(
        identity: TLSClientIdentity?, settings: TransferSettings, sockets: UnsafeMutableRawPointer
    ) throws(CurlSetupError) {
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        // Safety defaults: https only (plain http too when allowed, for loopback hosts only: `CurlTransport.host`),
        // never follow redirects, never disable verification, no signals.
        try set(CURLOPT_PROTOCOLS_STR, settings.allowsLoopbackHTTP ? "http,https" : "https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "https")
        try set(CURLOPT_FOLLOWLOCATION, 0)
        try set(CURLOPT_NOSIGNAL, 1)
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        try set(CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_2))
        try set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        // An empty proxy disables the *_proxy environment variables: bank traffic goes where configured.
        try set(CURLOPT_PROXY, settings.proxyURL ?? "")
        // A loopback receiver is this machine's, never the proxy's (CIDR in CURLOPT_NOPROXY: curl ≥ 7.86).
        if settings.allowsLoopbackHTTP { try set(CURLOPT_NOPROXY, "localhost,127.0.0.0/8,::1") }
        try set(CURLOPT_MAXAGE_CONN, max(1, Int(settings.maxConnectionAge.milliseconds / 1000)))
        try set(CURLOPT_TCP_KEEPALIVE, 1)
        try set(CURLOPT_USERAGENT, settings.userAgent)
        if let anchors = settings.trustAnchorsPEM {
            // Only the configured bundle: no system CA path on top of it.
            try set(CURLOPT_CAINFO_BLOB, blob: anchors)
            try set(CURLOPT_CAPATH, nil)
        }
        if let identity {
            // Keys never touch the disk: libcurl copies the PEM into the handle (CURL_BLOB_COPY).
            try set(CURLOPT_SSLCERTTYPE, "PEM")
            try set(CURLOPT_SSLCERT_BLOB, blob: identity.certificatePEM)
            try set(CURLOPT_SSLKEYTYPE, "PEM")
            try set(CURLOPT_SSLKEY_BLOB, blob: identity.privateKeyPEM.reveal)
        }
        try set(CURLOPT_MAXFILESIZE_LARGE, offset: Int64(settings.maxResponseBytes))
        try check(cshim_easy_setopt_write_function(handle, CURLOPT_WRITEFUNCTION, writeBody), CURLOPT_WRITEFUNCTION)
        try check(
            cshim_easy_setopt_write_function(handle, CURLOPT_HEADERFUNCTION, receiveHeader), CURLOPT_HEADERFUNCTION)
        // Our own socket open/close, only to count open connections (idle ones included) for the metrics.
        try check(cshim_easy_setopt_opensocket_function(handle, CurlMulti.openSocket), CURLOPT_OPENSOCKETFUNCTION)
        try set(CURLOPT_OPENSOCKETDATA, pointer: sockets)
        try check(cshim_easy_setopt_closesocket_function(handle, CurlMulti.closeSocket), CURLOPT_CLOSESOCKETFUNCTION)
        try set(CURLOPT_CLOSESOCKETDATA, pointer: sockets)
        // No progress callback: task cancellation reaches a running transfer through `CurlMulti.abort`.
        try set(CURLOPT_NOPROGRESS, 1)
    }

    /// Sets the method and body, first undoing what the previous transfer on this handle set.
    /// - SeeAlso: `CURLOPT_HTTPGET`, `CURLOPT_NOBODY`, `CURLOPT_POST`, `CURLOPT_POSTFIELDS`, `CURLOPT_CUSTOMREQUEST`
    private func configureMethod(_ method: String, body: UnsafeRawBufferPointer) throws(CurlSetupError) {
        try set(CURLOPT_POSTFIELDS, pointer: nil)  // (this switches libcurl to POST…)
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: -1)
        try set(CURLOPT_CUSTOMREQUEST, nil)
        try set(CURLOPT_HTTPGET, 1)  // …so back to a plain GET with a body-less response: the state after a reset
        switch method {
        case "GET" where body.isEmpty:
            break
        case "HEAD":
            try set(CURLOPT_NOBODY, 1)
        default:
            if !body.isEmpty || method == "POST" {
                // The body buffer belongs to the PreparedTransfer, alive until the transfer finished.
                try set(CURLOPT_POST, 1)
                try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
                try set(CURLOPT_POSTFIELDS, pointer: UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafeRawPointer(errorBuffer)))
            }
            if method != "POST" { try set(CURLOPT_CUSTOMREQUEST, method) }
        }
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        guard code == CURLE_OK else { throw CurlSetupError(option: Int(option.rawValue), code: code) }
    }

    // MARK: - Results and error classification

    private func result(
        of code: CURLcode, request: OutboundRequest, host: String, sink: TransferSink, settings: TransferSettings,
        remaining: Duration
    ) -> AttemptResult {
        let newConnections = info(CURLINFO_NUM_CONNECTS)
        let headerBytes = info(CURLINFO_HEADER_SIZE)
        let requestBytes = info(CURLINFO_REQUEST_SIZE)
        let sentBody = requestBytes > 0 ? request.body.count : 0
        var attempt = AttemptResult(
            outcome: .failure(OutboundError(code: .other, bankID: request.bankID, host: host, message: "")),
            newConnections: newConnections, bytesSent: requestBytes + sentBody,
            bytesReceived: headerBytes + sink.body.count)
        if code == CURLE_OK {
            let response = OutboundResponse(
                status: info(CURLINFO_RESPONSE_CODE), headers: sink.headers, body: sink.body)
            attempt.outcome = .response(response)
            return attempt
        }
        let classification = classify(
            code, text: errorText, sink: sink, connectTimeoutIsShorter: settings.connectTimeout < remaining)
        var message = String(cString: curl_easy_strerror(code))
        let detail = errorText
        if !detail.isEmpty && detail != message { message += " (\(detail))" }
        if classification == .connectionDropped, newConnections > 0, headerBytes == 0, request.identity != nil,
            info(double: CURLINFO_APPCONNECT_TIME) > 0
        {
            // TLS 1.3 sends the server's verdict on our certificate after the handshake; a server that resets
            // the connection at once can destroy that alert before we read it.
            message += "; the server closed a fresh TLS connection before answering, which is also how a"
            message += " refused client certificate looks under TLS 1.3"
        }
        attempt.outcome = .failure(
            OutboundError(
                code: classification, bankID: request.bankID, host: host, curlCode: Int(code.rawValue),
                message: message))
        return attempt
    }

    /// Maps a `CURLcode` (plus the error text and verification result) to an `OutboundError.Code`.
    private func classify(
        _ code: CURLcode, text: String, sink: TransferSink, connectTimeoutIsShorter: Bool
    ) -> OutboundError.Code {
        switch code {
        case CURLE_UNSUPPORTED_PROTOCOL: return .notHTTPS
        case CURLE_URL_MALFORMAT: return .invalidURL
        case CURLE_COULDNT_RESOLVE_HOST: return .dnsFailure
        case CURLE_COULDNT_CONNECT: return .connectionRefused
        case CURLE_OPERATION_TIMEDOUT:
            // No request was sent yet (CURLINFO_PRETRANSFER_TIME unset): the connect phase (TCP + TLS) timed out.
            let connecting = info(double: CURLINFO_PRETRANSFER_TIME) == 0
            return .timeout(connecting && connectTimeoutIsShorter ? .connect : .total)
        case CURLE_FILESIZE_EXCEEDED: return .responseTooLarge
        case CURLE_WRITE_ERROR where sink.tooLarge: return .responseTooLarge
        case CURLE_ABORTED_BY_CALLBACK where sink.cancellation.isCancelled: return .cancelled
        case CURLE_SSL_CERTPROBLEM: return .tlsClientIdentityInvalid
        case CURLE_PEER_FAILED_VERIFICATION:
            // OpenSSL's chain verification result is X509_V_OK when only curl's own host-name check failed.
            if info(CURLINFO_SSL_VERIFYRESULT) == 0 || text.contains("subject name") || text.contains("does not match") {
                return .tlsHostnameMismatch
            }
            return .tlsServerUntrusted
        case CURLE_SSL_CONNECT_ERROR, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING:
            if Self.isClientCertificateAlert(text) { return .tlsClientCertificateRejected }
            return code == CURLE_SSL_CONNECT_ERROR ? .tlsHandshakeFailed : .connectionDropped
        default: return .other
        }
    }

    /// TLS alerts a server sends when it refuses the client certificate (RFC 8446 §6.2): with TLS 1.3 they
    /// arrive after the client's Finished, so libcurl may report them as a receive error rather than a handshake one.
    static func isClientCertificateAlert(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return ["alert certificate required", "alert bad certificate", "alert unknown ca", "alert certificate unknown",
                "alert certificate expired", "alert certificate revoked", "alert unsupported certificate",
                "alert access denied"].contains { lowered.contains($0) }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
