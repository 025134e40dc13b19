import GatewayLogging

/// Sends one HTTP request to a bank and returns its response. Bank adapters depend on this protocol only, so
/// tests can replace the libcurl implementation (`CurlTransport`) with a fake.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and waits for the whole response, at most until `request.deadline`.
    /// - Throws: `OutboundError` (transport failures; an HTTP error status is a response, not an error), or
    ///   `CancellationError` when the calling task is cancelled.
    func send(_ request: OutboundRequest) async throws -> OutboundResponse
}

/// The client certificate and key presented for mutual TLS (the QWAC), held in memory only.
public struct TLSClientIdentity: Sendable {
    /// A stable identifier for connection pooling, computed by the caller (e.g. the certificate's SHA-256
    /// fingerprint). Two identities with the same `id` must hold the same certificate and key.
    public var id: String
    /// The certificate in PEM, leaf first, optionally followed by intermediates.
    public var certificatePEM: [UInt8]
    /// The unencrypted private key in PEM (PKCS#8 or PKCS#1). Never logged; handed to libcurl as a blob.
    public var privateKeyPEM: Secret<[UInt8]>

    /// - Parameters:
    ///   - id: Stable pooling key (the certificate fingerprint, say).
    ///   - certificatePEM: Leaf certificate (then chain) in PEM.
    ///   - privateKeyPEM: The matching private key in PEM.
    public init(id: String, certificatePEM: [UInt8], privateKeyPEM: Secret<[UInt8]>) {
        self.id = id
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// One outbound HTTPS request.
public struct OutboundRequest: Sendable {
    /// `GET`, `POST`, `PUT`, `DELETE`, `PATCH`… Only `GET` (and `HEAD`) is ever retried.
    public var method: String
    /// Absolute `https://` URL. Anything else is refused with `OutboundError.Code.notHTTPS` before any I/O.
    public var url: String
    /// Header fields in the order they are sent. `Expect` is suppressed unless given.
    public var headers: [(name: String, value: String)]
    /// The request body (empty for none).
    public var body: [UInt8]
    /// The instant by which the whole call, retries included, must have finished.
    public var deadline: ContinuousClock.Instant
    /// The client certificate for mutual TLS, or nil for none.
    public var identity: TLSClientIdentity?
    /// The bank this call goes to (for errors, logs and the audit record), e.g. `bpce:13807`.
    public var bankID: String
    /// The path template without identifiers or query values (e.g. `/stet/psd2/v1.6/accounts/{id}/balances`),
    /// for the audit record and logs. Defaults to the method alone when unknown.
    public var pathTemplate: String
    /// Names of the headers covered by the HTTP signature (for the audit record), lower-case.
    public var signedHeaderNames: [String]
    /// Whether the transport may send an idempotent request again after a failure (`RetryPolicy`). `false` where
    /// every request counts against a budget at the bank (a read without the customer present).
    public var mayRetry = true
    /// The `X-Request-Id` of the API call this one serves (for the audit record), if any.
    public var inboundRequestID: String?
    /// Send on a new connection (`CURLOPT_FRESH_CONNECT`), never on a pooled one. For a call that must reach the
    /// bank at most once (a payment request): libcurl silently sends a request again, body included, when a
    /// *reused* connection closes before any byte of the answer — after the bank may have acted on it
    /// (docs/curl.md). On a fresh connection it does not.
    public var freshConnection = false

    /// - Parameters:
    ///   - method: HTTP method.
    ///   - url: Absolute `https://` URL.
    ///   - headers: Header fields, in order.
    ///   - body: Body bytes.
    ///   - deadline: When the call (retries included) must be over.
    ///   - identity: QWAC for mutual TLS, if any.
    ///   - bankID: Bank identifier for audit and errors.
    ///   - pathTemplate: Path template for audit and logs.
    ///   - signedHeaderNames: Names of the signed headers.
    public init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        deadline: ContinuousClock.Instant, identity: TLSClientIdentity? = nil, bankID: String,
        pathTemplate: String, signedHeaderNames: [String] = []
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.deadline = deadline
        self.identity = identity
        self.bankID = bankID
        self.pathTemplate = pathTemplate
        self.signedHeaderNames = signedHeaderNames
    }

    /// The same request with a deadline `timeout` from now.
    public init(
        method: String, url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        timeout: Duration, identity: TLSClientIdentity? = nil, bankID: String, pathTemplate: String,
        signedHeaderNames: [String] = []
    ) {
        self.init(
            method: method, url: url, headers: headers, body: body, deadline: .now + timeout, identity: identity,
            bankID: bankID, pathTemplate: pathTemplate, signedHeaderNames: signedHeaderNames)
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }
}

/// A complete response. An HTTP error status (4xx, 5xx) is a response, not a thrown error.
public struct OutboundResponse: Sendable {
    /// The final status code.
    public var status: Int
    /// Header fields of the final response in received order (names as sent by the server).
    public var headers: [(name: String, value: String)]
    /// The body, at most the transport's configured maximum.
    public var body: [UInt8]

    /// - Parameters:
    ///   - status: Status code.
    ///   - headers: Header fields.
    ///   - body: Body bytes.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { ASCII.equalsIgnoringCase($0.name, name) }?.value
    }
}
