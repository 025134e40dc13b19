/// Why an HTTP signature could not be built, parsed or verified (draft-cavage-http-signatures-10).
///
/// The descriptions are the precise reasons the bank simulator logs and returns ("digest mismatch", "header
/// listed but absent: psu-ip-address", …). They name headers and parameters, never header values or keys.
public enum HTTPSignatureError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `Signature` header is not a list of `name="value"` parameters.
    case malformedHeader(String)
    /// A required parameter (`keyId`, `signature`) is missing.
    case missingParameter(String)
    /// The `signature` parameter is not valid base64.
    case invalidSignatureEncoding
    /// `algorithm` is present and not `rsa-sha256` (e.g. `hs2019`, draft 11+).
    case unsupportedAlgorithm(String)
    /// `(created)`, `(expires)` or another draft-11+ pseudo-header is listed.
    case unsupportedPseudoHeader(String)
    /// The header list is empty.
    case emptyHeaderList
    /// A header named in the list is not in the message.
    case headerListedButAbsent(String)
    /// The policy requires this header to be signed and it is not listed.
    case requiredHeaderNotSigned(String)
    /// The policy forbids signing this header (e.g. `authorization`) and it is listed.
    case forbiddenHeaderSigned(String)
    /// A body was sent without a `Digest` header.
    case digestMissing
    /// The `Digest` header has no `SHA-256=` value.
    case digestAlgorithmNotSHA256
    /// The `Digest` header does not match the body.
    case digestMismatch
    /// The resolved key is not an RSA key.
    case keyNotRSA
    /// The signature does not verify with the resolved key over the rebuilt signing string.
    case signatureDoesNotVerify
    /// Signing failed inside OpenSSL.
    case signingFailed(OpenSSLError)

    public var description: String {
        switch self {
        case .malformedHeader(let why): "malformed Signature header: \(why)"
        case .missingParameter(let name): "Signature header lacks \(name)"
        case .invalidSignatureEncoding: "signature is not valid base64"
        case .unsupportedAlgorithm(let name): "algorithm not rsa-sha256: \(name)"
        case .unsupportedPseudoHeader(let name): "unsupported pseudo-header (draft 11+): \(name)"
        case .emptyHeaderList: "empty headers list"
        case .headerListedButAbsent(let name): "header listed but absent: \(name)"
        case .requiredHeaderNotSigned(let name): "required header not signed: \(name)"
        case .forbiddenHeaderSigned(let name): "header must not be signed: \(name)"
        case .digestMissing: "digest header missing for a request with a body"
        case .digestAlgorithmNotSHA256: "digest algorithm not SHA-256"
        case .digestMismatch: "digest mismatch"
        case .keyNotRSA: "key is not RSA"
        case .signatureDoesNotVerify: "signature does not verify"
        case .signingFailed(let error): "signing failed: \(error)"
        }
    }
}
