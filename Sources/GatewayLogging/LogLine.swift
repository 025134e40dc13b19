#if canImport(Glibc)
import Glibc
#endif

/// Renders one log record as a JSON object: `{"time":…,"level":…,"logger":…,"message":…, <metadata>}`.
enum LogLine {
    static func render(level: Logger.Level, label: String, message: String, metadata: [String: String]) -> String {
        var out = "{\"time\":\""
        out += timestamp()
        out += "\",\"level\":\""
        out += level.description
        out += "\",\"logger\":"
        JSONString.append(label, to: &out)
        out += ",\"message\":"
        JSONString.append(message, to: &out)
        for key in metadata.keys.sorted() {
            out += ","
            JSONString.append(key, to: &out)
            out += ":"
            JSONString.append(Logger.isSecretKey(key) ? "<redacted>" : metadata[key]!, to: &out)
        }
        out += "}"
        return out
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-21T13:02:03.123Z`.
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = time_t(ts.tv_sec)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T"
            + "\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}

/// Minimal JSON string escaping (RFC 8259 §7), shared by the log renderer and anyone writing JSON by hand.
public enum JSONString {
    /// Appends `value` as a quoted JSON string to `out`.
    public static func append(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// `value` as a quoted JSON string.
    public static func quoted(_ value: String) -> String {
        var out = ""
        append(value, to: &out)
        return out
    }
}
