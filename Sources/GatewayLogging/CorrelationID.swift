import Synchronization

/// Random UUID v4 strings for correlation: the server's request ids and the `X-Request-Id` of every bank call.
///
/// They are correlation handles, not secrets: they come from a xoshiro256** generator seeded once from the
/// system generator, so that one costs no syscall. (Foundation's `UUID()` opens, reads and closes `/dev/urandom`
/// each time on Linux — three syscalls per bank call; 16 `getrandom` calls per request once cost 9 % of the
/// server's CPU time.)
public enum CorrelationID {
    /// A random UUID v4 in lower case (RFC 9562 §5.4), e.g. `0f0e4c1a-…`.
    public static func generate() -> String {
        let (a, b) = generator.withLock { ($0.next(), $0.next()) }
        return String(unsafeUninitializedCapacity: 36) { out in
            let hex: StaticString = "0123456789abcdef"
            var i = 0
            for index in 0..<16 {
                var byte = UInt8(truncatingIfNeeded: (index < 8 ? a : b) >> (8 * UInt64(index % 8)))
                if index == 6 { byte = byte & 0x0F | 0x40 }  // version 4
                if index == 8 { byte = byte & 0x3F | 0x80 }  // variant 10
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[i] = 0x2D
                    i += 1
                }
                out[i] = hex.utf8Start[Int(byte >> 4)]
                out[i + 1] = hex.utf8Start[Int(byte & 0x0F)]
                i += 2
            }
            return i
        }
    }

    private static let generator = Mutex(Xoshiro256StarStar())
}

/// xoshiro256** (Blackman & Vigna), seeded from `SystemRandomNumberGenerator`.
struct Xoshiro256StarStar: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        s = (system.next(), system.next(), system.next(), system.next())
        if s.0 | s.1 | s.2 | s.3 == 0 { s.0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
