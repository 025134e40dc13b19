import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit
import Synchronization

/// Parsed TPP certificates and private keys, so that each bank call costs one signature and no parsing (parsing a
/// key costs about as much as signing with it). Entries are keyed by certificate id and checked against the PEM
/// they were parsed from, so a rotated certificate under the same id is parsed again; signing keys are keyed by
/// certificate id + SHA-256 fingerprint. Bounded: the cache empties itself past `capacity` entries.
public final class SignerCache: Sendable {
    /// A certificate (with its chain) parsed once.
    public struct ParsedCertificate: Sendable {
        /// Leaf first, then the chain, as in the PEM.
        public let chain: [Certificate]
        /// Lowercase hex SHA-256 of the leaf's DER, no separators (`RegistrationResult.Key.sha256Fingerprint`).
        public let fingerprint: String
        /// The leaf.
        public var leaf: Certificate { chain[0] }
    }

    private struct CertificateEntry: Sendable {
        let pem: String
        let parsed: ParsedCertificate
    }

    private struct KeyEntry: Sendable {
        let certificatePEM: String
        let keyPEM: Secret<String>
        let key: PrivateKey
    }

    private struct IdentityEntry: Sendable {
        let pem: String
        let keyPEM: Secret<String>
        let identity: TLSClientIdentity
    }

    private let capacity: Int
    private let certificates = Mutex<[String: CertificateEntry]>([:])
    private let keys = Mutex<[String: KeyEntry]>([:])
    private let identities = Mutex<[String: IdentityEntry]>([:])

    /// - Parameter capacity: Entries kept per kind before the cache starts over.
    public init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    /// The parsed certificate chain of `material`.
    /// - Throws: `AdapterError.notCallable` when the PEM holds no usable certificate.
    public func certificate(_ material: CertificateMaterial) throws -> ParsedCertificate {
        if let hit = certificates.withLock({ $0[material.id] }), hit.pem == material.certificatePEM {
            return hit.parsed
        }
        let chain: [Certificate]
        do {
            chain = try Certificate.chain(pem: material.certificatePEM)
        } catch {
            throw AdapterError.notCallable(reason: "certificate \(material.id) cannot be parsed")
        }
        guard !chain.isEmpty else {
            throw AdapterError.notCallable(reason: "certificate \(material.id) holds no certificate")
        }
        let parsed = ParsedCertificate(chain: chain, fingerprint: Hex.encode(chain[0].sha256Fingerprint))
        store(CertificateEntry(pem: material.certificatePEM, parsed: parsed), for: material.id, in: certificates)
        return parsed
    }

    /// The private key of `material` (a QSealC), parsed once per certificate id, certificate and key.
    /// - Throws: `AdapterError.notCallable` when the certificate or the key cannot be parsed (never quoting it).
    public func signingKey(_ material: CertificateMaterial) throws -> PrivateKey {
        // Looked up by id and checked against both PEMs (equal strings from the same cached row compare at once).
        if let hit = keys.withLock({ $0[material.id] }), hit.certificatePEM == material.certificatePEM,
            hit.keyPEM.reveal == material.privateKeyPEM.reveal
        {
            return hit.key
        }
        _ = try certificate(material)
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: material.privateKeyPEM.reveal)
        } catch {
            throw AdapterError.notCallable(reason: "private key of certificate \(material.id) cannot be used: \(error)")
        }
        store(
            KeyEntry(certificatePEM: material.certificatePEM, keyPEM: material.privateKeyPEM, key: key),
            for: material.id, in: keys)
        return key
    }

    /// The mTLS identity of `material` (a QWAC); its `id` is the certificate's fingerprint, so pooled connections
    /// are never shared between two certificates.
    /// - Throws: `AdapterError.notCallable` when the certificate cannot be parsed.
    public func tlsIdentity(_ material: CertificateMaterial) throws -> TLSClientIdentity {
        if let hit = identities.withLock({ $0[material.id] }), hit.pem == material.certificatePEM,
            hit.keyPEM.reveal == material.privateKeyPEM.reveal
        {
            return hit.identity
        }
        let parsed = try certificate(material)
        let identity = TLSClientIdentity(
            id: parsed.fingerprint, certificatePEM: Array(material.certificatePEM.utf8),
            privateKeyPEM: Secret(Array(material.privateKeyPEM.reveal.utf8)))
        store(
            IdentityEntry(pem: material.certificatePEM, keyPEM: material.privateKeyPEM, identity: identity),
            for: material.id, in: identities)
        return identity
    }

    private func store<Entry: Sendable>(_ entry: Entry, for key: String, in map: borrowing Mutex<[String: Entry]>) {
        map.withLock { entries in
            if entries.count >= capacity, entries[key] == nil { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
    }
}
