import BlockingIO
import Foundation

/// Runs a program to completion on a dedicated thread (never blocking the cooperative pool) and returns stdout.
/// - Throws: when it cannot start or exits non-zero.
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil)
    async throws -> String
{
    try await processExecutor.run {
        let result = try execute(executable, arguments, environment: environment, captureStandardError: false)
        guard result.status == 0 else {
            throw ProcessFailure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(result.status)")
        }
        return result.stdout
    }
}

let processExecutor = BlockingExecutor(name: "test-process", threads: 4)

public struct ProcessFailure: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a program to completion and returns its status, stdout and stderr (whatever the status).
public func runProcessCapturingAll(_ executable: String, _ arguments: [String], environment: [String: String]? = nil)
    async throws -> (status: Int32, stdout: String, stderr: String)
{
    try await processExecutor.run {
        try execute(executable, arguments, environment: environment, captureStandardError: true)
    }
}

/// Starts `executable`, reads its output to the end and waits for it (blocking: call it on `processExecutor`).
private func execute(
    _ executable: String, _ arguments: [String], environment: [String: String]?, captureStandardError: Bool
) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = captureStandardError ? Pipe() : nil
    process.standardOutput = out
    process.standardError = err ?? FileHandle.nullDevice
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err?.fileHandleForReading.readDataToEndOfFile() ?? Data()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
