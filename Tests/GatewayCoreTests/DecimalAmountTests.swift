import Foundation
import Testing

@testable import GatewayCore

@Suite struct DecimalAmountTests {
    @Test(arguments: [
        ("12.3", "12.30"), ("-0012.30", "-12.30"), ("+5", "5.00"), (" 7.00 ", "7.00"), ("0", "0.00"), ("-0.00", "0.00"),
        ("1.005", "1.005"), (".5", "0.50"), ("4179.95", "4179.95"),
    ])
    func normalizesStrings(_ input: String, _ expected: String) throws {
        #expect(try #require(DecimalAmount(input)).description == expected)
    }

    @Test(arguments: ["", "-", "1.", "1,50", "1e3", "12.3.4", "abc", "--1", "1 2"])
    func refusesGarbage(_ input: String) {
        #expect(DecimalAmount(input) == nil)
    }

    @Test func decodesJSONNumbersWithoutBinaryRounding() throws {
        struct Box: Decodable { let a: DecimalAmount }
        let json = #"[{"a": 0.1}, {"a": 1234567.89}, {"a": -12.3}, {"a": 100}, {"a": "42.10"}]"#
        let values = try JSONDecoder().decode([Box].self, from: Data(json.utf8)).map(\.a.description)
        #expect(values == ["0.10", "1234567.89", "-12.30", "100.00", "42.10"])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(#"{"a": "x"}"#.utf8)) }
    }

    @Test func signComesFromTheCreditDebitIndicator() throws {
        let amount = try #require(DecimalAmount("12.30"))
        #expect(amount.signed(by: "DBIT").description == "-12.30")
        #expect(amount.signed(by: "CRDT").description == "12.30")
        #expect(try #require(DecimalAmount("-12.30")).signed(by: "CRDT").description == "12.30")
        #expect(try #require(DecimalAmount("-12.30")).signed(by: "DBIT").description == "-12.30")
        #expect(try #require(DecimalAmount("-12.30")).signed(by: nil).description == "-12.30")
        #expect(DecimalAmount.zero.signed(by: "DBIT").description == "0.00")
    }

    @Test func encodesAsAString() throws {
        let data = try JSONEncoder().encode(Money(amount: DecimalAmount("-1.5")!, currency: "EUR"))
        #expect(String(decoding: data, as: UTF8.self).contains(#""amount":"-1.50""#))
    }

    @Test func ordersNumerically() throws {
        let sorted = ["10.00", "-2.5", "9.99", "-10", "0"].compactMap(DecimalAmount.init).sorted().map(\.description)
        #expect(sorted == ["-10.00", "-2.50", "0.00", "9.99", "10.00"])
    }
}

@Suite struct CalendarDateTests {
    @Test(arguments: [
        ("2020-06-22", "2020-06-22"), ("2021-11-12T00:00:00Z", "2021-11-12"),
        ("2024-03-20T23:30:00.000+01:00", "2024-03-20"), ("2024-03-20 10:15", "2024-03-20"),
        (" 2019-09-03 ", "2019-09-03"),
    ])
    func normalizesDatesAndDateTimes(_ input: String, _ expected: String) {
        #expect(CalendarDate.normalizing(input)?.description == expected)
    }

    @Test(arguments: [
        "2021-02-29", "2020-13-01", "2020-6-1", "20200601", "2024-03-20Tnope", "2024-03-20T25:00:00Z", "",
    ])
    func refusesInvalidDates(_ input: String) {
        #expect(CalendarDate.normalizing(input) == nil)
    }

    @Test func countsDaysAndWeekdays() throws {
        let day = try #require(CalendarDate("1970-01-01"))
        #expect(day.daysSinceEpoch == 0)
        #expect(day.isoWeekday == 4)  // Thursday
        #expect(CalendarDate("2026-11-21")?.isoWeekday == 6)  // Saturday
        #expect(CalendarDate(daysSinceEpoch: -1).description == "1969-12-31")
        #expect(CalendarDate("2024-02-28")?.adding(days: 1).description == "2024-02-29")
        for offset in stride(from: -100_000, through: 100_000, by: 977) {
            #expect(CalendarDate(daysSinceEpoch: offset).daysSinceEpoch == offset)
        }
    }
}
