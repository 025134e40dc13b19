/// ASCII text helpers for protocol tokens (header names, methods, schemes) that allocate nothing unless they must.
/// They live here, the lowest module every layer imports, so that the HTTP server, the signer, the outbound
/// client and the adapters share one copy. `String.lowercased()` is Unicode-aware and always builds a new string;
/// on the per-request path that showed up in profiles.
public enum ASCII {
    /// Whether `a` and `b` are equal when ASCII letters are compared without case.
    @inlinable
    public static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        equalBytesIgnoringCase(a.utf8, b.utf8)
    }

    /// Whether `text` starts with `prefix`, ASCII letters compared without case.
    @inlinable
    public static func hasPrefixIgnoringCase(_ text: String, _ prefix: String) -> Bool {
        let x = text.utf8, y = prefix.utf8
        guard x.count >= y.count else { return false }
        return equalBytesIgnoringCase(x.prefix(y.count), y)
    }

    /// Byte-wise comparison without case for ASCII letters, over contiguous storage when both sides have it (native
    /// strings do): `zip` over two UTF-8 views did not inline and showed up in profiles.
    @inlinable
    public static func equalBytesIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        let fast = a.withContiguousStorageIfAvailable { x in
            b.withContiguousStorageIfAvailable { y in
                for i in 0..<x.count where x[i] != y[i] && lower(x[i]) != lower(y[i]) { return false }
                return true
            }
        }
        if let fast, let result = fast { return result }
        var i = a.startIndex
        var j = b.startIndex
        while i != a.endIndex {
            if a[i] != b[j] && lower(a[i]) != lower(b[j]) { return false }
            a.formIndex(after: &i)
            b.formIndex(after: &j)
        }
        return true
    }

    /// Whether `needle` occurs in `text`, ASCII letters compared without case (a plain byte scan: not for long
    /// texts on a hot path).
    public static func containsIgnoringCase(_ text: String, _ needle: String) -> Bool {
        let x = Array(text.utf8), y = Array(needle.utf8)
        guard !y.isEmpty else { return true }
        guard x.count >= y.count else { return false }
        for start in 0...(x.count - y.count) where equalBytesIgnoringCase(x[start..<(start + y.count)], y) {
            return true
        }
        return false
    }

    /// Whether `text` ends with `suffix`, ASCII letters compared without case.
    @inlinable
    public static func hasSuffixIgnoringCase(_ text: String, _ suffix: String) -> Bool {
        let x = text.utf8, y = suffix.utf8
        guard x.count >= y.count else { return false }
        return equalBytesIgnoringCase(x.suffix(y.count), y)
    }

    /// `text` with ASCII upper-case letters lowered (other characters unchanged); `text` itself when it has none.
    @inlinable
    public static func lowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return text }
        return String(decoding: text.utf8.map(lower), as: UTF8.self)
    }

    /// Appends `text` to `out` with ASCII upper-case letters lowered.
    @inlinable
    public static func appendLowercased(_ text: String, to out: inout [UInt8]) {
        for byte in text.utf8 { out.append(lower(byte)) }
    }

    /// The lower-case form of one ASCII byte (other bytes unchanged).
    @inlinable
    public static func lower(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }
}
