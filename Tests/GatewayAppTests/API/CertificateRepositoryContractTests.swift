import Foundation
import GatewayCore
import OpenSSLKit
import PostgresKit
import TestSupport
import Testing

@testable import GatewayApp

/// Deleting a certificate, on both implementations of `CertificateRepository` with the same steps: `CertificateStore`
/// over a fresh PostgreSQL database and `InMemoryCertificateRepository` (`CertificatesRouterTests`).
@Suite struct CertificateRepositoryContractTests {
    enum Implementation: String, CaseIterable, CustomTestStringConvertible {
        case postgres, memory
        var testDescription: String { rawValue }
    }

    /// A registration still in its intent (`registering`: the bank has not answered) uses its certificates: the
    /// delete is refused as in use, naming it — not by the foreign key as a deleted registration's history.
    @Test(arguments: Implementation.allCases)
    func aRegistrationInItsIntentKeepsItsCertificates(_ implementation: Implementation) async throws {
        let vault = SecretVault(keyring: try MasterKeyring(parsing: Base64.encode(Random.bytes(32))))
        let qwac = try ConnectionsTestBed.certificate(vault: vault, kind: "qwac")
        let qseal = try ConnectionsTestBed.certificate(vault: vault, kind: "qseal")
        let registration = ConnectionsTestBed.registration(
            provider: .euroInformation, bank: BankID("cmcic:cic")!, qwac: qwac.id, qseal: qseal.id,
            status: .registering, clientID: "intent", now: Date())
        func check(_ repository: any CertificateRepository) async throws {
            do {
                try await repository.delete(qseal.id)
                Issue.record("deleted a certificate a registering registration uses")
            } catch GatewayError.conflict(let detail) {
                #expect(detail.contains(registration.id.uuidString.lowercased()))
                #expect(detail.contains("used by registration"))
            }
            #expect(try await repository.find(qseal.id) != nil)
        }
        switch implementation {
        case .memory:
            let repository = InMemoryCertificateRepository()
            try await repository.insert(qwac)
            try await repository.insert(qseal)
            repository.recordRegistration(registration.id, qwac: qwac.id, qseal: qseal.id, status: "registering")
            try await check(repository)
        case .postgres:
            try await TestDatabases.withClient { db in
                let repository = CertificateStore(db: db)
                try await repository.insert(qwac)
                try await repository.insert(qseal)
                try await RegistrationStore(db: db).insert(registration)
                try await check(repository)
            }
        }
    }
}
