import FoundationEssentials
import GatewayCore
import PostgresKit

/// PostgreSQL persistence of certificates (table `certificates`); usage and deletion read the `registrations` table.
public struct CertificateStore: CertificateRepository {
    let db: StoreDatabase

    public init(db: PostgresClient) { self.db = StoreDatabase(db) }

    static let columns = """
        id, kind, label, subject, issuer, serial_number, organization_identifier, roles, nca_name, nca_id,
        not_before, not_after, sha256_fingerprint, certificate_pem, chain_pem, private_key_sealed, created_at
        """
    static let columnsSQL = Query(unsafeSQL: columns)

    public func insert(_ c: StoredCertificate) async throws {
        do {
            _ = try await db.client.execute("""
                INSERT INTO certificates (id, kind, label, subject, issuer, serial_number, organization_identifier,
                  roles, nca_name, nca_id, not_before, not_after, sha256_fingerprint, certificate_pem, chain_pem,
                  private_key_sealed)
                VALUES (\(c.id), \(c.kind), \(c.label), \(c.subject), \(c.issuer), \(c.serialNumber),
                  \(c.organizationIdentifier), \(c.roles), \(c.ncaName), \(c.ncaId), \(c.notBefore), \(c.notAfter),
                  \(c.sha256Fingerprint), \(c.certificatePEM), \(c.chainPEM), \(c.privateKeySealed))
                """)
        } catch let error as DatabaseError {
            if error.code == .uniqueViolation {
                throw GatewayError.conflict("this certificate (SHA-256 \(c.sha256Fingerprint)) is already uploaded")
            }
            throw db.translate(error)
        }
    }

    public func find(_ id: UUID) async throws -> StoredCertificate? {
        try await db.query("SELECT \(Self.columnsSQL) FROM certificates WHERE id = \(id)").first.map(Self.decode)
    }

    public func find(sha256Fingerprint fingerprint: String) async throws -> StoredCertificate? {
        try await db.query("SELECT \(Self.columnsSQL) FROM certificates WHERE sha256_fingerprint = \(fingerprint)")
            .first.map(Self.decode)
    }

    public func list() async throws -> [StoredCertificate] {
        try await db.query("SELECT \(Self.columnsSQL) FROM certificates ORDER BY created_at DESC").map(Self.decode)
    }

    public func usage(of ids: [UUID]) async throws -> [UUID: [UUID]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.query("""
            SELECT id, qwac_certificate_id, qseal_certificate_id FROM registrations
            WHERE status <> 'deleted'
              AND (qwac_certificate_id = ANY(\(ids.map { $0.uuidString.lowercased() })::uuid[])
                OR qseal_certificate_id = ANY(\(ids.map { $0.uuidString.lowercased() })::uuid[]))
            ORDER BY created_at
            """)
        var out: [UUID: [UUID]] = [:]
        for row in rows {
            let reg: UUID = try row.decode("id")
            let qwac: UUID = try row.decode("qwac_certificate_id")
            let qseal: UUID = try row.decode("qseal_certificate_id")
            for c in Set([qwac, qseal]) where ids.contains(c) { out[c, default: []].append(reg) }
        }
        return out
    }

    /// Checked under a row lock, so that a registration created meanwhile cannot slip in; a registration still in
    /// its intent (`registering`, the bank not answered yet) uses the certificate as much as an active one. Deleted
    /// or failed registrations that no connection refers to go with the certificate.
    public func delete(_ id: UUID) async throws {
        try await db.withTransaction { tx in
            guard try await !tx.query("SELECT id FROM certificates WHERE id = \(id) FOR UPDATE").isEmpty else {
                throw GatewayError.notFound(resource: "certificate", id: id.uuidString.lowercased())
            }
            let users = try await tx.query("""
                SELECT id FROM registrations WHERE status IN ('registering', 'active', 'pending')
                  AND (qwac_certificate_id = \(id) OR qseal_certificate_id = \(id))
                ORDER BY created_at
                """)
            if let first = users.first {
                let reg: UUID = try first.decode("id")
                throw GatewayError.conflict(
                    "certificate is used by registration \(reg.uuidString.lowercased()); delete or rotate it first")
            }
            // Deleted registrations are kept as tombstones; those that no connection refers to go with the certificate.
            _ = try await tx.execute("""
                DELETE FROM registrations r WHERE r.status IN ('deleted', 'failed')
                  AND (r.qwac_certificate_id = \(id) OR r.qseal_certificate_id = \(id))
                  AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.registration_id = r.id)
                """)
            do {
                _ = try await tx.execute("DELETE FROM certificates WHERE id = \(id)")
            } catch let error as DatabaseError where error.code == .foreignKeyViolation {
                throw GatewayError.conflict("certificate is still referenced by a deleted or failed registration's history")
            }
        }
    }

    static func decode(_ row: Row) throws -> StoredCertificate {
        let id: UUID = try row.decode("id")
        let kind: String = try row.decode("kind")
        let label: String? = try row.decode("label")
        let subject: String = try row.decode("subject")
        let issuer: String = try row.decode("issuer")
        let serial: String = try row.decode("serial_number")
        let orgID: String = try row.decode("organization_identifier")
        let roles: [String] = try row.decode("roles", as: [String].self)
        let ncaName: String? = try row.decode("nca_name")
        let ncaID: String? = try row.decode("nca_id")
        let notBefore: Date = try row.decode("not_before")
        let notAfter: Date = try row.decode("not_after")
        let fingerprint: String = try row.decode("sha256_fingerprint")
        let certificatePEM: String = try row.decode("certificate_pem")
        let chainPEM: String = try row.decode("chain_pem")
        let sealed: [UInt8] = try row.decode("private_key_sealed")
        let createdAt: Date = try row.decode("created_at")
        return StoredCertificate(
            id: id, kind: kind, label: label, subject: subject, issuer: issuer, serialNumber: serial,
            organizationIdentifier: orgID, roles: roles, ncaName: ncaName, ncaId: ncaID, notBefore: notBefore,
            notAfter: notAfter, sha256Fingerprint: fingerprint, certificatePEM: certificatePEM, chainPEM: chainPEM,
            privateKeySealed: sealed, createdAt: createdAt)
    }
}
