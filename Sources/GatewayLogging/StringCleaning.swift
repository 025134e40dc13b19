extension String {
    /// Without leading and trailing white space (Unicode `White_Space`: spaces, tabs, line breaks, NBSP and the
    /// other space separators). Banks send `" FR76…"` (seed AIS sandbox); environment values and API keys arrive
    /// with stray newlines. Not Foundation's `trimmingCharacters(in:)`: that goes through NSString, and bank
    /// answers are cleaned field by field on the hot path. Every trim of the gateway's modules uses it (header
    /// values, configuration lists, PEM and base64 text), so that none needs Foundation.
    public func trimmingWhitespace() -> String {
        // The usual case: starts and ends with a visible ASCII character.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return self
        }
        return Substring(self).trimmingWhitespace()
    }

    /// Without any ASCII space (an IBAN printed in groups of four).
    public func removingSpaces() -> String {
        guard utf8.contains(0x20) else { return self }
        return String(decoding: utf8.filter { $0 != 0x20 }, as: UTF8.self)
    }
}

extension Substring {
    /// `String.trimmingWhitespace()` for a part of a string (a header value, a list item).
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let start = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let end = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        return String(scalars[start...end])
    }
}
