import Foundation
import GatewayCore
import GatewayLogging
import Synchronization

/// An outbound STET call before signing and sending: method, absolute URL, the `(request-target)` and `Host`
/// values, headers in message order and the body. Built by the pure functions below, then signed by OpenSSLKit's
/// `HTTPMessageSigner` with `BankProfile.headersToSign(hasBody:presentHeaders:)` and sent by CurlKit.
public struct STETRequest: Sendable {
    /// HTTP method (`GET`, `PUT`).
    public var method: String
    /// Absolute `https` URL.
    public var url: String
    /// Path and query exactly as sent (the Cavage `(request-target)` after the method).
    public var target: String
    /// `host[:port]` as sent in `Host`.
    public var host: String
    /// Headers in message order. `Authorization` holds the access token: never log this list as is.
    public var headers: [(name: String, value: String)]
    /// The request body, if any.
    public var body: [UInt8]?

    /// The header names, for `headersToSign(hasBody:presentHeaders:)`.
    public var headerNames: [String] { headers.map(\.name) }
}

/// Builds the PSD2 resource requests of protocol-reference §2.4 against a bank's API root.
public enum STETRequests {
    /// What every resource call carries.
    public struct Common: Sendable {
        /// The outbound `X-Request-ID` (a fresh UUID per call).
        public var requestID: String
        /// When the request is built; becomes the `Date` header.
        public var date: Date
        /// The access token, sent as `Authorization: Bearer`; never logged.
        public var accessToken: Secret<String>
        /// The customer's PSU headers to forward and sign.
        public var psu: PSUContext
        /// The `User-Agent` header value (Euro-Information requires one).
        public var userAgent: String

        /// Memberwise initializer.
        public init(requestID: String, date: Date, accessToken: Secret<String>, psu: PSUContext, userAgent: String) {
            self.requestID = requestID
            self.date = date
            self.accessToken = accessToken
            self.psu = psu
            self.userAgent = userAgent
        }
    }

    /// `GET /accounts/{accountResourceId}/transactions` for the first page (`dateFrom` inclusive, `dateTo`
    /// exclusive, as plain dates), or the bank's `next` URL, re-checked against the API host.
    public static func transactions(
        apiRoot: String, accountID: String, page: TransactionPageRequest, _ common: Common
    ) throws -> STETRequest {
        switch page {
        case .first(let from, let to):
            var query: [(String, String)] = []
            if let from { query.append(("dateFrom", from.description)) }
            if let to { query.append(("dateTo", to.description)) }
            let url = apiRoot + "/accounts/" + encodePathSegment(accountID) + "/transactions"
            return try make("GET", query.isEmpty ? url : url + "?" + STETOAuth.formEncode(query), common)
        case .next(let url):
            return try make("GET", STETLinks.resolve(url, apiRoot: apiRoot), common)
        }
    }

    /// `PUT /consents` with a JSON body.
    /// - Parameter digest: `SHA-256=<base64>` of `body` (OpenSSLKit computes it).
    public static func putConsents(apiRoot: String, body: [UInt8], digest: String, _ common: Common) throws
        -> STETRequest
    {
        try make("PUT", apiRoot + "/consents", common, body: body, digest: digest)
    }

    /// Headers in this order: `Host`, `Date`, `X-Request-ID`, `Authorization`, `Accept`, `User-Agent`, then
    /// `Content-Type` and `Digest` (a body, or `emptyBodyDigest` for banks that sign one on GET), then the PSU
    /// headers in STET order.
    /// - Parameter emptyBodyDigest: `SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=` for BPCE GETs.
    /// - Throws: `AdapterError.invalidResponse` when `url` is not an absolute https URL.
    public static func make(
        _ method: String, _ url: String, _ common: Common, body: [UInt8]? = nil, digest: String? = nil,
        emptyBodyDigest: String? = nil
    ) throws -> STETRequest {
        guard let origin = STETLinks.Origin(url) else {
            throw AdapterError.invalidResponse(reason: "request URL is not an absolute https URL")
        }
        let target = origin.rest.isEmpty ? "/" : origin.rest
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(10 + common.psu.headers.count)  // the signature is appended later
        headers.append(("Host", origin.authority))
        headers.append(("Date", imfFixdate(common.date)))
        headers.append(("X-Request-ID", common.requestID))
        headers.append(("Authorization", "Bearer " + common.accessToken.reveal))
        headers.append(("Accept", "application/hal+json, application/json"))
        headers.append(("User-Agent", common.userAgent))
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let value = digest ?? (body == nil ? emptyBodyDigest : nil) { headers.append(("Digest", value)) }
        headers += common.psu.headers
        return STETRequest(
            method: method, url: url, target: target, host: headers[0].value, headers: headers, body: body)
    }

    /// `Digest` of an empty body: `SHA-256=` + base64(SHA-256("")) (RFC 3230, RFC 5843).
    public static let emptyBodyDigest = "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

    /// RFC 9110 §5.6.7 IMF-fixdate (`Tue, 07 Jun 2022 20:51:35 GMT`), computed without locale or tz database.
    public static func imfFixdate(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        // Every bank call carries one; calls within the same second share the text.
        if let hit = lastFixdate.withLock({ $0.second == seconds ? $0.text : nil }) { return hit }
        let text = formatFixdate(seconds)
        lastFixdate.withLock { $0 = (seconds, text) }
        return text
    }

    private static let lastFixdate = Mutex<(second: Int, text: String)>((Int.min, ""))

    private static func formatFixdate(_ seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let time = seconds - days * 86_400
        let day = CalendarDate(daysSinceEpoch: days)
        let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(weekdays[day.isoWeekday - 1]), \(two(day.day)) \(months[day.month - 1]) \(day.year) "
            + "\(two(time / 3600)):\(two(time % 3600 / 60)):\(two(time % 60)) GMT"
    }

    /// Percent-encodes one path segment (RFC 3986 §3.3): STET resource ids may contain spaces, `/`, `?`, `(`, `'`.
    public static func encodePathSegment(_ segment: String) -> String {
        STETOAuth.percentEncode(segment)
    }
}
