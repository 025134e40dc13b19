import Foundation
import Synchronization

@testable import BankSimulator

/// A `SimulatorCrypto` for tests, backed by the `openssl` command-line tool (real cryptography, no code of ours),
/// so the simulator's checks can be tested before and independently of OpenSSLKit.
final class OpenSSLCLICrypto: SimulatorCrypto {
    let caFile: String
    private let cache = Mutex<[[UInt8]: SimulatorCertificateInfo]>([:])

    init(caFile: String) { self.caFile = caFile }

    struct Failure: Error { var message: String }

    /// Runs `openssl args…` with `input` on stdin; returns (status, stdout).
    static func run(_ args: [String], input: [UInt8] = []) -> (Int32, [UInt8]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        let inPipe = Pipe()
        let outPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, []) }
        inPipe.fileHandleForWriting.write(Data(input))
        try? inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, Array(out))
    }

    static func tempFile(_ bytes: [UInt8]) -> String {
        let path = NSTemporaryDirectory() + "simtest-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func sha256(_ bytes: [UInt8]) -> [UInt8] { Self.run(["dgst", "-sha256", "-binary"], input: bytes).1 }

    func certificateInfo(der: [UInt8]) throws -> SimulatorCertificateInfo {
        if let hit = cache.withLock({ $0[der] }) { return hit }
        let (status, out) = Self.run(
            [
                "x509", "-inform", "DER", "-noout", "-fingerprint", "-sha256", "-subject", "-enddate", "-text",
                "-nameopt", "RFC2253",
            ],
            input: der)
        guard status == 0 else { throw Failure(message: "not a certificate") }
        let text = String(decoding: out, as: UTF8.self)
        var fingerprint: [UInt8] = []
        var subject = ""
        var notAfter: Int64 = 0
        for line in text.split(separator: "\n") {
            if let r = line.firstRange(of: "Fingerprint=") {
                fingerprint = line[r.upperBound...].split(separator: ":").compactMap { UInt8($0, radix: 16) }
            } else if line.hasPrefix("subject=") {
                subject = String(line.dropFirst(8)).trimmingCharacters(in: .whitespaces)
            } else if line.hasPrefix("notAfter=") {
                let f = DateFormatter()
                f.locale = Locale(identifier: "en_US_POSIX")
                f.timeZone = TimeZone(identifier: "GMT")
                f.dateFormat = "MMM d HH:mm:ss yyyy zzz"
                let value = String(line.dropFirst(9)).replacingOccurrences(of: "  ", with: " ")
                notAfter = Int64(f.date(from: value)?.timeIntervalSince1970 ?? 0)
            }
        }
        var orgID: String?
        for part in subject.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == "organizationIdentifier" || kv[0] == "2.5.4.97" {
                var v = String(kv[1])
                if v.hasPrefix("#") {  // DER-encoded value: UTF8String/PrintableString, tag + length + bytes
                    let hex = Array(v.dropFirst())
                    let bytes = stride(from: 0, to: hex.count - 1, by: 2).compactMap {
                        UInt8(String(hex[$0...$0 + 1]), radix: 16)
                    }
                    v = String(decoding: bytes.dropFirst(2), as: UTF8.self)
                }
                orgID = v
            }
        }
        let info = SimulatorCertificateInfo(
            sha256Base64URL: Base64Text.encodeURL(fingerprint), organizationIdentifier: orgID, subject: subject,
            notAfter: notAfter,
            isRSA: text.contains("rsaEncryption"),
            isSignedWithRSASSAPSS: text.contains("Signature Algorithm: rsassaPss"),
            rsaModulus: Self.modulus(text), rsaExponent: Self.exponent(text), psd2Roles: Self.psd2Roles(der))
        cache.withLock { $0[der] = info }
        return info
    }

    /// The role OIDs inside the `qcStatements` extension (`openssl asn1parse` of the certificate, then of the
    /// extension's value), named as ETSI TS 119 495 §5.1 names them.
    static func psd2Roles(_ der: [UInt8]) -> Set<String> {
        let names = [
            "0.4.0.19495.1.1": "PSP_AS", "0.4.0.19495.1.2": "PSP_PI", "0.4.0.19495.1.3": "PSP_AI",
            "0.4.0.19495.1.4": "PSP_IC",
        ]
        let lines = String(decoding: run(["asn1parse", "-inform", "DER"], input: der).1, as: UTF8.self)
            .split(separator: "\n")
        guard let at = lines.firstIndex(where: { $0.hasSuffix(":qcStatements") }), at + 1 < lines.count,
            let dump = lines[at + 1].split(separator: "[HEX DUMP]:").last
        else { return [] }
        let hex = Array(dump)
        let value = stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
        let inner = String(decoding: run(["asn1parse", "-inform", "DER"], input: value).1, as: UTF8.self)
        return Set(
            inner.split(separator: "\n").compactMap { line in
                line.contains("prim: OBJECT") ? line.split(separator: ":").last.flatMap { names[String($0)] } : nil
            })
    }

    /// The `Modulus:` block of `openssl x509 -text` (hex octets over several lines), without leading zeros.
    static func modulus(_ text: String) -> [UInt8]? {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: "Modulus:") else { return nil }
        var bytes: [UInt8] = []
        for line in lines[(start + 1)...] {
            let parts = line.split(separator: ":", omittingEmptySubsequences: true)
            guard !parts.isEmpty, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else { break }
            bytes += parts.compactMap { UInt8($0, radix: 16) }
        }
        return Array(bytes.drop { $0 == 0 })
    }

    /// `Exponent: 65537 (0x10001)` as big-endian octets.
    static func exponent(_ text: String) -> [UInt8]? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Exponent: ") }),
            let value = line.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) })
        else { return nil }
        return Array(withUnsafeBytes(of: value.bigEndian, Array.init).drop { $0 == 0 })
    }

    func verifyRSASHA256(message: [UInt8], signature: [UInt8], certificateDER: [UInt8]) -> Bool {
        let (s1, pub) = Self.run(["x509", "-inform", "DER", "-pubkey", "-noout"], input: certificateDER)
        guard s1 == 0 else { return false }
        let pubFile = Self.tempFile(pub)
        let sigFile = Self.tempFile(signature)
        defer {
            try? FileManager.default.removeItem(atPath: pubFile)
            try? FileManager.default.removeItem(atPath: sigFile)
        }
        return Self.run(["dgst", "-sha256", "-verify", pubFile, "-signature", sigFile], input: message).0 == 0
    }

    func chainsToTrustedCA(_ certificateDER: [UInt8], intermediates: [[UInt8]]) -> Bool {
        let leafPEM = Self.run(["x509", "-inform", "DER", "-outform", "PEM"], input: certificateDER).1
        var chainPEM: [UInt8] = []
        for i in intermediates { chainPEM += Self.run(["x509", "-inform", "DER", "-outform", "PEM"], input: i).1 }
        let leaf = Self.tempFile(leafPEM)
        let chain = Self.tempFile(chainPEM)
        defer {
            try? FileManager.default.removeItem(atPath: leaf)
            try? FileManager.default.removeItem(atPath: chain)
        }
        var args = ["verify", "-CAfile", caFile]
        if !chainPEM.isEmpty { args += ["-untrusted", chain] }
        return Self.run(args + [leaf]).0 == 0
    }

    /// Signs `message` with a PEM private key file (rsa-sha256), for building test requests.
    static func sign(_ message: [UInt8], keyFile: String) -> [UInt8] {
        run(["dgst", "-sha256", "-sign", keyFile], input: message).1
    }
}
