import GatewayLogging

/// The one decision about a request's path, made once before anything looks at it.
///
/// The server accepts only origin-form targets whose path is already in canonical form (RFC 3986 §6.2.2):
/// no empty segment (`//`, a trailing `/`), no `.` or `..` segment, no percent-encoded unreserved character
/// (`%76` for `v`), no encoded `/` (`%2F`, which would make one segment look like two), no encoded control
/// character or NUL, well-formed `%XX` escapes decoding to UTF-8 (overlong forms are not UTF-8), no fragment.
/// Anything else is refused with 400 rather than rewritten, so that routing, authentication, the access log,
/// metrics and a signature over `(request-target)` all see the same bytes. Hex digits of an escape may be of
/// either case (`%3a` and `%3A` both decode to `:`).
///
/// Routing then compares decoded segments with route templates byte for byte (`/V1/banks` is not `/v1/banks`).
public struct RequestTarget: Sendable, Equatable {
    /// The path exactly as received (canonical by construction).
    public let path: String
    /// The path's segments, each percent-decoded separately (`/` is `[]`).
    public let segments: [String]
    /// Query parameters in order, percent-decoded (`+` is a space).
    public let query: [QueryItem]

    /// One `name=value` pair of the query.
    public struct QueryItem: Sendable, Equatable {
        public let name: String
        public let value: String
    }

    /// Why a target was refused; the description names the rule and no request byte, so it is safe to log.
    public enum Refusal: String, Error, Sendable, Equatable, CustomStringConvertible {
        case notOriginForm = "the request target must be an absolute path"
        case fragment = "a request target has no fragment (#)"
        case emptySegment = "the path has an empty segment (doubled or trailing slash)"
        case dotSegment = "the path has a '.' or '..' segment"
        case invalidCharacter = "the path has a character outside RFC 3986 pchar"
        case malformedEscape = "a percent escape is malformed"
        case encodedUnreserved = "the path percent-encodes an unreserved character"
        case encodedSlash = "the path percent-encodes '/'"
        case encodedControl = "the target percent-encodes a control character or NUL"
        case notUTF8 = "a percent-decoded component is not valid UTF-8"

        public var description: String { rawValue }
    }

    /// Parses `target` (the request line's second token) or throws why it is not canonical.
    public init(_ target: String) throws(Refusal) {
        let bytes = Array(target.utf8)
        guard bytes.first == UInt8(ascii: "/") else { throw .notOriginForm }
        if bytes.contains(UInt8(ascii: "#")) { throw .fragment }
        let question = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.endIndex
        let pathBytes = bytes[..<question]
        var segments: [String] = []
        if pathBytes.count > 1 {
            // Every segment between slashes, including empty ones (so `//` and a trailing `/` are seen); sized once
            // and cut in place (this runs for every request).
            segments.reserveCapacity(pathBytes.reduce(0) { $0 + ($1 == UInt8(ascii: "/") ? 1 : 0) })
            var start = pathBytes.startIndex + 1
            for index in start...pathBytes.endIndex where index == pathBytes.endIndex || pathBytes[index] == UInt8(ascii: "/") {
                segments.append(try Self.segment(pathBytes[start..<index]))
                start = index + 1
            }
        }
        self.path = String(decoding: pathBytes, as: UTF8.self)
        self.segments = segments
        self.query = question == bytes.endIndex ? [] : try Self.query(bytes[(question + 1)...])
    }

    private static func segment(_ raw: ArraySlice<UInt8>) throws(Refusal) -> String {
        if raw.isEmpty { throw .emptySegment }
        if raw.elementsEqual(".".utf8) || raw.elementsEqual("..".utf8) { throw .dotSegment }
        guard raw.allSatisfy(isPathChar) else { throw .invalidCharacter }
        guard raw.contains(UInt8(ascii: "%")) else { return String(decoding: raw, as: UTF8.self) }
        let decoded = try decode(raw, plusAsSpace: false) { byte throws(Refusal) in
            if isUnreserved(byte) { throw .encodedUnreserved }
            if byte == UInt8(ascii: "/") { throw .encodedSlash }
        }
        return decoded
    }

    private static func query(_ raw: ArraySlice<UInt8>) throws(Refusal) -> [QueryItem] {
        var items: [QueryItem] = []
        for pair in raw.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.endIndex
            let name = try decode(pair[..<equals], plusAsSpace: true) { _ throws(Refusal) in }
            let value =
                equals == pair.endIndex
                ? "" : try decode(pair[(equals + 1)...], plusAsSpace: true) { _ throws(Refusal) in }
            items.append(QueryItem(name: name, value: value))
        }
        return items
    }

    /// Decodes `%XX` escapes; `check` sees each escaped byte. Escaped control characters are always refused
    /// (a literal one cannot be on the request line at all).
    private static func decode(
        _ raw: ArraySlice<UInt8>, plusAsSpace: Bool, check: (UInt8) throws(Refusal) -> Void
    ) throws(Refusal) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i < raw.endIndex {
            let b = raw[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < raw.endIndex, let h = PercentEncoding.hexValue(raw[i + 1]),
                    let l = PercentEncoding.hexValue(raw[i + 2])
                else {
                    throw .malformedEscape
                }
                let byte = h << 4 | l
                if byte < 0x20 || byte == 0x7F { throw .encodedControl }
                try check(byte)
                out.append(byte)
                i += 3
            } else {
                out.append(plusAsSpace && b == UInt8(ascii: "+") ? 0x20 : b)
                i += 1
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    /// unreserved (RFC 3986 §2.3).
    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// pchar (RFC 3986 §3.3): unreserved, `%`, sub-delims, `:` and `@`.
    static func isPathChar(_ b: UInt8) -> Bool {
        switch b {
        case _ where isUnreserved(b): true
        case UInt8(ascii: "%"), UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","),
            UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
            true
        default: false
        }
    }
}
