import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

@Suite struct MasterKeyRotationTests {
    @Test func rewrapsStoredKeysUnderTheNewVersionAndTheOldKeyCanThenGo() async throws {
        let oldKey = AppHarness.masterKey
        let newKey = Base64.encode(Random.bytes(32))
        try await TestDatabases.with { database in
            let id = try await AppHarness.with(databaseURL: database) { first in
                let upload = try await CertificatesAPITests.upload(first, cert: "qseal-chain.pem", key: "qseal.key")
                return try #require(UUID(uuidString: upload.json["id"] as? String ?? ""))
            }

            // Both versions configured: the new one is current; rotation re-wraps.
            try await AppHarness.with(
                environment: ["PASSERELLE_MASTER_KEY": "2:\(newKey),1:\(oldKey)"], databaseURL: database
            ) { both in
                let rewrapped = try await MasterKeyRotation.run(db: both.app.db, vault: both.app.vault, logger: Logger(label: "t", level: .error))
                #expect(rewrapped == 1)
                #expect(try await MasterKeyRotation.run(db: both.app.db, vault: both.app.vault, logger: Logger(label: "t", level: .error)) == 0)
            }

            // Only the new key: the secret still opens.
            try await AppHarness.with(environment: ["PASSERELLE_MASTER_KEY": "2:\(newKey)"], databaseURL: database) { only in
                let material = try await only.app.certificates.material(id)
                #expect(material.privateKeyPEM.reveal.contains("BEGIN PRIVATE KEY"))
            }
        }
    }

    @Test func aSealedKeyMovedToAnotherRowDoesNotOpen() async throws {
        try await AppHarness.with { h in
            let a = try await CertificatesAPITests.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
            let b = try await CertificatesAPITests.upload(h, cert: "qwac-chain.pem", key: "qwac.key")
            let idA = try #require(UUID(uuidString: a.json["id"] as? String ?? ""))
            let idB = try #require(UUID(uuidString: b.json["id"] as? String ?? ""))
            _ = try await h.app.db.execute("""
                UPDATE certificates SET private_key_sealed = (SELECT private_key_sealed FROM certificates WHERE id = \(idA))
                WHERE id = \(idB)
                """)
            let moved = await #expect(throws: GatewayError.self) { _ = try await h.app.certificates.material(idB) }
            #expect(moved?.description.contains("cannot be decrypted") == true, "\(String(describing: moved))")
        }
    }
}
