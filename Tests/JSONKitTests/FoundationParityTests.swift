import Foundation
import JSONKit
import Testing

/// JSONKit must give what Foundation gives: decoded values equal, encoded bytes identical, errors where
/// Foundation has errors.
@Suite struct FoundationParityTests {
    struct Inner: Codable, Equatable {
        var name: String
        var amount: Decimal?
        var tags: [String]?
    }

    struct Sample: Codable, Equatable {
        var id: String
        var count: Int
        var ratio: Double
        var flag: Bool?
        var missing: String?
        var nested: Inner
        var list: [Inner]
        var optionals: [Int?]
        var dictionary: [String: Int]
        var date: Date
        var data: Data
        var url: URL
        var matrix: [[Int]]
    }

    static let sampleJSON = #"""
        {"id": "x/1", "count": 3, "ratio": 0.25, "flag": null, "nested": {"name": "n", "amount": 12.50},
         "list": [{"name": "a", "tags": ["t1", "t2"]}, {"name": "b", "amount": -0.05}], "optionals": [1, null, 3],
         "dictionary": {"b": 2, "a": 1}, "date": 700000000.5, "data": "AAEC", "url": "https://bank.example/a?b=c",
         "matrix": [[1, 2], [], [3]], "ignored": {"deep": [1, {"x": null}]}}
        """#

    @Test func decodesWhatFoundationDecodes() throws {
        let bytes = Array(Self.sampleJSON.utf8)
        let ours = try JSONNodeDecoder().decode(Sample.self, from: bytes)
        let theirs = try JSONDecoder().decode(Sample.self, from: Data(bytes))
        #expect(ours == theirs)
        #expect(ours.nested.amount == Decimal(string: "12.5"))
        #expect(ours.optionals == [1, nil, 3])
    }

    @Test(arguments: [
        #"{"count": "3"}"#, #"{"count": 3.5}"#, #"{"count": null}"#, #"{}"#, #"[]"#, #""text""#,
        #"{"count": 99999999999999999999}"#, #"{"count": 1e2}"#, #"{"count": 2.0}"#,
    ])
    func failsWhereFoundationFails(json: String) throws {
        struct Counter: Codable, Equatable { var count: Int }
        let bytes = Array(json.utf8)
        let ours = try? JSONNodeDecoder().decode(Counter.self, from: bytes)
        let theirs = try? JSONDecoder().decode(Counter.self, from: Data(bytes))
        #expect(ours == theirs, "\(json)")
    }

    @Test func errorsCarryTheCodingPath() {
        let bytes = Array(#"{"list": [{"name": "a"}, {"name": 7}]}"#.utf8)
        struct Holder: Decodable { var list: [Inner] }
        do {
            _ = try JSONNodeDecoder().decode(Holder.self, from: bytes)
            Issue.record("decoded a number as a String")
        } catch let DecodingError.typeMismatch(_, context) {
            #expect(context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue } == ["list", "1", "name"])
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func customDatesRoundTrip() throws {
        struct Stamp: Codable, Equatable { var at: Date }
        let encoder = JSONNodeEncoder(dateEncoding: { _ in "2026-11-21T10:00:00Z" })
        #expect(String(decoding: try encoder.encode(Stamp(at: Date())), as: UTF8.self) == #"{"at":"2026-11-21T10:00:00Z"}"#)
        let decoder = JSONNodeDecoder(dateDecoding: { $0 == "now" ? Date(timeIntervalSince1970: 5) : nil })
        #expect(try decoder.decode(Stamp.self, from: Array(#"{"at":"now"}"#.utf8)).at == Date(timeIntervalSince1970: 5))
        #expect(throws: DecodingError.self) { try decoder.decode(Stamp.self, from: Array(#"{"at":"later"}"#.utf8)) }
    }

    // MARK: - Encoding

    static func foundation(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func ours(_ value: some Encodable) throws -> String {
        String(decoding: try JSONNodeEncoder().encode(value), as: UTF8.self)
    }

    @Test func encodesTheBytesFoundationEncodes() throws {
        let bytes = Array(Self.sampleJSON.utf8)
        let sample = try JSONDecoder().decode(Sample.self, from: Data(bytes))
        #expect(try Self.ours(sample) == Self.foundation(sample))
    }

    @Test func sortsKeysAsFoundationDoes() throws {
        let keys = ["a10", "a2", "B", "a", "_x", "aB", "ab", "Z9", "z10", "Ab", "a02", "a2b", "iban", "id", "ID",
                    "maskedPan", "name", "x-y", "x_y", "xY", "1", "10", "9", "é", "e"]
        let dictionary = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })
        #expect(try Self.ours(dictionary) == Self.foundation(dictionary))
    }

    @Test func escapesStringsAsFoundationDoes() throws {
        let strings = ["plain", "quote \" backslash \\ slash /", "control \u{0}\u{1}\u{8}\u{9}\u{a}\u{c}\u{d}\u{1f}",
                       "unicode é € 😀 \u{2028}", "</script>", ""]
        #expect(try Self.ours(strings) == Self.foundation(strings))
    }

    @Test func writesNumbersAsFoundationDoes() throws {
        let doubles: [Double] = [0, 1, -1, 0.1, 0.25, 1.5, 123456789.125, 1e21, 1e-7, 3.0e15, -0.5, 2.5e-300]
        #expect(try Self.ours(doubles) == Self.foundation(doubles))
        let ints: [Int] = [0, -1, Int.max, Int.min]
        #expect(try Self.ours(ints) == Self.foundation(ints))
        let decimals = [Decimal(string: "12.50")!, Decimal(string: "-0.05")!, Decimal(100)]
        #expect(try Self.ours(decimals) == Self.foundation(decimals))
        #expect(throws: EncodingError.self) { try JSONNodeEncoder().encode([Double.nan]) }
    }

    @Test func encodesNestedAndSuperContainersAsFoundationDoes() throws {
        struct Manual: Encodable {
            enum Keys: String, CodingKey { case outer, list, value }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                var outer = container.nestedContainer(keyedBy: Keys.self, forKey: .outer)
                try outer.encode(1, forKey: .value)
                var list = container.nestedUnkeyedContainer(forKey: .list)
                try list.encode("a")
                try list.encodeNil()
                var inner = list.nestedContainer(keyedBy: Keys.self)
                try inner.encode(true, forKey: .value)
                try container.encode("last wins", forKey: .value)
                try container.encode("really last", forKey: .value)
            }
        }
        struct Empty: Encodable { func encode(to encoder: any Encoder) throws {} }
        #expect(try Self.ours(Manual()) == Self.foundation(Manual()))
        #expect(throws: EncodingError.self) { try Self.ours(Empty()) }
        #expect(throws: EncodingError.self) { try Self.foundation(Empty()) }
        #expect(try Self.ours([Empty()]) == Self.foundation([Empty()]))
    }
}
