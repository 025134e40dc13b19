import FoundationEssentials

/// When a BPCE registration (or its modification) becomes effective (docs/protocol.md §5.2, seed
/// `bpce-89c3-registration-api`): the same day at 14:00 Paris time when the 2xx came on a working day before
/// 09:59 ("if the 09:59 am deadline is not reached"; the simulator reads it the same way), otherwise the next
/// working day at 14:00. A working day is Monday to Friday and not
/// a holiday: French public holidays by default, plus configurable extra days (open question, docs/protocol.md §7.5).
public struct ActivationCalendar: Sendable, Hashable {
    /// Days off besides weekends and (unless disabled) French public holidays.
    public var extraHolidays: Set<CalendarDate>
    /// Whether the eleven French public holidays count (default `true`).
    public var includesFrenchPublicHolidays: Bool
    /// Calls at or after this local time (seconds after midnight, 09:59:00) activate on the next working day.
    public var cutoffSecondOfDay: Int = 9 * 3600 + 59 * 60
    /// Local hour of activation.
    public var activationHour: Int = 14

    /// - Parameters:
    ///   - extraHolidays: Additional days off (e.g. a BPCE closing day).
    ///   - includesFrenchPublicHolidays: Set to `false` to use only `extraHolidays`.
    public init(extraHolidays: Set<CalendarDate> = [], includesFrenchPublicHolidays: Bool = true) {
        self.extraHolidays = extraHolidays
        self.includesFrenchPublicHolidays = includesFrenchPublicHolidays
    }

    /// The instant the registration submitted (answered 2xx) at `submittedAt` becomes active.
    public func activatesAt(submittedAt: Date) -> Date {
        let local = ParisTime.localTime(of: submittedAt)
        let day =
            isWorkingDay(local.date) && local.secondsOfDay < cutoffSecondOfDay
            ? local.date : nextWorkingDay(after: local.date)
        return ParisTime.instant(on: day, hour: activationHour)
    }

    /// Monday to Friday and not a holiday.
    public func isWorkingDay(_ date: CalendarDate) -> Bool {
        date.isoWeekday <= 5 && !isHoliday(date)
    }

    /// Whether `date` is a configured or (by default) French public holiday.
    public func isHoliday(_ date: CalendarDate) -> Bool {
        extraHolidays.contains(date)
            || (includesFrenchPublicHolidays && Self.frenchPublicHolidays(year: date.year).contains(date))
    }

    /// The first working day strictly after `date`.
    public func nextWorkingDay(after date: CalendarDate) -> CalendarDate {
        var day = date.adding(days: 1)
        while !isWorkingDay(day) { day = day.adding(days: 1) }
        return day
    }

    /// The French public holidays (Code du travail L3133-1) of `year`: 1 January, Easter Monday, 1 May, 8 May,
    /// Ascension, Whit Monday, 14 July, 15 August, 1 November, 11 November, 25 December.
    public static func frenchPublicHolidays(year: Int) -> Set<CalendarDate> {
        let easter = easterSunday(year: year)
        let fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
        var days = Set(fixed.compactMap { CalendarDate(year: year, month: $0.0, day: $0.1) })
        days.insert(easter.adding(days: 1))  // Easter Monday
        days.insert(easter.adding(days: 39))  // Ascension Thursday
        days.insert(easter.adding(days: 50))  // Whit Monday
        return days
    }

    /// Gregorian Easter Sunday (anonymous Gregorian computus, "Meeus/Jones/Butcher").
    public static func easterSunday(year: Int) -> CalendarDate {
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
        let day = (h + l - 7 * m + 114) % 31 + 1
        return CalendarDate(year: year, month: month, day: day)!
    }

    /// Parses a configured list of extra holidays, `YYYY-MM-DD` separated by commas or spaces (e.g. the value of a
    /// `PASSERELLE_BPCE_EXTRA_HOLIDAYS` variable).
    /// - Throws: `GatewayError.validation` naming the first bad entry.
    public static func parseHolidays(_ text: String, field: String = "holidays") throws -> Set<CalendarDate> {
        var days = Set<CalendarDate>()
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }) where !item.isEmpty {
            guard let day = CalendarDate(String(item)) else {
                throw GatewayError.validation([FieldIssue(field: field, message: "\(item) is not a date YYYY-MM-DD")])
            }
            days.insert(day)
        }
        return days
    }
}
