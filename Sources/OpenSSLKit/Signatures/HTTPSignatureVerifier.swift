/// Verifies Cavage draft-10 signatures on received requests (the bank simulator, tests): the checks of
/// docs/protocol.md §3.5 in this order: digest, header policy, RSA signature (`Date` and `keyId` are the caller's).
///
/// Typical use: parse the header with ``HTTPSignature/init(parsing:)``, resolve `keyId` to a registered
/// certificate, then call ``verify(_:method:target:headers:body:publicKey:)``.
public struct HTTPSignatureVerifier: Sendable {
    /// Names that must appear in the signed list (lower case), e.g. `(request-target)`, `host`, `date`.
    public var requiredHeaders: [String]
    /// Names that must also be signed when the request has a body, e.g. `digest`, `content-type`.
    public var requiredHeadersWithBody: [String]
    /// Names that must not be signed (lower case), e.g. `authorization`.
    public var forbiddenHeaders: [String]
    /// When true, every present `psu-*` header must be signed (Euro-Information rule).
    public var requirePresentPSUHeaders: Bool
    /// When true, a non-empty body needs a `Digest` header. (A `Digest` header that is present is always checked.)
    public var requireDigestForBody: Bool

    /// A verifier with the given header policy; the defaults only check what is signed and the digest.
    public init(
        requiredHeaders: [String] = [], requiredHeadersWithBody: [String] = [], forbiddenHeaders: [String] = [],
        requirePresentPSUHeaders: Bool = false, requireDigestForBody: Bool = true
    ) {
        self.requiredHeaders = requiredHeaders.map { $0.lowercased() }
        self.requiredHeadersWithBody = requiredHeadersWithBody.map { $0.lowercased() }
        self.forbiddenHeaders = forbiddenHeaders.map { $0.lowercased() }
        self.requirePresentPSUHeaders = requirePresentPSUHeaders
        self.requireDigestForBody = requireDigestForBody
    }

    /// Euro-Information's rules (seed cmcic-becm-request-signing, docs/protocol.md §3.5/§4.4):
    /// `(request-target) host date x-request-id` always, `content-type` and `digest` with a body, every `psu-*`
    /// present, never `authorization`.
    public static let euroInformation = HTTPSignatureVerifier(
        requiredHeaders: ["(request-target)", "host", "date", "x-request-id"],
        requiredHeadersWithBody: ["content-type", "digest"], forbiddenHeaders: ["authorization"],
        requirePresentPSUHeaders: true, requireDigestForBody: true)

    /// What the simulator accepts for BPCE (docs/protocol.md §5.5): at least `(request-target)` and
    /// `x-request-id`, plus `digest` with a body.
    public static let bpce = HTTPSignatureVerifier(
        requiredHeaders: ["(request-target)", "x-request-id"], requiredHeadersWithBody: ["digest"],
        requireDigestForBody: true)

    /// Verifies a parsed signature against a received request.
    /// - Parameters:
    ///   - signature: the parsed `Signature` header.
    ///   - method: the request method as received.
    ///   - target: the request-target exactly as on the request line.
    ///   - headers: all received header fields, in message order.
    ///   - body: the received body bytes (empty for none).
    ///   - publicKey: the key `keyId` resolved to.
    /// - Throws: the first failing check as `HTTPSignatureError` (digest, policy, absent header, RSA signature).
    public func verify(
        _ signature: HTTPSignature, method: String, target: String, headers: [(String, String)], body: [UInt8] = [],
        publicKey: PublicKey
    ) throws(HTTPSignatureError) {
        if let algorithm = signature.algorithm, algorithm.lowercased() != HTTPSignature.rsaSHA256 {
            throw .unsupportedAlgorithm(algorithm)
        }
        // protocol.md §3.5 step 4: the digest is recomputed from the received body before the signature is checked.
        let digestValues = headers.filter { $0.0.lowercased() == "digest" }.map(\.1)
        if !digestValues.isEmpty {
            switch Digest.verifyHeaderValue(digestValues.joined(separator: ","), body: body) {
            case .match: break
            case .mismatch: throw .digestMismatch
            case .noSHA256: throw .digestAlgorithmNotSHA256
            }
        } else if requireDigestForBody && !body.isEmpty {
            throw .digestMissing
        }
        // Header policy.
        let signed = Set(signature.headers)
        var required = requiredHeaders
        if !body.isEmpty { required += requiredHeadersWithBody }
        if requirePresentPSUHeaders {
            required += headers.map { $0.0.lowercased() }.filter { $0.hasPrefix("psu-") }
        }
        for name in required where !signed.contains(name) { throw .requiredHeaderNotSigned(name) }
        for name in forbiddenHeaders where signed.contains(name) { throw .forbiddenHeaderSigned(name) }
        // Signature.
        let signingString = try SigningString.build(
            method: method, target: target, headers: headers, names: signature.headers)
        guard publicKey.algorithm == .rsa else { throw .keyNotRSA }
        guard publicKey.verify(signature: signature.signature, sha256Of: Array(signingString.utf8)) else {
            throw .signatureDoesNotVerify
        }
    }

    /// Parses `signatureHeader` and verifies it (see ``verify(_:method:target:headers:body:publicKey:)``).
    /// - Returns: the parsed signature (its `keyId`, for logging).
    @discardableResult
    public func verify(
        signatureHeader: String, method: String, target: String, headers: [(String, String)], body: [UInt8] = [],
        publicKey: PublicKey
    ) throws(HTTPSignatureError) -> HTTPSignature {
        let signature = try HTTPSignature(parsing: signatureHeader)
        try verify(signature, method: method, target: target, headers: headers, body: body, publicKey: publicKey)
        return signature
    }
}
