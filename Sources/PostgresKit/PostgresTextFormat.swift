import FoundationEssentials
import GatewayLogging

/// PostgreSQL's text formats for the types whose Swift side needs work: `bytea` hex, `timestamptz`, `text[]`.
/// Pure functions, so they are unit-tested without a server.
enum PostgresTextFormat {
    // MARK: - bytea (hex format)

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `\x` followed by two lowercase hex digits per byte.
    static func byteaHex(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(2 + bytes.count * 2)
        out += [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `\x…` hex output; nil for the legacy escape format or bad digits.
    static func parseByteaHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0
        else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity((utf8.count - 2) / 2)
        var i = 2
        while i < utf8.count {
            guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    // MARK: - timestamptz

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00`, rounded to the microsecond.
    static func timestamp(_ date: Date) -> String {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        let total = Int64(micros)
        var seconds = total / 1_000_000
        var fraction = total % 1_000_000
        if fraction < 0 {
            fraction += 1_000_000
            seconds -= 1
        }
        let (day, second) = CivilDays.day(ofEpochSeconds: Int(seconds))
        let days = Int64(day), secondOfDay = Int64(second)
        let (y, m, d) = civil(fromDays: days)
        // Digits written into one buffer (every audit row carries a timestamp).
        var out: [UInt8] = []
        out.reserveCapacity(32)
        func pad(_ v: Int64, _ width: Int) {
            let digits = String(max(0, v)).utf8
            for _ in digits.count..<max(width, digits.count) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: digits)
        }
        if y < 0 { out.append(UInt8(ascii: "-")) }
        pad(abs(y), 4)
        out.append(UInt8(ascii: "-"))
        pad(m, 2)
        out.append(UInt8(ascii: "-"))
        pad(d, 2)
        out.append(UInt8(ascii: " "))
        pad(secondOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        pad(secondOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        pad(secondOfDay % 60, 2)
        out.append(UInt8(ascii: "."))
        pad(fraction, 6)
        out.append(contentsOf: "+00".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses ISO `DateStyle` output: `YYYY-MM-DD HH:MM:SS[.f{1,6}][±HH[:MM[:SS]]]` (a `T` separator is accepted).
    /// No offset means UTC (the session's time zone). nil for `infinity`, BC dates and anything else.
    static func parseTimestamp(_ text: String) -> Date? {
        let s = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= s.count else { return nil }
            var v: Int64 = 0
            for k in i..<(i + count) {
                guard s[k] >= 48 && s[k] <= 57 else { return nil }
                v = v * 10 + Int64(s[k] - 48)
            }
            i += count
            return v
        }
        func expect(_ c: Character) -> Bool {
            guard i < s.count, s[i] == c.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            i < s.count, s[i] == UInt8(ascii: " ") || s[i] == UInt8(ascii: "T")
        else { return nil }
        i += 1
        guard let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var micros: Int64 = 0
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < s.count, s[i] >= 48, s[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(s[i] - 48) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits < 6 { for _ in digits..<6 { micros *= 10 } }
        }
        var offset: Int64 = 0
        if i < s.count, s[i] == UInt8(ascii: "Z") {
            i += 1
        } else if i < s.count {
            let sign: Int64
            switch s[i] {
            case UInt8(ascii: "+"): sign = 1
            case UInt8(ascii: "-"): sign = -1
            default: return nil
            }
            i += 1
            guard let oh = number(2) else { return nil }
            var om: Int64 = 0
            var os: Int64 = 0
            if expect(":") {
                guard let m = number(2) else { return nil }
                om = m
                if expect(":") {
                    guard let sec = number(2) else { return nil }
                    os = sec
                }
            }
            offset = sign * (oh * 3600 + om * 60 + os)
        }
        guard i == s.count else { return nil }
        let days = daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        Int64(CivilDays.days(year: Int(year), month: Int(month), day: Int(day)))
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let (year, month, day) = CivilDays.date(days: Int(days))
        return (Int64(year), Int64(month), Int64(day))
    }

    // MARK: - text[]

    /// An array literal with every element double-quoted: `{"a","b \"c\""}`.
    static func textArray(_ values: [String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(values.reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses a one-dimensional array literal. NULL elements become nil. nil for anything malformed.
    static func parseTextArray(_ text: String) -> [String?]? {
        var chars = Array(text)
        // An explicit lower bound prefix such as `[0:1]={…}` is skipped.
        if chars.first == "[", let eq = chars.firstIndex(of: "=") { chars.removeFirst(eq + 1) }
        guard chars.first == "{", chars.last == "}" else { return nil }
        var out: [String?] = []
        var i = 1
        let end = chars.count - 1
        if i == end { return [] }
        while i < end {
            if chars[i] == "\"" {
                var value = ""
                i += 1
                while i < end, chars[i] != "\"" {
                    if chars[i] == "\\" { i += 1 }
                    guard i < end else { return nil }
                    value.append(chars[i])
                    i += 1
                }
                guard i < end else { return nil }
                i += 1  // closing quote
                out.append(value)
            } else {
                var value = ""
                while i < end, chars[i] != "," {
                    if chars[i] == "{" || chars[i] == "\"" { return nil }  // multi-dimensional or malformed
                    if chars[i] == "\\" { i += 1 }
                    guard i < end else { return nil }
                    value.append(chars[i])
                    i += 1
                }
                let trimmed = value.trimmingWhitespace()
                out.append(trimmed.uppercased() == "NULL" ? nil : trimmed)
            }
            if i < end {
                guard chars[i] == "," else { return nil }
                i += 1
                if i == end { return nil }
            }
        }
        return out
    }
}

/// `text[]` as a bind or column value (a one-dimensional array without NULL elements). Interpolating a `[String]`
/// into a `Query` and decoding `[String].self` from a `Row` use it.
public struct PostgresTextArray: PostgresCodable, Hashable {
    /// The elements, in order.
    public var values: [String]
    /// Wraps `values`.
    public init(_ values: [String]) { self.values = values }
    public static var postgresType: UInt32 { PostgresOID.textArray }
    public var postgresText: String { PostgresTextFormat.textArray(values) }
    public init(postgresText text: String) throws {
        guard let parsed = PostgresTextFormat.parseTextArray(text) else {
            throw decodingFailure(PostgresTextArray.self)
        }
        var values: [String] = []
        for value in parsed {
            guard let value else { throw DatabaseError(.decodingFailed, message: "NULL element in text[]") }
            values.append(value)
        }
        self.values = values
    }
}

extension Query.StringInterpolation {
    /// `\(strings)`: a `text[]` placeholder.
    public mutating func appendInterpolation(_ value: [String]) {
        appendInterpolation(PostgresTextArray(value))
    }

    /// `\(strings)` where nil is NULL.
    public mutating func appendInterpolation(_ value: [String]?) {
        appendInterpolation(value.map(PostgresTextArray.init))
    }
}
