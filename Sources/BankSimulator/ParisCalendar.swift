import GatewayLogging

/// Civil-date arithmetic, Europe/Paris local time and the French public holidays, without a time-zone database:
/// BPCE's activation rule (docs/protocol.md §5.2) and HTTP dates only need these.
enum ParisCalendar {
    struct CivilDate: Hashable, Sendable, Comparable {
        var year: Int, month: Int, day: Int
        static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
        var isoString: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }
    }

    // MARK: - Days since the epoch (GatewayLogging's CivilDays)

    static func days(from d: CivilDate) -> Int64 { Int64(CivilDays.days(year: d.year, month: d.month, day: d.day)) }

    static func civil(fromDays days: Int64) -> CivilDate {
        let (year, month, day) = CivilDays.date(days: Int(days))
        return CivilDate(year: year, month: month, day: day)
    }

    /// 0 = Sunday … 6 = Saturday.
    static func weekday(_ d: CivilDate) -> Int { Int(((days(from: d) % 7) + 11) % 7) }

    static func addDays(_ d: CivilDate, _ n: Int64) -> CivilDate { civil(fromDays: days(from: d) + n) }

    // MARK: - Europe/Paris

    /// Paris offset from UTC in seconds at the UTC instant `t`: CEST (+2 h) from the last Sunday of March 01:00 UTC
    /// to the last Sunday of October 01:00 UTC (EU rule since 1996), CET (+1 h) otherwise.
    static func parisOffset(at t: Int64) -> Int64 {
        let year = civil(fromDays: floorDiv(t, 86400)).year
        func lastSunday(_ month: Int) -> Int64 {
            var d = CivilDate(year: year, month: month, day: 31)
            while weekday(d) != 0 { d = addDays(d, -1) }
            return days(from: d) * 86400 + 3600
        }
        return (t >= lastSunday(3) && t < lastSunday(10)) ? 7200 : 3600
    }

    /// Local Paris date and seconds since local midnight.
    static func parisLocal(_ t: Int64) -> (date: CivilDate, secondOfDay: Int64) {
        let local = t + parisOffset(at: t)
        return (civil(fromDays: floorDiv(local, 86400)), local - floorDiv(local, 86400) * 86400)
    }

    /// The UTC instant of a Paris local date and time of day.
    static func instant(paris date: CivilDate, secondOfDay: Int64) -> Int64 {
        let guess = days(from: date) * 86400 + secondOfDay
        return guess - parisOffset(at: guess - 3600)
    }

    // MARK: - French public holidays

    /// Easter Sunday (anonymous Gregorian algorithm).
    static func easter(_ year: Int) -> CivilDate {
        let a = year % 19
        let b = year / 100
        let c = year % 100
        let d = b / 4
        let e = b % 4
        let f = (b + 8) / 25
        let g = (b - f + 1) / 3
        let h = (19 * a + b - d - g + 15) % 30
        let i = c / 4
        let k = c % 4
        let l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        let month = (h + l - 7 * m + 114) / 31
        let day = ((h + l - 7 * m + 114) % 31) + 1
        return CivilDate(year: year, month: month, day: day)
    }

    /// The eleven French public holidays of `year`.
    static func holidays(_ year: Int) -> Set<CivilDate> {
        let e = easter(year)
        var set: Set<CivilDate> = [
            CivilDate(year: year, month: 1, day: 1), CivilDate(year: year, month: 5, day: 1),
            CivilDate(year: year, month: 5, day: 8), CivilDate(year: year, month: 7, day: 14),
            CivilDate(year: year, month: 8, day: 15), CivilDate(year: year, month: 11, day: 1),
            CivilDate(year: year, month: 11, day: 11), CivilDate(year: year, month: 12, day: 25),
        ]
        set.insert(addDays(e, 1))  // Easter Monday
        set.insert(addDays(e, 39))  // Ascension
        set.insert(addDays(e, 50))  // Whit Monday
        return set
    }

    static func isWorkingDay(_ d: CivilDate, extraHolidays: Set<CivilDate> = []) -> Bool {
        let wd = weekday(d)
        return wd != 0 && wd != 6 && !holidays(d.year).contains(d) && !extraHolidays.contains(d)
    }

    /// BPCE activation (docs/protocol.md §5.2): same day 14:00 Paris when `t` falls on a working day
    /// before the cutoff (09:59 by default), otherwise the next working day at 14:00.
    static func bpceActivation(after t: Int64, cutoff: Int64 = 9 * 3600 + 59 * 60, extraHolidays: Set<CivilDate> = [])
        -> Int64
    {
        let (date, second) = parisLocal(t)
        if isWorkingDay(date, extraHolidays: extraHolidays) && second < cutoff {
            return instant(paris: date, secondOfDay: 14 * 3600)
        }
        var next = addDays(date, 1)
        while !isWorkingDay(next, extraHolidays: extraHolidays) { next = addDays(next, 1) }
        return instant(paris: next, secondOfDay: 14 * 3600)
    }

    // MARK: - Formats

    private static let dayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]

    /// IMF-fixdate (RFC 9110 §5.6.7): `Tue, 07 Jun 2022 20:51:35 GMT`.
    static func httpDate(_ t: Int64) -> String {
        let d = civil(fromDays: floorDiv(t, 86400))
        let s = t - floorDiv(t, 86400) * 86400
        return "\(dayNames[weekday(d)]), \(pad(d.day, 2)) \(monthNames[d.month - 1]) \(pad(d.year, 4)) "
            + "\(pad(Int(s / 3600), 2)):\(pad(Int(s % 3600 / 60), 2)):\(pad(Int(s % 60), 2)) GMT"
    }

    /// Parses an IMF-fixdate; nil for anything else (the banks require this format).
    static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.trimmingSpaces.split(separator: " ")
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","),
            dayNames.contains(String(parts[0].dropLast())),
            parts[5] == "GMT", let day = Int(parts[1]), parts[1].count == 2,
            let monthIndex = monthNames.firstIndex(of: String(parts[2])), let year = Int(parts[3]), parts[3].count == 4
        else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, hms.allSatisfy({ $0.count == 2 }), let h = Int(hms[0]), let m = Int(hms[1]),
            let s = Int(hms[2]), h < 24, m < 60, s < 61, (1...31).contains(day)
        else { return nil }
        let d = CivilDate(year: year, month: monthIndex + 1, day: day)
        return days(from: d) * 86400 + Int64(h * 3600 + m * 60 + s)
    }

    /// RFC 3339 UTC: `2026-11-21T13:02:03Z`.
    static func timestamp(_ t: Int64) -> String {
        let d = civil(fromDays: floorDiv(t, 86400))
        let s = t - floorDiv(t, 86400) * 86400
        return "\(d.isoString)T\(pad(Int(s / 3600), 2)):\(pad(Int(s % 3600 / 60), 2)):\(pad(Int(s % 60), 2))Z"
    }

    /// Parses `YYYY-MM-DD` or an RFC 3339 date-time (its date part, as STET clients send either).
    static func parseDate(_ text: String) -> CivilDate? {
        let p = text.prefix(10).split(separator: "-")
        guard text.count >= 10, p.count == 3, p[0].count == 4, let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

func pad(_ v: Int, _ width: Int) -> String {
    let s = String(v)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (OWS, RFC 9110 §5.6.3).
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
