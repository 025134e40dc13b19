import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// Uploads, lists and deletes the TPP's eIDAS certificates, and hands decrypted material to bank calls.
public struct CertificateService: Sendable {
    let store: any CertificateRepository
    let vault: SecretVault
    let now: @Sendable () -> Date

    /// - Parameters:
    ///   - store: `CertificateStore` (PostgreSQL), or an in-memory repository in tests.
    ///   - vault: Seals private keys with owner-bound associated data.
    ///   - now: The wall clock (validity at upload, `expired` in views).
    public init(store: any CertificateRepository, vault: SecretVault, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.vault = vault
        self.now = now
    }

    static func keyOwner(_ id: UUID) -> String { "certificates/\(id.uuidString.lowercased())/private_key" }

    /// Validates and stores an upload.
    /// - Throws: `GatewayError.refusedFields` for unparsable PEM text or a missing passphrase; `.unprocessable` for a
    ///   wrong passphrase, a non-RSA key, a key that does not match, an expired or not-yet-valid certificate, no
    ///   organizationIdentifier, or an unknown usage; `.conflict` when already uploaded.
    func upload(_ upload: CertificateUpload) async throws -> StoredCertificate {
        let chain: [Certificate]
        do {
            chain = try Certificate.chain(pem: upload.certificate)
        } catch {
            throw GatewayError.refusedFields([FieldIssue(field: "certificate", message: "not a PEM certificate (\(error))")])
        }
        guard let leaf = chain.first else {
            throw GatewayError.refusedFields([FieldIssue(field: "certificate", message: "no certificate in the PEM text")])
        }
        let key: PrivateKey
        do {
            key = try PrivateKey(pem: upload.privateKey, passphrase: upload.passphrase)
        } catch {
            switch error {
            case .passphraseRequired:
                throw GatewayError.refusedFields([FieldIssue(field: "passphrase", message: "required: the private key is encrypted")])
            case .wrongPassphrase:
                throw GatewayError.unprocessable("the passphrase does not decrypt the private key")
            case .notRSA(let algorithm):
                throw GatewayError.unprocessable("the private key is not an RSA key (\(algorithm)); eIDAS seals and QWACs must be RSA")
            case .invalidPEM:
                throw GatewayError.refusedFields([FieldIssue(field: "privateKey", message: "not a PEM private key")])
            }
        }
        guard key.matches(leaf) else {
            throw GatewayError.unprocessable("the private key does not match the certificate")
        }
        let at = now()
        if leaf.notBefore > at {
            throw GatewayError.unprocessable("the certificate is not valid yet (notBefore \(RFC3339.string(leaf.notBefore)))")
        }
        if leaf.notAfter < at {
            throw GatewayError.unprocessable("the certificate expired on \(RFC3339.string(leaf.notAfter))")
        }
        guard let orgID = leaf.organizationIdentifier, !orgID.isEmpty else {
            throw GatewayError.unprocessable(
                "the certificate has no organizationIdentifier (OID 2.5.4.97, e.g. PSDFR-ACPR-12345) in its subject")
        }
        let kind: String
        switch leaf.kind {
        case .qwac: kind = "qwac"
        case .qseal: kind = "qseal"
        case .unknown:
            throw GatewayError.unprocessable(
                "unknown usage: neither a QWAC (TLS client authentication) nor a QSealC (non-repudiation seal)")
        }
        let id = UUID()
        let keyPEM = try key.pkcs8PEM()
        let stored = StoredCertificate(
            id: id, kind: kind, label: upload.label, subject: leaf.subject, issuer: leaf.issuer,
            serialNumber: leaf.serialNumber, organizationIdentifier: orgID,
            roles: leaf.psd2?.roles.map(\.rawValue) ?? [], ncaName: leaf.psd2?.ncaName, ncaId: leaf.psd2?.ncaId,
            notBefore: leaf.notBefore, notAfter: leaf.notAfter, sha256Fingerprint: leaf.sha256FingerprintHex,
            certificatePEM: leaf.pem, chainPEM: chain.map(\.pem).joined(),
            privateKeySealed: try vault.seal(keyPEM, owner: Self.keyOwner(id)), createdAt: at)
        try await store.insert(stored)
        return stored
    }

    /// The certificate `id`.
    /// - Throws: `GatewayError.notFound`.
    public func get(_ id: UUID) async throws -> StoredCertificate {
        guard let c = try await store.find(id) else {
            throw GatewayError.notFound(resource: "certificate", id: id.uuidString.lowercased())
        }
        return c
    }

    /// Every certificate, newest first, as the API shows it; with `expiringBefore`, only those whose `notAfter`
    /// comes before it (the expiry forecast, docs/events.md).
    func list(expiringBefore: Date? = nil) async throws -> [CertificateDTO] {
        let all = try await store.list().filter { c in expiringBefore.map { c.notAfter < $0 } ?? true }
        return try await views(of: all)
    }

    /// The certificate `id` as the API shows it, with the registrations using it.
    /// - Throws: `GatewayError.notFound`.
    func view(_ id: UUID) async throws -> CertificateDTO {
        try await views(of: [try await get(id)])[0]
    }

    /// Deletes the certificate `id`.
    /// - Throws: `GatewayError.notFound`; `.conflict` while an active or pending registration uses it.
    func delete(_ id: UUID) async throws {
        try await store.delete(id)
    }

    /// The QSealC whose SHA-256 fingerprint (64 hex digits, any case) is `fingerprint`, for banks that fetch it from
    /// the URL given as `keyId` or `x5u`; nil for any other certificate. One indexed look-up (the route needs no API
    /// key, so it must not cost a scan of every certificate).
    func publishedQSeal(fingerprint: String) async throws -> StoredCertificate? {
        let hex = Array(fingerprint.uppercased().utf8)
        guard hex.count == 64 else { return nil }
        let stored = stride(from: 0, to: 64, by: 2).map { String(decoding: hex[$0..<$0 + 2], as: UTF8.self) }
            .joined(separator: ":")
        return try await store.find(sha256Fingerprint: stored).flatMap { $0.kind == "qseal" ? $0 : nil }
    }

    private func views(of certificates: [StoredCertificate]) async throws -> [CertificateDTO] {
        let usage = try await store.usage(of: certificates.map(\.id))
        let at = now()
        return certificates.map { CertificateDTO(stored: $0, usedBy: usage[$0.id] ?? [], now: at) }
    }

    /// The certificate and its decrypted key, for an mTLS identity or a signer.
    /// - Throws: `GatewayError.notFound`, or `.internal` when the key cannot be opened.
    public func material(_ id: UUID) async throws -> CertificateMaterial {
        let c = try await get(id)
        return CertificateMaterial(
            id: id.uuidString.lowercased(), certificatePEM: c.chainPEM,
            privateKeyPEM: try vault.open(c.privateKeySealed, owner: Self.keyOwner(id)))
    }
}
