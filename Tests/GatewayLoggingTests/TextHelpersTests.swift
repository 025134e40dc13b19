import Testing

@testable import GatewayLogging

/// The small text helpers that replaced Foundation's (`String(format:)`, `trimmingCharacters`, case-insensitive
/// `range(of:)`, `DateFormatter`).
@Suite struct TextHelpersTests {
    @Test func fixedDecimalsRoundAndPadAsPrintfDoes() {
        #expect(Decimals.fixed(12.3456, digits: 3) == "12.346")
        #expect(Decimals.fixed(0.0004, digits: 3) == "0.000")
        #expect(Decimals.fixed(0.05, digits: 2) == "0.05")
        #expect(Decimals.fixed(7, digits: 2) == "7.00")
        #expect(Decimals.fixed(-1.25, digits: 1) == "-1.3")  // away from zero, as `rounded()` does
        #expect(Decimals.fixed(-0.0001, digits: 2) == "0.00")  // no "-0.00"
        #expect(Decimals.fixed(9.99, digits: 0) == "10")
        #expect(Decimals.fixed(1234.5, digits: 1) == "1234.5")
        #expect(Decimals.fixed(.nan, digits: 2) == "nan")
        #expect(Decimals.fixed(-.infinity, digits: 2) == "-inf")
    }

    @Test func trimsUnicodeWhiteSpaceFromStringsAndSubstrings() {
        #expect(" FR76 3000\u{00A0}\n".trimmingWhitespace() == "FR76 3000")
        #expect("plain".trimmingWhitespace() == "plain")
        #expect(" \t\r\n".trimmingWhitespace() == "")
        let list = "a , \tb,c ".split(separator: ",").map { $0.trimmingWhitespace() }
        #expect(list == ["a", "b", "c"])
    }

    @Test func findsANeedleWithoutCaseInASCIIOnly() {
        #expect(ASCII.containsIgnoringCase("<html>erreur technique</html>", "ERREUR Technique"))
        #expect(ASCII.containsIgnoringCase("ERREUR TECHNIQUE", "ERREUR Technique"))
        #expect(!ASCII.containsIgnoringCase("ERREUR Techniqu", "ERREUR Technique"))
        #expect(!ASCII.containsIgnoringCase("ÉTÉ", "été"))
        #expect(ASCII.containsIgnoringCase("anything", ""))
    }

    @Test func writesUTCTimestampsWithMilliseconds() {
        #expect(UTCTimestamp.withMilliseconds(millisecondsSinceEpoch: 0) == "1970-01-01T00:00:00.000Z")
        #expect(UTCTimestamp.withMilliseconds(millisecondsSinceEpoch: 1_774_001_730_007) == "2026-03-20T10:15:30.007Z")
        #expect(UTCTimestamp.withMilliseconds(millisecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999Z")
    }

    @Test func splitsAnInstantIntoItsDayAndSecondOfDayOnBothSidesOfTheEpoch() {
        let cases: [(Int, Int, Int)] = [
            (0, 0, 0), (86_399, 0, 86_399), (86_400, 1, 0), (-1, -1, 86_399), (-86_400, -1, 0),
            (-86_401, -2, 86_399), (1_774_001_730, 20_532, 36_930),
        ]
        for (seconds, days, secondOfDay) in cases {
            let split = CivilDays.day(ofEpochSeconds: seconds)
            #expect(split.days == days && split.secondOfDay == secondOfDay, "\(seconds)")
        }
    }
}
