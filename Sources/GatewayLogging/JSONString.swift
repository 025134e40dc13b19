/// JSON string escaping (RFC 8259 §7) as Foundation writes it, shared by the log renderer, JSONKit's writers and
/// anyone writing JSON by hand: `"` and `\` escaped, control characters as `\b \f \n \r \t` or `\u00XX`,
/// everything else (`/` and non-ASCII included) as is.
public enum JSONString {
    /// Appends `value` as a quoted JSON string to `out`.
    public static func append(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // The usual case, nothing to escape: one bulk copy instead of a switch per byte.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: value.utf8)
        } else {
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case 0x08: out.append(contentsOf: #"\b"#.utf8)
                case 0x0C: out.append(contentsOf: #"\f"#.utf8)
                case 0x0A: out.append(contentsOf: #"\n"#.utf8)
                case 0x0D: out.append(contentsOf: #"\r"#.utf8)
                case 0x09: out.append(contentsOf: #"\t"#.utf8)
                case 0..<0x20:
                    let hex: StaticString = "0123456789abcdef"
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hex.utf8Start[Int(byte >> 4)])
                    out.append(hex.utf8Start[Int(byte & 0x0F)])
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `value` as a quoted JSON string to `out`.
    public static func append(_ value: String, to out: inout String) {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `value` as a quoted JSON string.
    public static func quoted(_ value: String) -> String {
        var bytes: [UInt8] = []
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
