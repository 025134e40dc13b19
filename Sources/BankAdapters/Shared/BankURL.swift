import GatewayLogging

/// An absolute `https` URL of a bank, split once: the one URL type of outbound calls. It gives the `Host` header
/// (the authority without a default `:443`), the Cavage `(request-target)` (path and query as written, `/` when
/// empty, no fragment) and the origin to compare links with (scheme and authority, case-insensitive, default port
/// removed). Byte scans only: this runs for every bank call.
struct BankURL: Sendable, Equatable {
    /// `host[:port]` exactly as written.
    let authority: String
    /// The `Host` header value: `authority` without a default `:443`.
    let host: String
    /// What two URLs of the same origin share: `host` lower-cased.
    let originKey: String
    /// Path and query as written, `/` when empty; a fragment is dropped (never sent, never signed).
    let target: String

    /// `https://authority`.
    var origin: String { "https://" + authority }
    /// The URL as it goes to the transport: origin and target.
    var absolute: String { origin + target }

    /// nil unless `url` is `https://authority[/path][?query][#fragment]` with a non-empty authority and no
    /// user information.
    init?(_ url: String) {
        guard ASCII.hasPrefixIgnoringCase(url, "https://") else { return nil }
        let utf8 = url.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: 8)
        let end = utf8[start...].firstIndex { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 } ?? utf8.endIndex
        let authority = String(url[start..<end])
        guard !authority.isEmpty, !authority.utf8.contains(UInt8(ascii: "@")) else { return nil }
        self.authority = authority
        var host = authority
        if ASCII.hasSuffixIgnoringCase(host, ":443") { host.removeLast(4) }
        self.host = host
        originKey = ASCII.lowercased(host)
        let fragment = utf8[end...].firstIndex(of: UInt8(ascii: "#")) ?? utf8.endIndex
        var target = String(url[end..<fragment])
        if target.isEmpty { target = "/" } else if target.utf8.first == UInt8(ascii: "?") { target = "/" + target }
        self.target = target
    }
}
