import FoundationEssentials
import GatewayLogging

/// A decimal amount kept as text, as the API writes it: an optional `-`, digits, and at least two fraction digits
/// (`"-12.30"`, `"4179.95"`, `"0.00"`). Never a binary floating-point value.
///
/// Banks send STET amounts as strings, Euro-Information stubs sometimes as JSON numbers (docs/protocol.md §2.5);
/// both are accepted, a `+` sign and surrounding spaces too, leading zeros are dropped, and fraction digits beyond two
/// are kept as sent (`"1.005"` stays exact). The sign of a transaction comes from `CRDT`/`DBIT` (see `signed(by:)`).
public struct DecimalAmount: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// `true` for a strictly negative amount.
    public let isNegative: Bool
    /// The integer digits without leading zeros (`"0"` for zero).
    public let integerDigits: String
    /// The fraction digits, at least two.
    public let fractionDigits: String

    /// Parses `"12.3"`, `"-0012.30"`, `"+5"`, `" 7.00 "`. Refuses exponents, commas, empty strings and garbage.
    public init?(_ text: String) {
        var bytes = Substring(text.trimmingWhitespace()).utf8[...]
        var negative = false
        if let first = bytes.first, first == 0x2D || first == 0x2B {
            negative = first == 0x2D
            bytes = bytes.dropFirst()
        }
        let parts = bytes.split(separator: 0x2E, maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits: (Substring.UTF8View.SubSequence) -> Bool = { $0.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        guard let intPart = parts.first, isDigits(intPart) else { return nil }
        let fracPart = parts.count == 2 ? parts[1] : Substring("").utf8[...]
        guard isDigits(fracPart), !(intPart.isEmpty && fracPart.isEmpty), !(parts.count == 2 && fracPart.isEmpty)
        else { return nil }
        var integer = String(decoding: intPart.drop { $0 == 0x30 }, as: UTF8.self)
        if integer.isEmpty { integer = "0" }
        var fraction = String(decoding: fracPart, as: UTF8.self)
        if fraction.count < 2 { fraction += String(repeating: "0", count: 2 - fraction.count) }
        let isZero = integer == "0" && fraction.allSatisfy { $0 == "0" }
        self.isNegative = negative && !isZero
        self.integerDigits = integer
        self.fractionDigits = fraction
    }

    /// Zero, `"0.00"`.
    public static let zero = DecimalAmount("0")!

    /// The canonical text, e.g. `"-12.30"`.
    public var description: String { (isNegative ? "-" : "") + integerDigits + "." + fractionDigits }

    /// The absolute value.
    public var magnitude: DecimalAmount { withSign(negative: false) }

    /// The amount with the sign a STET credit/debit indicator gives: `DBIT` → negative, `CRDT` → positive, using the
    /// absolute value (Euro-Information v2.1 sends absolute amounts, docs/protocol.md §2.5). Unknown or missing
    /// indicators keep the amount as sent.
    public func signed(by creditDebitIndicator: String?) -> DecimalAmount {
        switch creditDebitIndicator?.uppercased() {
        case "DBIT": withSign(negative: true)
        case "CRDT": withSign(negative: false)
        default: self
        }
    }

    func withSign(negative: Bool) -> DecimalAmount {
        DecimalAmount(unchecked: negative, integerDigits, fractionDigits)
    }

    private init(unchecked negative: Bool, _ integer: String, _ fraction: String) {
        let isZero = integer == "0" && fraction.allSatisfy { $0 == "0" }
        self.isNegative = negative && !isZero
        self.integerDigits = integer
        self.fractionDigits = fraction
    }

    public static func < (lhs: DecimalAmount, rhs: DecimalAmount) -> Bool {
        if lhs.isNegative != rhs.isNegative { return lhs.isNegative }
        let width = max(lhs.fractionDigits.count, rhs.fractionDigits.count)
        func key(_ a: DecimalAmount) -> (Int, String) {
            let frac = a.fractionDigits + String(repeating: "0", count: width - a.fractionDigits.count)
            return (a.integerDigits.count, a.integerDigits + frac)
        }
        let (l, r) = (key(lhs), key(rhs))
        let magnitudeLess = l.0 != r.0 ? l.0 < r.0 : l.1 < r.1
        let magnitudeEqual = l == r
        return lhs.isNegative ? (!magnitudeLess && !magnitudeEqual) : magnitudeLess
    }

    /// Decodes a JSON string or a JSON number. Numbers are read through their decimal text, never through `Double`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            guard let value = DecimalAmount(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid decimal amount")
            }
            self = value
            return
        }
        let number = try container.decode(Decimal.self)
        guard let value = DecimalAmount(Self.plainText(number)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid decimal amount")
        }
        self = value
    }

    /// Encodes the canonical string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// A JSON number's text, read as the decoder reads it (through `Decimal`).
    public static func jsonNumber(_ text: String) -> DecimalAmount? {
        Decimal(string: text).flatMap { DecimalAmount(plainText($0)) }
    }

    /// `Decimal.description` is plain positional notation (`"12.3"`, `"-0.05"`, `"100"`).
    static func plainText(_ value: Decimal) -> String { value.description }
}

/// An amount with its ISO 4217 currency, as on the API (`{"amount": "-12.30", "currency": "EUR"}`).
public struct Money: Hashable, Sendable, Codable {
    /// The amount, signed.
    public var amount: DecimalAmount
    /// ISO 4217 currency code.
    public var currency: String
}
