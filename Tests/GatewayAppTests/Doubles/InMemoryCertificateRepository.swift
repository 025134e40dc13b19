import Foundation
import GatewayCore
import Synchronization

@testable import GatewayApp

/// `CertificateRepository` in memory, for tests of the HTTP contract without PostgreSQL. It keeps the promises of
/// `CertificateStore`: one certificate per SHA-256 fingerprint, newest first, and the registrations' use of
/// certificates (recorded with `recordRegistration`) deciding usage and whether a delete is refused.
final class InMemoryCertificateRepository: CertificateRepository {
    /// What the `registrations` table says about one registration's certificates.
    struct RegistrationUse: Sendable {
        var qwac: UUID
        var qseal: UUID
        /// `registering`, `pending`, `active`, `failed` or `deleted`, as in the table.
        var status: String
    }

    private struct State {
        var certificates: [StoredCertificate] = []
        var registrations: [(id: UUID, use: RegistrationUse)] = []
    }

    private let state = Mutex(State())

    /// Records (or replaces) registration `id` as using `qwac` and `qseal` with `status`.
    func recordRegistration(_ id: UUID, qwac: UUID, qseal: UUID, status: String) {
        state.withLock { s in
            let use = RegistrationUse(qwac: qwac, qseal: qseal, status: status)
            if let i = s.registrations.firstIndex(where: { $0.id == id }) {
                s.registrations[i].use = use
            } else {
                s.registrations.append((id, use))
            }
        }
    }

    /// Every certificate stored, newest first.
    var certificates: [StoredCertificate] { state.withLock { $0.certificates } }

    func insert(_ certificate: StoredCertificate) async throws {
        try state.withLock { s in
            guard !s.certificates.contains(where: { $0.sha256Fingerprint == certificate.sha256Fingerprint }) else {
                throw GatewayError.conflict(
                    "this certificate (SHA-256 \(certificate.sha256Fingerprint)) is already uploaded")
            }
            s.certificates.insert(certificate, at: 0)
        }
    }

    func find(_ id: UUID) async throws -> StoredCertificate? {
        state.withLock { s in s.certificates.first { $0.id == id } }
    }

    func find(sha256Fingerprint fingerprint: String) async throws -> StoredCertificate? {
        state.withLock { s in s.certificates.first { $0.sha256Fingerprint == fingerprint } }
    }

    func list() async throws -> [StoredCertificate] { certificates }

    func usage(of ids: [UUID]) async throws -> [UUID: [UUID]] {
        state.withLock { s in
            var out: [UUID: [UUID]] = [:]
            for (id, use) in s.registrations where use.status != "deleted" {
                for c in Set([use.qwac, use.qseal]) where ids.contains(c) { out[c, default: []].append(id) }
            }
            return out
        }
    }

    func delete(_ id: UUID) async throws {
        try state.withLock { s in
            guard let index = s.certificates.firstIndex(where: { $0.id == id }) else {
                throw GatewayError.notFound(resource: "certificate", id: id.uuidString.lowercased())
            }
            if let user = s.registrations.first(where: { r in
                ["registering", "active", "pending"].contains(r.use.status) && (r.use.qwac == id || r.use.qseal == id)
            }) {
                throw GatewayError.conflict(
                    "certificate is used by registration \(user.id.uuidString.lowercased()); delete or rotate it first")
            }
            s.certificates.remove(at: index)
        }
    }
}
