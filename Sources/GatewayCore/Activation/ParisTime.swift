import FoundationEssentials
import GatewayLogging

/// Europe/Paris civil time computed from the EU summer-time rule, so it never depends on the machine's tz database
/// (containers often ship without one): CET (UTC+1), and CEST (UTC+2) from the last Sunday of March 01:00 UTC to
/// the last Sunday of October 01:00 UTC (Directive 2000/84/EC, in force for France since 1996).
public enum ParisTime {
    /// A local wall-clock reading in Paris.
    public struct LocalTime: Hashable, Sendable, CustomStringConvertible {
        /// The Paris calendar day.
        public let date: CalendarDate
        /// Seconds since local midnight (0..<86400).
        public let secondsOfDay: Int

        /// Hour of the day, 0–23.
        public var hour: Int { secondsOfDay / 3600 }
        /// Minute of the hour, 0–59.
        public var minute: Int { secondsOfDay % 3600 / 60 }

        /// `2026-03-30 09:59:59`.
        public var description: String {
            "\(date) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(secondsOfDay % 60, 2))"
        }
    }

    /// The offset from UTC in seconds at `instant` (3600 or 7200).
    public static func utcOffsetSeconds(at instant: Date) -> Int {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let year = CalendarDate(daysSinceEpoch: CivilDays.day(ofEpochSeconds: seconds).days).year
        let start = transitionUTC(year: year, month: 3)
        let end = transitionUTC(year: year, month: 10)
        return seconds >= start && seconds < end ? 7200 : 3600
    }

    /// The Paris wall-clock reading of `instant`.
    public static func localTime(of instant: Date) -> LocalTime {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down)) + utcOffsetSeconds(at: instant)
        let (days, secondOfDay) = CivilDays.day(ofEpochSeconds: seconds)
        return LocalTime(date: CalendarDate(daysSinceEpoch: days), secondsOfDay: secondOfDay)
    }

    /// The instant when Paris clocks show `hour:minute` on `date`. For a time skipped or repeated by a transition
    /// (02:00–03:00 on transition Sundays) the standard-time reading wins; business hours are never affected.
    public static func instant(on date: CalendarDate, hour: Int, minute: Int = 0) -> Date {
        let local = date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60
        let summer = local - 7200
        if utcOffsetSeconds(at: Date(timeIntervalSince1970: TimeInterval(summer))) == 7200 {
            return Date(timeIntervalSince1970: TimeInterval(summer))
        }
        return Date(timeIntervalSince1970: TimeInterval(local - 3600))
    }

    /// Seconds since the epoch of the last Sunday of `month`, 01:00 UTC.
    static func transitionUTC(year: Int, month: Int) -> Int {
        let lastDay = CalendarDate(year: year, month: month, day: 31)!
        let sunday = lastDay.adding(days: -(lastDay.isoWeekday % 7))
        return sunday.daysSinceEpoch * 86_400 + 3600
    }
}
