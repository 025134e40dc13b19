import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// One call to a bank, described without any header: the builder (`STETRequestBuilder`) turns it into the exact
/// outbound request the bank's rules demand.
struct SignedBankRequest: Sendable {
    /// How the request is signed.
    enum Signing: Sendable {
        /// No `Signature` (Euro-Information registration and token calls, every token call).
        case none
        /// A Cavage signature with this `keyId`, over the profile's header list.
        case sign(keyID: String)
    }

    var method: String
    /// Absolute https URL, query included, exactly as it goes on the request line.
    var url: String
    /// The path without identifiers or query values, for the audit log (`/stet/psd2/v1/accounts/{id}/balances`).
    var pathTemplate: String
    var body: [UInt8] = []
    /// `Content-Type` of `body` (only sent with a body).
    var contentType: String? = nil
    var accept = "application/hal+json, application/json"
    /// `Authorization: Bearer …`.
    var bearer: Secret<String>? = nil
    var signing: Signing = .none
    /// Whether the PSU headers of the context are forwarded (PSD2 resource calls only).
    var forwardsPSU = false
}

/// Builds the outbound request of a `SignedBankRequest` for one bank client (protocol-reference §1–§3, §4.4, §5.6):
/// `Host`, `Date` (IMF-fixdate from the injected clock), `X-Request-ID` (UUID v4), `Accept`, `Content-Type` and
/// `Digest` with a body (or always where the profile has `digestWithoutBody`), `Authorization: Bearer`, the PSU
/// headers, and a `Signature` over the profile's ordered header list plus every `psu-*` header present (never
/// `authorization`), with the QWAC as mTLS identity and the context's deadline.
struct STETRequestBuilder: Sendable {
    let client: BankClient
    let dependencies: AdapterDependencies

    /// The outbound request and the signing string (kept for tests; it holds no secret).
    func build(_ request: SignedBankRequest, context: AdapterContext) throws -> (OutboundRequest, signingString: String?) {
        let (authority, target) = Self.split(request.url)
        let bank = client.bank
        var headers: [(name: String, value: String)] = [
            ("Host", authority), ("Date", HTTPDate.imfFixdate(dependencies.now())),
            ("X-Request-ID", dependencies.newRequestID()), ("Accept", request.accept),
        ]
        let hasBody = !request.body.isEmpty
        if hasBody, let contentType = request.contentType { headers.append(("Content-Type", contentType)) }
        if hasBody || bank.digestWithoutBody { headers.append(("Digest", Digest.headerValue(for: request.body))) }
        if let bearer = request.bearer { headers.append(("Authorization", "Bearer " + bearer.reveal)) }
        if request.forwardsPSU { headers += context.psu.headers }

        var signedNames: [String] = []
        var signingString: String?
        if case .sign(let keyID) = request.signing {
            let present = Set(headers.map { $0.name.lowercased() })
            var names = (hasBody ? bank.signedHeadersWithBody : bank.signedHeaders).map { $0.lowercased() }.filter {
                $0 != "authorization" && ($0 == SigningString.requestTarget || present.contains($0))
            }
            for header in headers where header.name.lowercased().hasPrefix("psu-") {
                let name = header.name.lowercased()
                if !names.contains(name) { names.append(name) }
            }
            let signer = HTTPMessageSigner(key: try dependencies.credentials.signingKey(client.qseal), keyId: keyID)
            do {
                let signed = try signer.sign(
                    method: request.method, target: target, headers: headers.map { ($0.name, $0.value) }, names: names)
                headers.append(("Signature", signed.signature.headerValue))
                signingString = signed.signingString
            } catch {
                throw GatewayError.internal("request to \(bank.id) could not be signed: \(error)")
            }
            signedNames = names
        }
        let outbound = OutboundRequest(
            method: request.method, url: request.url, headers: headers, body: request.body, deadline: context.deadline,
            identity: try dependencies.credentials.tlsIdentity(client.qwac), bankID: bank.id.description,
            pathTemplate: request.pathTemplate, signedHeaderNames: signedNames)
        return (outbound, signingString)
    }

    /// The `Host` value (authority without a default `:443`) and the request target (path and query, `/` when empty)
    /// of an absolute URL.
    static func split(_ url: String) -> (authority: String, target: String) {
        var rest = Substring(url)
        if let range = rest.range(of: "://") { rest = rest[range.upperBound...] }
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = String(rest[..<end])
        if authority.lowercased().hasSuffix(":443") { authority.removeLast(4) }
        var target = String(rest[end...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        return (authority, target)
    }
}

/// HTTP dates (RFC 9110 §5.6.7 IMF-fixdate: `Tue, 07 Jun 2022 20:51:35 GMT`), English names, always GMT.
enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func imfFixdate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        var dayNumber = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - dayNumber * 86_400
        let weekday = Int((dayNumber % 7 + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        // Civil date from days since the epoch (H. Hinnant's algorithm).
        dayNumber += 719_468
        let era = (dayNumber >= 0 ? dayNumber : dayNumber - 146_096) / 146_097
        let dayOfEra = dayNumber - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
