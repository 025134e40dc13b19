/// International Bank Account Numbers (ISO 13616): checked before any value is forwarded to a bank.
public enum IBAN {
    /// `CCdd` + 11 to 30 upper-case letters or digits, and the ISO 7064 mod-97 check (the rearranged number,
    /// letters as 10–35, leaves 1). Electronic form only: no spaces, no lower case.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (15...34).contains(bytes.count),
            bytes[0...1].allSatisfy(isUpper), bytes[2...3].allSatisfy(isDigit),
            bytes[4...].allSatisfy({ isUpper($0) || isDigit($0) })
        else { return false }
        var remainder = 0
        for b in bytes[4...] + bytes[..<4] {
            if isDigit(b) {
                remainder = (remainder * 10 + Int(b - 48)) % 97
            } else {
                remainder = (remainder * 100 + Int(b - 65 + 10)) % 97
            }
        }
        return remainder == 1
    }

    private static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
}
