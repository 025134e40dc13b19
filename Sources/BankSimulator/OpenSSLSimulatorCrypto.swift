import FoundationEssentials
import OpenSSLKit

/// The production `SimulatorCrypto`: OpenSSLKit for digests, certificates, RSA verification and chain checks.
public struct OpenSSLSimulatorCrypto: SimulatorCrypto {
    /// The CAs client certificates and JWKS `x5c` chains must lead to.
    public let trustStore: TrustStore

    /// - Parameter trustStore: The trusted CAs (`PASSERELLE_SIMULATOR_CLIENT_CA`).
    public init(trustStore: TrustStore) { self.trustStore = trustStore }

    /// Reads a PEM bundle of CA certificates.
    /// - Throws: `OpenSSLError` when the text holds no certificate.
    public init(caBundlePEM: String) throws {
        self.init(trustStore: try TrustStore(anchors: Certificate.chain(pem: caBundlePEM)))
    }

    public func sha256(_ bytes: [UInt8]) -> [UInt8] { Digest.sha256(bytes) }

    public func certificateInfo(der: [UInt8]) throws -> SimulatorCertificateInfo {
        let c = try Certificate(der: der)
        return SimulatorCertificateInfo(
            sha256Base64URL: c.x5tS256, organizationIdentifier: c.organizationIdentifier, subject: c.subject,
            notAfter: Int64(c.notAfter.timeIntervalSince1970), isRSA: c.publicKey.algorithm == .rsa,
            isSignedWithRSASSAPSS: c.isRSASSAPSS, rsaModulus: c.publicKey.rsaModulus.map(Self.unsigned),
            rsaExponent: c.publicKey.rsaExponent.map(Self.unsigned),
            psd2Roles: Set(c.psd2?.roles.map(\.rawValue) ?? []))
    }

    /// `bytes` without leading zero octets.
    static func unsigned(_ bytes: [UInt8]) -> [UInt8] { Array(bytes.drop { $0 == 0 }) }

    public func verifyRSASHA256(message: [UInt8], signature: [UInt8], certificateDER: [UInt8]) -> Bool {
        guard let c = try? Certificate(der: certificateDER), c.publicKey.algorithm == .rsa else { return false }
        return c.publicKey.verify(signature: signature, sha256Of: message)
    }

    /// Chain validity is checked at the real current time (certificate lifetimes are not simulated).
    public func chainsToTrustedCA(_ certificateDER: [UInt8], intermediates: [[UInt8]]) -> Bool {
        guard let leaf = try? Certificate(der: certificateDER) else { return false }
        let chain = [leaf] + intermediates.compactMap { try? Certificate(der: $0) }
        do {
            try trustStore.verify(chain: chain)
            return true
        } catch { return false }
    }
}
