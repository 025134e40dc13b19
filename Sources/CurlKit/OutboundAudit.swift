import Synchronization

/// One outbound bank call, as written to the audit log (`outbound_request_log`). It holds no token, body, key,
/// IBAN or query value: the path is a template and only header *names* are kept.
public struct OutboundAuditRecord: Sendable {
    /// When the call started (wall clock, seconds since 1970).
    public var startedAt: Double
    /// Our `X-Request-ID` sent to the bank, if the request had one.
    public var requestID: String?
    /// The bank called.
    public var bankID: String
    /// HTTP method.
    public var method: String
    /// Host (and explicit port) called.
    public var host: String
    /// The path template (no identifiers, no query).
    public var pathTemplate: String
    /// Names of the signed headers (lower-case).
    public var signedHeaderNames: [String]
    /// The final status, nil when no response came.
    public var status: Int?
    /// Wall time of the whole call, retries included.
    public var duration: Duration
    /// Transfers performed (1 + retries).
    public var attempts: Int
    /// Bytes sent over all attempts (request headers and bodies).
    public var bytesSent: Int
    /// Bytes received over all attempts (response headers and bodies).
    public var bytesReceived: Int
    /// The bank's correlation id from the final response (`X-Request-ID`, `X-Correlation-ID`), if any.
    public var bankCorrelationID: String?
    /// `OutboundError.Code.kind` when the call failed, nil on a response.
    public var errorKind: String?
    /// The `X-Request-Id` of the API call that caused this one, if any.
    public var inboundRequestID: String?
}

/// Receives one record per outbound call, successful or not. `record` is called on the transport's worker
/// thread right after the call and must not block: a sink that writes to a database queues the record and
/// writes it elsewhere, and logs (never throws) a failure to write.
public protocol OutboundAuditSink: Sendable {
    /// Takes one record. Must return quickly.
    func record(_ record: OutboundAuditRecord)
}

/// Drops every record (the default when no audit sink is configured).
public struct DiscardingOutboundAuditSink: OutboundAuditSink {
    public init() {}
    public func record(_ record: OutboundAuditRecord) {}
}
