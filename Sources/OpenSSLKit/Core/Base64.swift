import FoundationEssentials
import GatewayLogging

/// Base64 (RFC 4648 §4, with padding) and base64url (§5, without padding) helpers used across Passerelle:
/// `Digest` and `Signature` values, JWK `n`/`e`/`x5c`/`x5t#S256`, sealed secrets.
public enum Base64 {
    /// Standard base64 with padding (`+`, `/`, `=`).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        append(Array(bytes), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the padded base64 of `bytes` to `out` (no intermediate `Data` or `String`: a signature's base64 is
    /// written on every outbound call).
    public static func append(_ bytes: [UInt8], to out: inout [UInt8]) {
        let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        let table = alphabet.utf8Start
        out.reserveCapacity(out.count + (bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(table[Int(n >> 18)])
            out.append(table[Int(n >> 12 & 0x3F)])
            out.append(table[Int(n >> 6 & 0x3F)])
            out.append(table[Int(n & 0x3F)])
            i += 3
        }
        let rest = bytes.count - i
        if rest > 0 {
            let n = UInt32(bytes[i]) << 16 | (rest == 2 ? UInt32(bytes[i + 1]) << 8 : 0)
            out.append(table[Int(n >> 18)])
            out.append(table[Int(n >> 12 & 0x3F)])
            out.append(rest == 2 ? table[Int(n >> 6 & 0x3F)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
    }

    /// Decodes standard base64 (padding optional, surrounding whitespace ignored); nil when invalid.
    public static func decode(_ text: String) -> [UInt8]? {
        var s = text.trimmingWhitespace()
        guard !s.contains("-"), !s.contains("_") else { return nil }
        let remainder = s.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { s += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: s).map { [UInt8]($0) }
    }

    /// base64url without padding (`-`, `_`), as JOSE uses (RFC 7515 §2).
    public static func urlEncode(_ bytes: some Sequence<UInt8>) -> String {
        var s = encode(bytes)
        s = s.replacing("+", with: "-").replacing("/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// Decodes base64url (padding optional); nil when invalid.
    public static func urlDecode(_ text: String) -> [UInt8]? {
        guard !text.contains("+"), !text.contains("/") else { return nil }
        return decode(text.replacing("-", with: "+").replacing("_", with: "/"))
    }
}

/// Hex helpers for fingerprints and serial numbers.
public enum Hex {
    /// Lower-case hex without separators, e.g. `0a1b`.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits: StaticString = "0123456789abcdef"
        let bytes = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits.utf8Start[Int(b >> 4)])
            out.append(digits.utf8Start[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Upper-case hex pairs joined by `:`, as `openssl x509 -fingerprint` prints them.
    public static func colonSeparated(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { b in
            let h = String(b, radix: 16, uppercase: true)
            return h.count == 1 ? "0" + h : h
        }.joined(separator: ":")
    }
}
