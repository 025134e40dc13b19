/// ASCII text helpers for protocol tokens (header names, methods, schemes) that allocate nothing unless they must.
/// They live here, the lowest module every layer imports, so that the HTTP server, the signer, the outbound
/// client and the adapters share one copy. `String.lowercased()` is Unicode-aware and always builds a new string;
/// on the per-request path that showed up in profiles.
public enum ASCII {
    /// Whether `a` and `b` are equal when ASCII letters are compared without case.
    @inlinable
    public static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q && lower(p) != lower(q) { return false }
        return true
    }

    /// Whether `text` starts with `prefix`, ASCII letters compared without case.
    @inlinable
    public static func hasPrefixIgnoringCase(_ text: String, _ prefix: String) -> Bool {
        let x = text.utf8, y = prefix.utf8
        guard x.count >= y.count else { return false }
        for (p, q) in zip(x, y) where p != q && lower(p) != lower(q) { return false }
        return true
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
