import Foundation
import Testing

@testable import GatewayCore

@Suite struct ActivationCalendarTests {
    /// An instant from a UTC reading.
    func utc(_ date: String, _ hour: Int, _ minute: Int = 0, _ second: Int = 0) -> Date {
        let day = CalendarDate(date)!
        return Date(
            timeIntervalSince1970: TimeInterval(day.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 + second))
    }

    @Test func computesEasterAndTheMovableHolidays() {
        #expect(ActivationCalendar.easterSunday(year: 2024).description == "2024-03-31")
        #expect(ActivationCalendar.easterSunday(year: 2025).description == "2025-04-20")
        #expect(ActivationCalendar.easterSunday(year: 2026).description == "2026-04-05")
        #expect(ActivationCalendar.easterSunday(year: 2038).description == "2038-04-25")
        let holidays = ActivationCalendar.frenchPublicHolidays(year: 2026).map(\.description).sorted()
        #expect(
            holidays == [
                "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14",
                "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25",
            ])
    }

    @Test func knowsParisSummerAndWinterTime() {
        // 2026: CEST from 29 March 01:00 UTC to 25 October 01:00 UTC.
        #expect(ParisTime.utcOffsetSeconds(at: utc("2026-03-29", 0, 59, 59)) == 3600)
        #expect(ParisTime.utcOffsetSeconds(at: utc("2026-03-29", 1)) == 7200)
        #expect(ParisTime.utcOffsetSeconds(at: utc("2026-10-25", 0, 59, 59)) == 7200)
        #expect(ParisTime.utcOffsetSeconds(at: utc("2026-10-25", 1)) == 3600)
        #expect(ParisTime.localTime(of: utc("2026-07-01", 22, 30)).description == "2026-07-02 00:30:00")
        #expect(ParisTime.instant(on: CalendarDate("2026-01-15")!, hour: 14) == utc("2026-01-15", 13))
        #expect(ParisTime.instant(on: CalendarDate("2026-07-15")!, hour: 14) == utc("2026-07-15", 12))
    }

    /// The seed's "09:59 am deadline": before 09:59:00 Paris time (the simulator reads it the same way).
    @Test func beforeTheNineFiftyNineDeadlineOnAWorkingDayActivatesTheSameDayAtTwo() {
        let calendar = ActivationCalendar()
        // Tuesday 2026-06-16, 09:58:59 Paris (CEST) = 07:58:59 UTC.
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-16", 7, 58, 59)) == utc("2026-06-16", 12))
        // Tuesday 2026-01-13, 09:58 Paris (CET) = 08:58 UTC.
        #expect(calendar.activatesAt(submittedAt: utc("2026-01-13", 8, 58)) == utc("2026-01-13", 13))
    }

    @Test func atTheDeadlineOrLaterActivatesTheNextWorkingDay() {
        let calendar = ActivationCalendar()
        // Tuesday 2026-06-16 09:59:00 and 09:59:59 Paris → Wednesday 14:00 Paris (was "before 10:00").
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-16", 7, 59)) == utc("2026-06-17", 12))
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-16", 7, 59, 59)) == utc("2026-06-17", 12))
        // Tuesday 2026-06-16 10:00:00 Paris → Wednesday 14:00 Paris.
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-16", 8)) == utc("2026-06-17", 12))
        // Friday 2026-06-19 16:00 Paris → Monday 2026-06-22 14:00 Paris.
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-19", 14)) == utc("2026-06-22", 12))
    }

    @Test func weekendsWaitForMonday() {
        let calendar = ActivationCalendar()
        // Saturday 2026-11-21 08:00 Paris (before ten, but not a working day) → Monday 23 at 14:00 CET.
        #expect(calendar.activatesAt(submittedAt: utc("2026-11-21", 7)) == utc("2026-11-23", 13))
        // Sunday late evening Paris, which is still Sunday in UTC.
        #expect(calendar.activatesAt(submittedAt: utc("2026-11-22", 22, 30)) == utc("2026-11-23", 13))
        // Sunday 23:30 UTC is already Monday 00:30 Paris → same Monday.
        #expect(calendar.activatesAt(submittedAt: utc("2026-11-22", 23, 30)) == utc("2026-11-23", 13))
    }

    @Test func publicHolidaysAreSkipped() {
        let calendar = ActivationCalendar()
        // Wednesday 2026-11-11 (Armistice) 09:00 Paris → Thursday 12.
        #expect(calendar.activatesAt(submittedAt: utc("2026-11-11", 8)) == utc("2026-11-12", 13))
        // Thursday 2026-05-14 (Ascension) 15:00 → Friday 15; Friday 2026-05-22 11:00 → Tuesday 26 (Whit Monday 25).
        #expect(calendar.activatesAt(submittedAt: utc("2026-05-14", 13)) == utc("2026-05-15", 12))
        #expect(calendar.activatesAt(submittedAt: utc("2026-05-22", 9)) == utc("2026-05-26", 12))
        // Thursday 2026-12-24 10:30 → Monday 28 (Christmas Friday, then the weekend).
        #expect(calendar.activatesAt(submittedAt: utc("2026-12-24", 9, 30)) == utc("2026-12-28", 13))
    }

    @Test func extraHolidaysAreConfigurable() throws {
        let extra = try ActivationCalendar.parseHolidays("2026-06-17, 2026-06-18")
        let calendar = ActivationCalendar(extraHolidays: extra)
        #expect(calendar.activatesAt(submittedAt: utc("2026-06-16", 8)) == utc("2026-06-19", 12))
        let noFrench = ActivationCalendar(includesFrenchPublicHolidays: false)
        #expect(noFrench.activatesAt(submittedAt: utc("2026-11-11", 8)) == utc("2026-11-11", 13))
        #expect(throws: GatewayError.self) { try ActivationCalendar.parseHolidays("2026-02-30") }
    }

    @Test func aSummerTimeChangeWeekendStillGivesTwoPMLocal() {
        let calendar = ActivationCalendar()
        // Friday 2026-03-27 12:00 CET → Monday 30 March 14:00 CEST = 12:00 UTC.
        #expect(calendar.activatesAt(submittedAt: utc("2026-03-27", 11)) == utc("2026-03-30", 12))
    }
}
