import Foundation
import TestSupport

/// Reads the committed known-answer fixtures and the generated test PKI.
enum Fixtures {
    static func url(_ name: String) throws -> URL {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw FixtureError(message: "Fixtures folder missing from the test bundle")
        }
        return folder.appendingPathComponent(name)
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: url(name), encoding: .utf8)
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: url(name)))
    }

    /// A file of the test PKI made by scripts/make-test-pki (PASSERELLE_TEST_PKI).
    static func pki(_ name: String) throws -> String {
        try TestEnvironment.pkiContents(name)
    }

    static func pkiPath(_ name: String) throws -> String {
        try TestEnvironment.pki(name)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs the openssl CLI and returns its standard output (the reference implementation for known answers).
func runOpenSSL(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw FixtureError(
            message: "openssl \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}
