import GatewayLogging

/// What every adapter call carries besides its arguments: correlation, a deadline, a logger and the PSU context
/// (docs/adapters.md). Adapters log at debug or below (the app logs each error once) and never log secrets.
public struct AdapterContext: Sendable {
    /// The inbound request id (`X-Request-Id`), logged beside each outbound `X-Request-ID`.
    public var requestID: String
    /// The call must finish (or throw `AdapterError.timeout`) by then.
    public var deadline: ContinuousClock.Instant
    /// Carries the request's metadata.
    public var logger: Logger
    /// The customer's headers to forward and sign, empty for unattended calls.
    public var psu: PSUContext

    /// Memberwise initializer.
    public init(requestID: String, deadline: ContinuousClock.Instant, logger: Logger, psu: PSUContext = PSUContext()) {
        self.requestID = requestID
        self.deadline = deadline
        self.logger = logger
        self.psu = psu
    }
}

/// The STET `PSU-*` headers of a customer-present call (docs/protocol.md §2.2), in the order given there, with their
/// canonical names. A call with `PSU-IP-Address` is *attended*; without, it counts against the unattended budget.
public struct PSUContext: Hashable, Sendable {
    /// The twelve STET PSU headers, in the order they are forwarded and signed; the raw value is the canonical name.
    public enum Header: String, CaseIterable, Sendable {
        case ipAddress = "PSU-IP-Address", ipPort = "PSU-IP-Port", httpMethod = "PSU-HTTP-Method", date = "PSU-Date"
        case userAgent = "PSU-User-Agent", referer = "PSU-Referer", accept = "PSU-Accept"
        case acceptCharset = "PSU-Accept-Charset", acceptEncoding = "PSU-Accept-Encoding"
        case acceptLanguage = "PSU-Accept-Language", geoLocation = "PSU-GEO-Location", deviceID = "PSU-Device-ID"
    }

    /// The headers present, canonical name and value, in `Header` order.
    public private(set) var headers: [(name: String, value: String)]

    /// No PSU headers: an unattended call.
    public init() { headers = [] }

    /// Picks the PSU headers out of an inbound request's headers, in one pass (names compared case-insensitively;
    /// the first value of a repeated header wins; empty values are dropped; other headers are ignored).
    /// - Parameters:
    ///   - inbound: The request's headers.
    ///   - check: Sees every `psu-*` header first, as sent (untrimmed, empty or repeated ones included), with its
    ///     `Header` — nil for a `psu-*` name STET does not define: the API's input rules (GatewayApp).
    public init(
        headers inbound: some Sequence<(name: String, value: String)>,
        check: (_ header: Header?, _ name: String, _ value: String) -> Void = { _, _, _ in }
    ) {
        // Byte comparisons, no lower-cased copies or dictionary: this runs for every API call.
        var found: [(header: Header, value: String)] = []
        for (name, value) in inbound where ASCII.hasPrefixIgnoringCase(name, "psu-") {
            let header = Self.order.first { ASCII.equalsIgnoringCase($0.rawValue, name) }
            check(header, name, value)
            guard let header, !found.contains(where: { $0.header == header }) else { continue }
            let trimmed = value.trimmingWhitespace()
            if !trimmed.isEmpty { found.append((header, trimmed)) }
        }
        guard !found.isEmpty else {
            headers = []
            return
        }
        let order = Self.order
        headers = found.sorted { order.firstIndex(of: $0.header)! < order.firstIndex(of: $1.header)! }
            .map { (name: $0.header.rawValue, value: $0.value) }
    }

    /// `Header.allCases`, made once (`allCases` builds a new array on each use).
    private static let order = Header.allCases

    /// Whether the customer is present (`PSU-IP-Address` given).
    public var isAttended: Bool { headers.contains { $0.name == "PSU-IP-Address" } }

    /// The value of one header by canonical name.
    public subscript(name: String) -> String? { headers.first { ASCII.equalsIgnoringCase($0.name, name) }?.value }

    public static func == (lhs: PSUContext, rhs: PSUContext) -> Bool {
        lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        for header in headers {
            hasher.combine(header.name)
            hasher.combine(header.value)
        }
    }
}
