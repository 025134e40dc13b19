/// Decimal text of a `Double` with a fixed number of fraction digits (`12.345`), as `printf("%.3f")` writes it
/// for the values this code base prints (durations, rates): log fields, metrics, benchmark output.
public enum Decimals {
    /// `value` rounded to `digits` fraction digits (0...9), with a leading `-` when negative.
    public static func fixed(_ value: Double, digits: Int) -> String {
        precondition((0...9).contains(digits), "Decimals.fixed: 0 to 9 digits")
        guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-inf" : "inf" }
        var scale = 1
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * Double(scale)).rounded()
        guard scaled < 9e18 else { return String(value) }
        let units = Int(scaled)
        let sign = value < 0 && units != 0 ? "-" : ""
        guard digits > 0 else { return sign + String(units) }
        let fraction = String(units % scale)
        return sign + String(units / scale) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
