import FoundationEssentials
import Testing

@testable import GatewayApp

#if canImport(Glibc)
import Glibc
#endif

/// The API's timestamps, held to libc's `gmtime_r`/`timegm` as an independent oracle.
@Suite struct RFC3339Tests {
    @Test func writesAndReadsBackWholeSecondsAsLibcDoes() {
        var generator = SystemRandomNumberGenerator()
        for seconds in [0, -1, 951_782_400, 4_102_444_799] + (0..<500).map({ _ in Int.random(in: -2_000_000_000...4_102_444_799, using: &generator) }) {
            var t = time_t(seconds)
            var tm = tm()
            gmtime_r(&t, &tm)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            let expected = "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))T\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec))Z"
            let date = Date(timeIntervalSince1970: Double(seconds) + 0.75)
            #expect(RFC3339.string(date) == expected, "\(seconds)")
            #expect(RFC3339.date(expected) == Date(timeIntervalSince1970: Double(seconds)), "\(seconds)")
        }
    }

    @Test func readsFractionsOffsetsAndCarriesAsTimegmDoes() {
        #expect(RFC3339.date("2026-11-21T13:02:03.250Z") == Date(timeIntervalSince1970: 1_795_266_123.25))
        #expect(RFC3339.date("2026-11-21T14:02:03+01:00") == RFC3339.date("2026-11-21T13:02:03Z"))
        #expect(RFC3339.date("2026-11-21T08:32:03-04:30") == RFC3339.date("2026-11-21T13:02:03Z"))
        #expect(RFC3339.date("2026-11-21t13:02:03z") == RFC3339.date("2026-11-21T13:02:03Z"))
        // timegm normalizes a 31st of a 30-day month and a leap second; so does the reader.
        #expect(RFC3339.date("2026-04-31T00:00:00Z") == RFC3339.date("2026-05-01T00:00:00Z"))
        #expect(RFC3339.date("2026-12-31T23:59:60Z") == RFC3339.date("2027-01-01T00:00:00Z"))
    }

    @Test func refusesWhatIsNotATimestamp() {
        for text in ["", "2026-11-21", "2026-11-21T13:02:03", "2026-13-01T00:00:00Z", "2026-11-21T24:00:00Z",
            "2026-11-21T13:02:03.Z", "2026-11-21T13:02:03+0100", "2026-11-21T13:02:03Zjunk", "２026-11-21T13:02:03Z"]
        {
            #expect(RFC3339.date(text) == nil, "\(text)")
        }
    }
}
