import Foundation
import GatewayCore
import GatewayLogging

/// Resolves HAL `href`s from bank responses (protocol-reference §2.1, §2.6): relative hrefs include the bank's
/// prefix (`/cic/stet-psd2-api/v2.0/accounts/1/transactions?page=2`) and are resolved against the API **host**,
/// never the API root; absolute hrefs are accepted only on the API's own origin, so a response can never send our
/// signed, mTLS-authenticated call somewhere else.
public enum STETLinks {
    /// The absolute URL for `href`.
    /// - Parameters:
    ///   - href: The link as the bank wrote it (taken literally even when `templated` is `true`).
    ///   - apiRoot: The bank's STET API root (`BankProfile.Endpoints.apiRoot`).
    /// - Throws: `AdapterError.invalidResponse` for an empty href, another origin or an unusable URL.
    public static func resolve(_ href: String, apiRoot: String) throws -> String {
        let link = href.trimmingWhitespace()
        guard !link.isEmpty, !link.contains(" ") else {
            throw AdapterError.invalidResponse(reason: "empty or malformed link")
        }
        guard let root = Origin(apiRoot) else {
            throw AdapterError.invalidResponse(reason: "API root is not an https URL")
        }
        if link.hasPrefix("//") {
            return try resolve("https:" + link, apiRoot: apiRoot)
        }
        if let target = Origin(link) {
            guard target.key == root.key else {
                throw AdapterError.invalidResponse(reason: "link leaves the bank's API host")
            }
            return root.origin + target.rest
        }
        if hasScheme(link) { throw AdapterError.invalidResponse(reason: "link is not https") }
        if link.hasPrefix("/") { return root.origin + link }
        // A path relative to the API root (not seen in the field; RFC 3986 §5.2 against "<apiRoot>/").
        let base = root.rest.hasSuffix("/") ? root.rest : root.rest + "/"
        return root.origin + base + link
    }

    /// Whether `link` starts with a URI scheme (`http:`, `ftp:`, `javascript:`), RFC 3986 §3.1; a `:` later in the
    /// path or query (`?next=https://…`) does not count.
    static func hasScheme(_ link: String) -> Bool {
        guard let colon = link.firstIndex(of: ":"), let first = link.first, first.isASCII, first.isLetter else {
            return false
        }
        return link[..<colon].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }

    /// Scheme and authority of an absolute https URL, compared case-insensitively with the default port removed.
    struct Origin {
        let origin: String
        let key: String
        let rest: String

        /// `host[:port]` as written.
        let authority: String

        init?(_ url: String) {
            // Byte scans: this runs for every outbound resource call.
            guard ASCII.hasPrefixIgnoringCase(url, "https://") else { return nil }
            let utf8 = url.utf8
            let start = utf8.index(utf8.startIndex, offsetBy: 8)
            let end = utf8[start...].firstIndex { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 } ?? utf8.endIndex
            let authority = String(url[start..<end])
            guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else { return nil }
            self.authority = authority
            origin = "https://" + authority
            var normalized = ASCII.lowercased(authority)
            if normalized.hasSuffix(":443") { normalized.removeLast(4) }
            key = normalized
            rest = String(url[end...])
        }
    }
}
