import Foundation
import TestSupport
import Testing

@testable import OpenSSLKit

/// End-to-end tests of `passerelle sign-request`, run as a process (PASSERELLE_TEST_BINARY, set by scripts/test).
@Suite struct SignRequestCommandTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        /// `Name: value` lines before the first blank line.
        var headers: [(String, String)] {
            stdout.split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }.compactMap { line in
                line.firstIndex(of: ":").map { (String(line[..<$0]), String(line[line.index($0, offsetBy: 2)...])) }
            }
        }
        func header(_ name: String) -> String? { headers.first { $0.0 == name }?.1 }
    }

    func run(_ arguments: [String]) async throws -> Run {
        guard let binary = TestEnvironment.executablePath() else {
            throw FixtureError(message: "PASSERELLE_TEST_BINARY is not set: run the suite with scripts/test")
        }
        let result = try await runProcessCapturingAll(binary, ["sign-request"] + arguments)
        return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    @Test func printsTheKnownAnswerDigestSignatureAndSigningString() async throws {
        let result = try await run([
            "--key", try Fixtures.url("kat-rsa2048.key").path, "--key-id", "kid-1", "--method", "POST",
            "--url", "https://oauth2-apiii.e-i.com/cic/stet-psd2-api/v2.0/payment-requests?lang=fr&x=%2F#fragment",
            "--header", "Date: Tue, 07 Jun 2022 20:51:35 GMT",
            "--header", "X-Request-ID: 1d5e4c1a-8f0f-4b52-9c3e-6b0a2f4f7a11",
            "--header", "Content-Type: application/json", "--header", "PSU-Accept-Language: fr-FR",
            "--header", "Authorization: Bearer x", "--header", "PSU-IP-Address: 192.0.2.10",
            "--header", "psu-accept-language: en;q=0.5", "--body-file", try Fixtures.url("kat-body.json").path,
            "--signed-headers",
            "(request-target) host date x-request-id digest content-type psu-ip-address psu-accept-language",
            "--explain",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.headers.map(\.0) == ["Digest", "Signature"])
        #expect(result.header("Digest") == (try Fixtures.text("kat-body.digest")))
        let signature = try HTTPSignature(parsing: try #require(result.header("Signature")))
        #expect(
            Base64.encode(signature.signature)
                == (try Fixtures.text("kat-signature.b64")).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(
            result.stdout.contains(
                "-----BEGIN SIGNING STRING-----\n" + (try Fixtures.text("kat-signing-string.txt"))
                    + "\n-----END SIGNING STRING-----"))
    }

    @Test func defaultRuleGeneratesDateAndRequestIDAndVerifies() async throws {
        let key = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        let result = try await run([
            "--key", try Fixtures.pkiPath("qseal.key"), "--key-id", "https://tpp.example/qseal.pem", "--method", "get",
            "--url", "https://user@bank.example:443?x=1", "--header", "PSU-IP-Address: 192.0.2.1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.headers.map(\.0) == ["Date", "X-Request-ID", "Signature"])
        let signature = try HTTPSignature(parsing: try #require(result.header("Signature")))
        #expect(signature.headers == ["(request-target)", "host", "date", "x-request-id", "psu-ip-address"])
        let headers =
            [("Host", "bank.example"), ("PSU-IP-Address", "192.0.2.1")] + result.headers.filter { $0.0 != "Signature" }
        try HTTPSignatureVerifier.euroInformation.verify(
            signature, method: "GET", target: "/?x=1", headers: headers, publicKey: key.publicKey)
    }

    @Test func theBankOptionSignsByThatBanksCatalogRule() async throws {
        let key = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        let result = try await run([
            "--key", try Fixtures.pkiPath("qseal.key"), "--key-id", "kid", "--method", "GET", "--bank", "bpce:13807",
            "--url", "https://www.13807.sandbox.api.89c3.com/stet/psd2/v1/accounts", "--header", "PSU-IP-Address: 192.0.2.1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.headers.map(\.0) == ["Date", "X-Request-ID", "Digest", "Signature"], "BPCE signs a digest on GET")
        let signature = try HTTPSignature(parsing: try #require(result.header("Signature")))
        #expect(signature.headers == ["(request-target)", "date", "x-request-id", "digest", "psu-ip-address"])
        let headers = [("PSU-IP-Address", "192.0.2.1")] + result.headers.filter { $0.0 != "Signature" }
        try HTTPSignatureVerifier.bpce.verify(
            signature, method: "GET", target: "/stet/psd2/v1/accounts", headers: headers, publicKey: key.publicKey)
        let unknown = try await run([
            "--key", try Fixtures.pkiPath("qseal.key"), "--key-id", "kid", "--method", "GET", "--bank", "bpce:00000",
            "--url", "https://bank.example/x",
        ])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("--bank"))
    }

    @Test func readsEncryptedKeysOnlyWithThePassphraseFile() async throws {
        let base = [
            "--key", try Fixtures.pkiPath("qseal-pkcs8-enc.key"), "--key-id", "k", "--method", "GET", "--url",
            "https://h/x",
        ]
        let without = try await run(base)
        #expect(without.status != 0)
        #expect(without.stderr.contains("--passphrase-file"))
        let with = try await run(base + ["--passphrase-file", try Fixtures.pkiPath("passphrase.txt")])
        #expect(with.status == 0, "\(with.stderr)")
        #expect(with.header("Signature") != nil)
    }

    @Test func warnsUnder2048BitsAndReportsUsageErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sign-request-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = dir.appendingPathComponent("small.key").path
        _ = try runOpenSSL(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", small])
        let result = try await run([
            "--key", small, "--key-id", "k", "--method", "GET", "--url", "https://h/", "--signed-headers",
            "(request-target) digest",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning: the key has 1024 bits"))
        #expect(result.header("Digest") == Digest.headerValue(for: [UInt8]()))
        #expect(try await run(["--key", small]).status == 64)
        #expect(try await run(["--key", small, "--key-id", "k", "--method", "GET", "--url", "ftp://h/"]).status == 64)
        let absent = try await run([
            "--key", small, "--key-id", "k", "--method", "GET", "--url", "https://h/", "--signed-headers",
            "content-type",
        ])
        #expect(absent.status != 0)
        #expect(absent.stderr.contains("header listed but absent: content-type"))
    }
}
