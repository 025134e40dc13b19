/// Why a request could not be parsed. Each reason maps to the status the server answers with before it closes
/// the connection (RFC 9112 §9.6: after a framing error the rest of the stream cannot be trusted).
///
/// Descriptions never contain request bytes, so they are safe to log.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The machine-readable reason.
    public enum Reason: String, Sendable, Equatable {
        case invalidRequestLine = "invalid request line"
        case requestLineTooLong = "request line too long"
        case unsupportedVersion = "HTTP version not supported"
        case methodNotImplemented = "method not implemented"
        case absoluteFormUnsupported = "absolute-form request target not supported"
        case invalidHeaderField = "invalid header field"
        case obsoleteLineFolding = "obsolete line folding"
        case bareLineFeed = "line not terminated by CRLF"
        case headerSectionTooLarge = "header section too large"
        case tooManyHeaderFields = "too many header fields"
        case missingHost = "missing Host header"
        case multipleHosts = "several Host headers"
        case contentLengthWithTransferEncoding = "Content-Length together with Transfer-Encoding"
        case invalidContentLength = "invalid Content-Length"
        case multipleContentLengths = "several Content-Length headers"
        case invalidTransferEncoding = "invalid Transfer-Encoding"
        case unsupportedTransferEncoding = "unsupported transfer coding"
        case invalidChunk = "invalid chunk"
        case chunkSizeOverflow = "chunk size overflow"
        case bodyTooLarge = "request body too large"
        case unsupportedExpectation = "unsupported expectation"
        case headerTimeout = "request header not received in time"
        /// The body did not arrive within the body timeout, or slower than the minimum body rate.
        case bodyTimeout = "request body not received in time"
    }

    /// The reason.
    public let reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    /// The status code the server answers with.
    public var status: Int {
        switch reason {
        case .requestLineTooLong: 414
        case .unsupportedVersion: 505
        case .methodNotImplemented, .unsupportedTransferEncoding: 501
        case .headerSectionTooLarge, .tooManyHeaderFields: 431
        case .bodyTooLarge: 413
        case .unsupportedExpectation: 417
        case .headerTimeout, .bodyTimeout: 408
        default: 400
        }
    }

    public var description: String { "HTTP parse error: \(reason.rawValue)" }
}
