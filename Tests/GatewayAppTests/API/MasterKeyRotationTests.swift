import Foundation
import GatewayLogging
import OpenSSLKit
import Testing
import TestSupport

@testable import GatewayApp

@Suite struct MasterKeyRotationTests {
    @Test func rewrapsStoredKeysUnderTheNewVersionAndTheOldKeyCanThenGo() async throws {
        let oldKey = AppHarness.masterKey
        let newKey = Base64.encode(Random.bytes(32))
        let first = try await AppHarness.start()
        let upload = try await CertificatesAPITests.upload(first, cert: "qseal-chain.pem", key: "qseal.key")
        let id = try #require(UUID(uuidString: upload.json["id"] as? String ?? ""))
        await first.stop()

        // Both versions configured: the new one is current; rotation re-wraps.
        let both = try await AppHarness.start(
            environment: ["PASSERELLE_MASTER_KEY": "2:\(newKey),1:\(oldKey)"], databaseURL: first.databaseURL)
        let rewrapped = try await MasterKeyRotation.run(db: both.app.db, vault: both.app.vault, logger: Logger(label: "t", level: .error))
        #expect(rewrapped == 1)
        #expect(try await MasterKeyRotation.run(db: both.app.db, vault: both.app.vault, logger: Logger(label: "t", level: .error)) == 0)
        await both.stop()

        // Only the new key: the secret still opens.
        let only = try await AppHarness.start(environment: ["PASSERELLE_MASTER_KEY": "2:\(newKey)"], databaseURL: first.databaseURL)
        defer { Task { await only.stop() } }
        let material = try await only.app.certificates.material(id)
        #expect(material.privateKeyPEM.reveal.contains("BEGIN PRIVATE KEY"))
    }

    @Test func aSealedKeyMovedToAnotherRowDoesNotOpen() async throws {
        let h = try await AppHarness.start()
        defer { Task { await h.stop() } }
        let a = try await CertificatesAPITests.upload(h, cert: "qseal-chain.pem", key: "qseal.key")
        let b = try await CertificatesAPITests.upload(h, cert: "qwac-chain.pem", key: "qwac.key")
        let idA = try #require(UUID(uuidString: a.json["id"] as? String ?? ""))
        let idB = try #require(UUID(uuidString: b.json["id"] as? String ?? ""))
        _ = try await h.app.db.execute("""
            UPDATE certificates SET private_key_sealed = (SELECT private_key_sealed FROM certificates WHERE id = \(idA))
            WHERE id = \(idB)
            """)
        await #expect(throws: (any Error).self) { _ = try await h.app.certificates.material(idB) }
    }
}
