/// A failed outbound call, safe to log: it names the bank and the host, libcurl's code and messages, and never
/// a token, a key, a URL path or query, or a body.
///
/// Equality compares `code` only, so tests and callers can write `#expect(error.code == .timeout(.connect))`
/// or `error == OutboundError.timeout`.
public struct OutboundError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Which phase of a timeout fired.
    public enum TimeoutPhase: String, Sendable {
        /// TCP connection and TLS handshake (`CURLOPT_CONNECTTIMEOUT_MS`).
        case connect
        /// The whole call (`CURLOPT_TIMEOUT_MS`, from the request's deadline).
        case total
    }

    /// What went wrong.
    public enum Code: Sendable, Equatable, CustomStringConvertible {
        /// The host name did not resolve (`CURLE_COULDNT_RESOLVE_HOST`).
        case dnsFailure
        /// Nothing listened on the port, or the connection was refused (`CURLE_COULDNT_CONNECT`).
        case connectionRefused
        /// The connection broke before a complete response came (`CURLE_GOT_NOTHING`, send/receive errors).
        case connectionDropped
        /// The server refused our client certificate (a TLS alert such as `certificate required`,
        /// `bad certificate` or `unknown ca`).
        case tlsClientCertificateRejected
        /// Our client certificate or key could not be used (`CURLE_SSL_CERTPROBLEM`: bad PEM, key mismatch).
        case tlsClientIdentityInvalid
        /// The server's certificate does not chain to a trusted anchor, or is expired or revoked.
        case tlsServerUntrusted
        /// The server's certificate is valid but for another host name.
        case tlsHostnameMismatch
        /// Any other TLS handshake failure (protocol version, cipher, unexpected alert).
        case tlsHandshakeFailed
        /// A deadline passed.
        case timeout(TimeoutPhase)
        /// The body grew past the configured maximum; the transfer was aborted.
        case responseTooLarge
        /// The URL could not be parsed.
        case invalidURL
        /// The URL's scheme is not `https`.
        case notHTTPS
        /// A header name or value the transport refuses to send (CR, LF or NUL: header injection).
        case invalidHeader
        /// The calling task was cancelled and the transfer aborted.
        case cancelled
        /// Anything else (see `curlCode` and `message`).
        case other

        public var description: String {
            switch self {
            case .dnsFailure: "DNS failure"
            case .connectionRefused: "connection refused"
            case .connectionDropped: "connection dropped"
            case .tlsClientCertificateRejected: "TLS: our client certificate was rejected"
            case .tlsClientIdentityInvalid: "TLS: our client certificate or key is unusable"
            case .tlsServerUntrusted: "TLS: server certificate not trusted"
            case .tlsHostnameMismatch: "TLS: server certificate is for another host name"
            case .tlsHandshakeFailed: "TLS handshake failed"
            case .timeout(let phase): "\(phase.rawValue) timeout"
            case .responseTooLarge: "response too large"
            case .invalidURL: "invalid URL"
            case .notHTTPS: "URL is not https"
            case .invalidHeader: "invalid header field"
            case .cancelled: "cancelled"
            case .other: "transfer failed"
            }
        }

        /// A short stable name for audit records and metrics labels (`dns_failure`, `timeout_connect`, …).
        public var kind: String {
            switch self {
            case .dnsFailure: "dns_failure"
            case .connectionRefused: "connection_refused"
            case .connectionDropped: "connection_dropped"
            case .tlsClientCertificateRejected: "tls_client_certificate_rejected"
            case .tlsClientIdentityInvalid: "tls_client_identity_invalid"
            case .tlsServerUntrusted: "tls_server_untrusted"
            case .tlsHostnameMismatch: "tls_hostname_mismatch"
            case .tlsHandshakeFailed: "tls_handshake_failed"
            case .timeout(let phase): "timeout_\(phase.rawValue)"
            case .responseTooLarge: "response_too_large"
            case .invalidURL: "invalid_url"
            case .notHTTPS: "not_https"
            case .invalidHeader: "invalid_header"
            case .cancelled: "cancelled"
            case .other: "other"
            }
        }
    }

    /// What went wrong.
    public var code: Code
    /// The bank called.
    public var bankID: String
    /// The host (and port, if explicit) called; never the path or query.
    public var host: String
    /// libcurl's `CURLcode`, or nil if the call failed before libcurl ran.
    public var curlCode: Int?
    /// `curl_easy_strerror(curlCode)` plus the `CURLOPT_ERRORBUFFER` text, or our own explanation.
    public var message: String

    public var description: String {
        var text = "outbound call to bank \(bankID) (\(host)) failed: \(code)"
        if let curlCode { text += " [CURLcode \(curlCode)]" }
        if !message.isEmpty { text += ": \(message)" }
        return text
    }

    public static func == (lhs: OutboundError, rhs: OutboundError) -> Bool { lhs.code == rhs.code }
}
