internal import COpenSSL

/// HMAC-SHA256 (RFC 2104), for webhook signatures (docs/events.md).
public enum HMAC {
    /// HMAC-SHA256 of `message` under `key` (OpenSSL's one-shot `HMAC` with `EVP_sha256`).
    public static func sha256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBufferPointer { md in
                    COpenSSL.HMAC(
                        EVP_sha256(), k.baseAddress ?? UnsafeRawPointer(md.baseAddress!), Int32(k.count),
                        m.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(md.baseAddress), m.count, md.baseAddress,
                        &length)
                }
            }
        }
        // An in-memory HMAC with the built-in SHA-256 cannot fail short of memory exhaustion.
        precondition(result != nil && length == 32, "HMAC failed: \(OpenSSLError.drain("HMAC"))")
        return out
    }
}
