internal import COpenSSL
import FoundationEssentials
import GatewayLogging

/// SHA-256 digests and the RFC 3230 `Digest` header value (`SHA-256=<base64>`, RFC 5843 algorithm name).
public enum Digest {
    /// SHA-256 of `bytes` (`EVP_Digest` with `EVP_sha256`).
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let rc = bytes.withUnsafeBytes { input in
            out.withUnsafeMutableBufferPointer { md in
                EVP_Digest(
                    input.baseAddress ?? UnsafeRawPointer(md.baseAddress!), input.count, md.baseAddress, &length,
                    SHA256Algorithm.md, nil)
            }
        }
        // EVP_Digest of an in-memory buffer with the built-in SHA-256 cannot fail short of memory exhaustion.
        precondition(rc == 1 && length == 32, "EVP_Digest failed: \(OpenSSLError.drain("EVP_Digest"))")
        return out
    }

    /// SHA-256 of the UTF-8 bytes of `string`.
    public static func sha256(_ string: String) -> [UInt8] {
        sha256(Array(string.utf8))
    }

    /// The `Digest` header value for a body: `SHA-256=` + base64 of its SHA-256 (docs/protocol.md §3.3).
    /// An empty body gives `SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=`.
    public static func headerValue(for body: some ContiguousBytes) -> String {
        "SHA-256=" + Base64.encode(sha256(body))
    }

    /// Checks a received `Digest` header value against `body`: at least one `SHA-256=` instance must be present
    /// and all of them must match (other algorithms in the list are ignored). Algorithm names are
    /// case-insensitive (RFC 3230 §4.1.1).
    public static func verifyHeaderValue(_ value: String, body: some ContiguousBytes) -> DigestCheck {
        let expected = sha256(body)
        var sawSHA256 = false
        for part in value.split(separator: ",") {
            let item = part.trimmingWhitespace()
            guard let eq = item.firstIndex(of: "=") else { continue }
            guard item[..<eq].lowercased() == "sha-256" else { continue }
            sawSHA256 = true
            guard let got = Base64.decode(String(item[item.index(after: eq)...])), got == expected else {
                return .mismatch
            }
        }
        return sawSHA256 ? .match : .noSHA256
    }

    /// The result of ``verifyHeaderValue(_:body:)``.
    public enum DigestCheck: Sendable, Equatable {
        case match
        case mismatch
        /// The header has no `SHA-256=` instance (the only algorithm the banks accept).
        case noSHA256
    }
}

/// SHA-256 fetched once from the default provider (`EVP_MD_fetch`): passing the legacy `EVP_sha256()` makes
/// OpenSSL 3 fetch the implementation again on every operation (crypto(7), "Performance").
enum SHA256Algorithm {
    /// Immutable after the fetch and reference-counted by OpenSSL, so sharing it between threads is safe.
    nonisolated(unsafe) static let md: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256()
}
