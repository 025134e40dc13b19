internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum Random {
    /// `count` random bytes (`RAND_bytes`). Traps if OpenSSL's generator fails, which only happens when the
    /// system cannot seed it: continuing with weak randomness would be worse than stopping.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0)
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let rc = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(rc == 1, "RAND_bytes failed: \(OpenSSLError.drain("RAND_bytes"))")
        return out
    }
}
