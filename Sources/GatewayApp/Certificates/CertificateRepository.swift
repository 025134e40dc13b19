import FoundationEssentials
import GatewayCore

/// Where the TPP's certificates are kept: the narrow surface `CertificateService` needs. `CertificateStore` keeps them
/// in PostgreSQL (table `certificates`); tests of the HTTP contract use `InMemoryCertificateRepository`
/// (GatewayAppTests), which keeps the same promises. Errors are already the API's (`GatewayError`).
public protocol CertificateRepository: Sendable {
    /// Stores `certificate`.
    /// - Throws: `GatewayError.conflict` when a certificate with the same SHA-256 fingerprint is already stored.
    func insert(_ certificate: StoredCertificate) async throws

    /// The certificate `id`, if stored.
    func find(_ id: UUID) async throws -> StoredCertificate?

    /// The certificate whose SHA-256 fingerprint is `fingerprint` (colon-separated upper-case hex, as stored), if any.
    func find(sha256Fingerprint fingerprint: String) async throws -> StoredCertificate?

    /// Every certificate, newest first.
    func list() async throws -> [StoredCertificate]

    /// For each of `ids` that one uses, the registrations (not deleted) using it, oldest first.
    func usage(of ids: [UUID]) async throws -> [UUID: [UUID]]

    /// Deletes the certificate `id`.
    /// - Throws: `GatewayError.notFound`; `GatewayError.conflict` naming the registration while one uses it (in its
    ///   intent `registering`, `pending` or `active`).
    func delete(_ id: UUID) async throws
}
