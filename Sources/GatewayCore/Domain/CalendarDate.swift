import GatewayLogging

/// A day of the proleptic Gregorian calendar without a time zone, written `YYYY-MM-DD` on the API.
///
/// Banks send dates as `2020-06-22` (BPCE) or date-times such as `2021-11-12T00:00:00Z` (Euro-Information stubs,
/// docs/protocol.md §2.5); `normalizing(_:)` keeps the calendar day *as written* by the bank, without converting
/// an offset to UTC, because a booking date is the bank's local day.
public struct CalendarDate: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    /// Year, 1–9999.
    public let year: Int
    /// Month, 1–12.
    public let month: Int
    /// Day of the month, 1–31.
    public let day: Int

    /// - Returns: `nil` when the triple is not a real date.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...Self.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly `YYYY-MM-DD`.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D,
            let y = Self.number(bytes[0..<4]), let m = Self.number(bytes[5..<7]), let d = Self.number(bytes[8..<10])
        else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// Accepts `YYYY-MM-DD` or an RFC 3339 / ISO 8601 date-time starting with it (`2021-11-12T00:00:00Z`,
    /// `2024-03-20T10:15:30.000+01:00`, also with a space instead of `T`), and returns the date part.
    /// - Returns: `nil` for anything else.
    public static func normalizing(_ text: String) -> CalendarDate? {
        let trimmed = text.trimmingWhitespace()
        if trimmed.utf8.count == 10 { return CalendarDate(trimmed) }
        let bytes = Array(trimmed.utf8)
        guard bytes.count > 10, bytes[10] == 0x54 || bytes[10] == 0x74 || bytes[10] == 0x20 else { return nil }
        // The time part must at least look like HH:MM so that "2024-03-20Tgarbage" is refused.
        let rest = bytes[11...]
        guard rest.count >= 5, let h = number(rest.prefix(2)), h < 24, rest[rest.startIndex + 2] == 0x3A,
            let mi = number(rest.dropFirst(3).prefix(2)), mi < 60
        else { return nil }
        return CalendarDate(String(decoding: bytes[0..<10], as: UTF8.self))
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let date = CalendarDate.normalizing(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date YYYY-MM-DD")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Day arithmetic

    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int { CivilDays.days(year: year, month: month, day: day) }

    /// The date `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch: Int) {
        (year, month, day) = CivilDays.date(days: daysSinceEpoch)
    }

    /// The date `days` later (or earlier when negative).
    public func adding(days: Int) -> CalendarDate { CalendarDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        // 1970-01-01 was a Thursday (4).
        let r = (daysSinceEpoch + 3) % 7
        return (r < 0 ? r + 7 : r) + 1
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func number(_ bytes: some Collection<UInt8>) -> Int? {
        guard !bytes.isEmpty else { return nil }
        var value = 0
        for b in bytes {
            guard b >= 0x30 && b <= 0x39 else { return nil }
            value = value * 10 + Int(b - 0x30)
        }
        return value
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    let s = String(value)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}
