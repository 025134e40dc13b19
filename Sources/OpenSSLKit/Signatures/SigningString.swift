import GatewayLogging

/// The draft-10 signing string (docs/protocol.md §3.2, draft-cavage-http-signatures-10 §2.3).
public enum SigningString {
    /// The `(request-target)` pseudo-header name.
    public static let requestTarget = "(request-target)"

    /// Builds the signing string: one `name: value` line per name, in order, joined by `\n`, no trailing newline.
    ///
    /// - `(request-target)` → lower-cased method, a space, `target` exactly as on the request line (path and query).
    /// - other names → lower-cased name, `: `, the value with surrounding whitespace removed and obsolete line
    ///   folding unfolded; several instances of a header (matched case-insensitively) are joined with `, ` in
    ///   message order.
    /// - Parameters:
    ///   - method: the HTTP method (`GET`, `post`, …).
    ///   - target: the path and query as sent (`/accounts?page=2`), never normalised or re-encoded.
    ///   - headers: the message's header fields in message order (names in any case).
    ///   - names: the header names to sign, in signing order.
    /// - Throws: `.headerListedButAbsent(name)`, `.emptyHeaderList`, `.unsupportedPseudoHeader` for `(created)`/`(expires)`.
    public static func build(
        method: String, target: String, headers: [(String, String)], names: [String]
    ) throws(HTTPSignatureError) -> String {
        String(decoding: try bytes(method: method, target: target, headers: headers, names: names), as: UTF8.self)
    }

    /// `build` as the bytes that are signed. Written into one buffer: this runs on every outbound call, and one
    /// string per line plus a join showed up in profiles of the proxied read path.
    public static func bytes(
        method: String, target: String, headers: [(String, String)], names: [String]
    ) throws(HTTPSignatureError) -> [UInt8] {
        guard !names.isEmpty else { throw .emptyHeaderList }
        var out: [UInt8] = []
        out.reserveCapacity(64 + target.utf8.count + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
        for (position, name) in names.enumerated() {
            if position > 0 { out.append(0x0A) }
            if ASCII.equalsIgnoringCase(name, requestTarget) {
                out.append(contentsOf: requestTarget.utf8)
                out.append(contentsOf: ": ".utf8)
                ASCII.appendLowercased(method, to: &out)
                out.append(0x20)
                out.append(contentsOf: target.utf8)
                continue
            }
            if name.utf8.first == UInt8(ascii: "(") { throw .unsupportedPseudoHeader(name.lowercased()) }
            ASCII.appendLowercased(name, to: &out)
            out.append(contentsOf: ": ".utf8)
            var found = false
            for header in headers where ASCII.equalsIgnoringCase(header.0, name) {
                if found { out.append(contentsOf: ", ".utf8) }
                found = true
                out.append(contentsOf: normalized(header.1).utf8)
            }
            guard found else { throw .headerListedButAbsent(name.lowercased()) }
        }
        return out
    }

    /// Trims surrounding whitespace and replaces obs-fold (CRLF or LF followed by spaces/tabs) with one space.
    static func normalized(_ value: String) -> String {
        // Fast path: nothing to trim or unfold (the usual case).
        let utf8 = value.utf8
        if let first = utf8.first, let last = utf8.last, first != 0x20, first != 0x09, last != 0x20, last != 0x09,
            !utf8.contains(where: { $0 == 0x0d || $0 == 0x0a })
        {
            return value
        }
        var out = ""
        var pendingFold = false
        for scalar in value.unicodeScalars {
            if scalar == "\r" || scalar == "\n" {
                pendingFold = true
            } else if pendingFold, scalar == " " || scalar == "\t" {
                continue
            } else {
                if pendingFold { out.append(" ") }
                pendingFold = false
                out.unicodeScalars.append(scalar)
            }
        }
        var trimmed = Substring(out)
        while let first = trimmed.first, first == " " || first == "\t" { trimmed.removeFirst() }
        while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
        return String(trimmed)
    }
}
