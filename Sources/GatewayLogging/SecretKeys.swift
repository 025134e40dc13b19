/// Which metadata keys name a secret: a key is redacted when it contains, in any case, one of `needles`
/// (`authorization`, `token`, `password`, … — `debtor.iban`, `access_token`, `X-Api-Key` all qualify).
///
/// The verdict is decided on the key's bytes with no allocation: each position of the key is looked up by its
/// lower-cased first byte in a table built once, and only the needles starting with that letter are compared.
/// A log line's keys are ASCII literals, so this costs about what hashing the key would — a cache of verdicts
/// would have to hash the key and take a lock first. (The first version lower-cased each key into a new string
/// and ran `String.contains(String)` for every needle, on every line: most of the server's CPU at the default
/// log level.) A key with non-ASCII bytes takes the Unicode-aware path, so that the verdicts stay those of
/// `String.lowercased()` (the Kelvin sign `K` lowers to `k`).
enum SecretKeys {
    /// The substrings that make a key secret, lower case.
    static let needles = [
        "authorization", "token", "password", "passphrase", "secret", "private", "signature", "code_verifier",
        "iban", "pem", "api_key", "apikey", "cookie",
    ]

    /// Whether `key` names a secret.
    static func isSecret(_ key: String) -> Bool {
        var copy = key
        let verdict = copy.withUTF8 { bytes in bytes.contains { $0 >= 0x80 } ? nil : containsNeedle(bytes) }
        if let verdict { return verdict }
        let lowered = key.lowercased()
        return needles.contains { lowered.contains($0) }
    }

    /// Whether the ASCII `bytes` contain a needle, letters compared without case.
    static func containsNeedle(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let table = Self.table
        return table.bytes.withUnsafeBufferPointer { flat in
            table.spans.withUnsafeBufferPointer { spans in
                table.firstSpan.withUnsafeBufferPointer { first in
                    for start in 0..<bytes.count {
                        let letter = Int(ASCII.lower(bytes[start]))
                        for span in spans[Int(first[letter])..<Int(first[letter + 1])]
                        where Int(span.length) <= bytes.count - start {
                            var i = 1
                            while i < Int(span.length)
                                && ASCII.lower(bytes[start + i]) == flat[Int(span.offset) + i]
                            {
                                i += 1
                            }
                            if i == Int(span.length) { return true }
                        }
                    }
                    return false
                }
            }
        }
    }

    /// The needles sorted by first byte, concatenated; `firstSpan[b]..<firstSpan[b + 1]` are the indices in
    /// `spans` of those starting with byte `b`.
    private struct Table {
        var bytes: [UInt8] = []
        var spans: [(offset: UInt16, length: UInt16)] = []
        var firstSpan = [UInt16](repeating: 0, count: 257)
    }

    private static let table: Table = {
        var table = Table()
        let sorted = needles.map { Array($0.utf8) }.sorted { $0[0] < $1[0] }
        var next = 0
        for byte in 0..<256 {
            table.firstSpan[byte] = UInt16(next)
            while next < sorted.count && Int(sorted[next][0]) == byte {
                table.spans.append((UInt16(table.bytes.count), UInt16(sorted[next].count)))
                table.bytes += sorted[next]
                next += 1
            }
        }
        table.firstSpan[256] = UInt16(next)
        return table
    }()
}
