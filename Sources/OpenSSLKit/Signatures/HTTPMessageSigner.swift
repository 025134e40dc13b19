import GatewayLogging

/// Signs outbound requests with a QSealC private key (Cavage draft 10, `rsa-sha256`).
///
/// Build one per key and reuse it: the key is parsed once. Sendable, so one signer serves all requests.
public struct HTTPMessageSigner: Sendable {
    /// The signing key.
    public let key: PrivateKey
    /// The `keyId` sent with every signature (kid, x5u URL or client_id, per bank).
    public let keyId: String

    /// - Parameters:
    ///   - key: the QSealC private key.
    ///   - keyId: the value of the `keyId` parameter.
    public init(key: PrivateKey, keyId: String) {
        self.key = key
        self.keyId = keyId
    }

    /// The signature and the signing string it covers (the CLI's `--explain` shows the latter).
    /// - Throws: `HTTPSignatureError` (`.headerListedButAbsent`, `.signingFailed`, …).
    public func sign(
        method: String, target: String, headers: [(String, String)], names: [String]
    ) throws(HTTPSignatureError) -> (signature: HTTPSignature, signingString: String) {
        let lowered = names.map(ASCII.lowercased)
        let signed = try SigningString.bytes(method: method, target: target, headers: headers, names: lowered)
        let bytes: [UInt8]
        do {
            bytes = try key.signSHA256(signed)
        } catch {
            throw .signingFailed(error)
        }
        return (HTTPSignature(keyId: keyId, headers: lowered, signature: bytes), String(decoding: signed, as: UTF8.self))
    }

    /// The `Signature` header value for a request.
    /// - Parameters:
    ///   - method: HTTP method.
    ///   - target: path and query exactly as sent.
    ///   - headers: every header the request will carry (at least those in `names`), in message order.
    ///   - names: header names to sign, in order (the bank's rule: GatewayCore's `BankProfile.headersToSign`).
    /// - Throws: `HTTPSignatureError` (`.headerListedButAbsent`, `.signingFailed`, …).
    public func signatureHeader(
        method: String, target: String, headers: [(String, String)], names: [String]
    ) throws(HTTPSignatureError) -> String {
        try sign(method: method, target: target, headers: headers, names: names).signature.headerValue
    }
}
