import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Resolves HAL `href`s from bank responses (docs/protocol.md §2.1, §2.6): relative hrefs include the bank's
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
        guard let root = BankURL(apiRoot) else {
            throw AdapterError.invalidResponse(reason: "API root is not an https URL")
        }
        if link.hasPrefix("//") {
            return try resolve("https:" + link, apiRoot: apiRoot)
        }
        // A fragment is never part of a request: each form below drops it.
        if let target = BankURL(link) {
            guard target.originKey == root.originKey else {
                throw AdapterError.invalidResponse(reason: "link leaves the bank's API host")
            }
            return root.origin + target.target
        }
        if hasScheme(link) { throw AdapterError.invalidResponse(reason: "link is not https") }
        let withoutFragment = String(link.utf8.prefix { $0 != UInt8(ascii: "#") })!
        if link.hasPrefix("/") { return root.origin + withoutFragment }
        // A path relative to the API root (not seen in the field; RFC 3986 §5.2 against "<apiRoot>/").
        let base = root.target.hasSuffix("/") ? root.target : root.target + "/"
        return root.origin + base + withoutFragment
    }

    /// Whether `link` starts with a URI scheme (`http:`, `ftp:`, `javascript:`), RFC 3986 §3.1; a `:` later in the
    /// path or query (`?next=https://…`) does not count.
    static func hasScheme(_ link: String) -> Bool {
        guard let colon = link.firstIndex(of: ":"), let first = link.first, first.isASCII, first.isLetter else {
            return false
        }
        return link[..<colon].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
    }
}
