/// The request line and header section of one request, as the parser produced them.
public struct RequestHead: Sendable, Equatable {
    /// How the body is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    /// The request method.
    public var method: HTTPMethod
    /// The request target as received (origin-form, or `*` for `OPTIONS *`).
    public var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// The header fields in message order, values trimmed of surrounding whitespace.
    public var headers: HTTPHeaders
    /// How the body that follows is delimited.
    public var framing: Framing
    /// Whether the connection may be reused after this request (RFC 9112 §9.3).
    public var keepAlive: Bool
    /// `Expect: 100-continue` was sent.
    public var expectsContinue: Bool

    public static func == (lhs: RequestHead, rhs: RequestHead) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.minorVersion == rhs.minorVersion
            && lhs.framing == rhs.framing && lhs.keepAlive == rhs.keepAlive
            && lhs.expectsContinue == rhs.expectsContinue
            && lhs.headers.fields.map(\.name) == rhs.headers.fields.map(\.name)
            && lhs.headers.fields.map(\.value) == rhs.headers.fields.map(\.value)
    }
}

/// Size limits the parser enforces, each answered with its own status.
public struct HTTPLimits: Sendable, Equatable {
    /// Longest request line, CRLF excluded (414 beyond).
    public var maxRequestLineBytes: Int
    /// Largest header section: the sum of the field lines including their CRLFs, request line and final
    /// empty line excluded (431 beyond). Chunked trailers are held to the same limit.
    public var maxHeaderBytes: Int
    /// Most header fields (431 beyond).
    public var maxHeaderCount: Int
    /// Largest body, checked before it is read (413 beyond).
    public var maxBodyBytes: Int
    /// Longest chunk-size line including extensions (400 beyond).
    public var maxChunkLineBytes: Int

    public init(
        maxRequestLineBytes: Int = 8192, maxHeaderBytes: Int = 32768, maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1 << 20, maxChunkLineBytes: Int = 4096
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
