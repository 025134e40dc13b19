extension String {
    /// Without leading and trailing spaces, tabs, line breaks and other Unicode space separators (banks send
    /// `" FR76…"`, seed AIS sandbox). Not Foundation's `trimmingCharacters(in:)`: that goes through NSString, and
    /// bank answers are cleaned field by field on the hot path.
    public func trimmingSpaces() -> String {
        let utf8 = self.utf8
        // The usual case: starts and ends with a visible ASCII character.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return self
        }
        let scalars = unicodeScalars
        func isSpace(_ s: Unicode.Scalar) -> Bool {
            s == "\t" || s == "\n" || s == "\r" || s.properties.generalCategory == .spaceSeparator
        }
        guard let start = scalars.firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = scalars.lastIndex(where: { !isSpace($0) })!
        return String(scalars[start...end])
    }

    /// Without any ASCII space (an IBAN printed in groups of four).
    public func removingSpaces() -> String {
        guard utf8.contains(0x20) else { return self }
        return String(decoding: utf8.filter { $0 != 0x20 }, as: UTF8.self)
    }
}
