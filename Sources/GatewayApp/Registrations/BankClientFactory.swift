import FoundationEssentials
import GatewayCore

/// Builds the `BankClient` (catalog entry, environment, decrypted QWAC/QSealC material, client id, keyId) for a
/// bank call made on behalf of a registration. Shared by registrations, connections and account reads.
public struct BankClientFactory: Sendable {
    let catalog: BankCatalog
    let certificates: CertificateService
    /// Opened certificate material by id. Certificates are immutable once uploaded, so this never goes stale;
    /// it saves two queries and two envelope openings on every bank call.
    /// Decrypted keys stay in process memory, as parsed keys do in the adapters' signer cache; they never go to
    /// logs or responses.
    private let materials = RecordCache<UUID, CertificateMaterial>(ttl: nil, capacity: 256)

    public init(catalog: BankCatalog, certificates: CertificateService) {
        self.catalog = catalog
        self.certificates = certificates
    }

    func material(_ id: UUID) async throws -> CertificateMaterial {
        if let hit = materials.get(id) { return hit }
        let material = try await certificates.material(id)
        materials.put(id, material)
        return material
    }

    /// The client for `registration`, addressed to `bank` (defaults to the registration's own bank; BPCE
    /// registrations are group-wide, so PSD2 calls go to the customer's bank code).
    /// - Throws: `GatewayError.notFound` for an unknown bank or certificate; `.conflict` when the bank has no
    ///   URLs for the registration's environment.
    public func client(for registration: RegistrationRecord, bank: BankID? = nil) async throws -> BankClient {
        let profile = try catalog.require(bank ?? registration.bankID)
        guard profile.endpoints(for: registration.environment) != nil else {
            throw GatewayError.conflict("\(profile.id) has no \(registration.environment) environment configured")
        }
        return BankClient(
            bank: profile, environment: registration.environment,
            qwac: try await material(registration.qwacCertificateID),
            qseal: try await material(registration.qsealCertificateID),
            clientID: registration.clientID, keyID: registration.keyID)
    }
}
