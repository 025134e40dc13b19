/// RFC 3339 date-times in UTC, written with integer arithmetic (`CivilDays`, no libc, no locale): the log lines'
/// `time`, the API's dates (whole seconds) and the STET payment request's `creationDateTime` (milliseconds,
/// `+00:00`). The one writer of the format.
public enum UTCTimestamp {
    /// `2026-03-20T10:15:30.000Z` for `millisecondsSinceEpoch`; `offset` replaces the `Z` (e.g. `+00:00`).
    public static func withMilliseconds(millisecondsSinceEpoch: Int, offset: String = "Z") -> String {
        let seconds = (millisecondsSinceEpoch >= 0 ? millisecondsSinceEpoch : millisecondsSinceEpoch - 999) / 1000
        let milliseconds = millisecondsSinceEpoch - seconds * 1000
        return string { append(seconds: seconds, milliseconds: milliseconds, offset: offset, to: &$0) }
    }

    /// `2026-03-20T10:15:30Z` for `secondsSinceEpoch`.
    public static func seconds(_ secondsSinceEpoch: Int) -> String {
        string { append(seconds: secondsSinceEpoch, milliseconds: nil, offset: "Z", to: &$0) }
    }

    private static func string(_ write: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(29)
        write(&out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `seconds` since the epoch, then `.mmm` when `milliseconds` is given, then `offset`.
    static func append(seconds: Int, milliseconds: Int?, offset: String, to out: inout [UInt8]) {
        let (days, secondOfDay) = CivilDays.day(ofEpochSeconds: seconds)
        let (year, month, day) = CivilDays.date(days: days)
        appendDigits(year, width: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, width: 2, to: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, width: 2, to: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, width: 2, to: &out)
        if let milliseconds {
            out.append(UInt8(ascii: "."))
            appendDigits(milliseconds, width: 3, to: &out)
        }
        out.append(contentsOf: offset.utf8)
    }

    /// `value` (≥ 0) in decimal, left-padded with zeros to `width` digits.
    private static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 1 && rest / divisor >= 10 { divisor *= 10 }  // wider than `width`: all digits
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }
}
