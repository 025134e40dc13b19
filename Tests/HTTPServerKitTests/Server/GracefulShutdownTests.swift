import Foundation
import Glibc
import Synchronization
import TestSupport
import Testing

@testable import HTTPServerKit

/// Reads a child's stdout line by line with a bounded wait.
final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer = ""
    private(set) var seen: [String] = []

    init(_ handle: FileHandle) { self.handle = handle }

    /// Waits (up to `seconds`) for a line starting with `prefix`; returns it.
    func waitFor(_ prefix: String, seconds: Double = 30) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let line = seen.first(where: { $0.hasPrefix(prefix) }) { return line }
            var pfd = pollfd(fd: handle.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) > 0 else { continue }
            let data = handle.availableData
            if data.isEmpty { return seen.first { $0.hasPrefix(prefix) } }
            buffer += String(decoding: data, as: UTF8.self)
            while let nl = buffer.firstIndex(of: "\n") {
                seen.append(String(buffer[..<nl]))
                buffer = String(buffer[buffer.index(after: nl)...])
            }
        }
        return nil
    }
}

@Suite struct GracefulShutdownTests {
    /// The HTTPTestServer executable next to the test bundle.
    static func testServerPath() throws -> String {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path]
        if let binary = TestEnvironment.executablePath() {
            candidates.append(URL(fileURLWithPath: binary).deletingLastPathComponent().path)
        }
        for dir in candidates where FileManager.default.isExecutableFile(atPath: dir + "/HTTPTestServer") {
            return dir + "/HTTPTestServer"
        }
        throw ClientError(description: "HTTPTestServer not found next to the tests (run swift build --build-tests)")
    }

    @Test func sigtermLetsInFlightRequestsFinishAndExitsZero() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.testServerPath())
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let lines = LineReader(stdout.fileHandleForReading)

        let portLine = try await offPool { lines.waitFor("port ") }
        let port = try #require(portLine.flatMap { Int($0.dropFirst(5)) })

        // An idle keep-alive connection, and a request in flight.
        let idle = try await offPool { () -> RawClient in
            let c = try RawClient(port: port)
            try c.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
            _ = try c.readResponse()
            return c
        }
        let slowClient = try await offPool { () -> RawClient in
            let c = try RawClient(port: port)
            try c.send("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
            return c
        }
        let inFlight = try await offPool { lines.waitFor("in-flight") }
        #expect(inFlight != nil)

        kill(process.processIdentifier, SIGTERM)

        let idleClosed = try await offPool { () -> Bool in idle.isClosedByPeer() }
        #expect(idleClosed, "idle keep-alive connections close at once")
        let refused = try await offPool { () -> Bool in
            for _ in 0..<50 {
                if (try? RawClient(port: port)) == nil { return true }
                usleep(20_000)
            }
            return false
        }
        #expect(refused, "new connections are refused while draining")
        let slow = try await offPool { () -> ParsedResponse in try slowClient.readResponse() }
        #expect(slow.status == 200 && slow.text == "slow done", "the in-flight request completes")
        #expect(slow.header("Connection") == "close")

        let exited = try await offPool { () -> Bool in
            for _ in 0..<500 where process.isRunning { usleep(20_000) }
            return !process.isRunning
        }
        #expect(exited)
        if exited {
            #expect(process.terminationReason == .exit)
            #expect(process.terminationStatus == 0)
        }
    }

    @Test func recoversFromRunningOutOfFileDescriptors() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "ulimit -n 64 && exec \"$0\"", try GracefulShutdownTests.testServerPath()]
        process.environment = ["HTTP_TEST_LOG_LEVEL": "warning"]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let lines = LineReader(stdout.fileHandleForReading)
        let portLine = try await offPool { lines.waitFor("port ") }
        let port = try #require(portLine.flatMap { Int($0.dropFirst(5)) })

        let flood = try await offPool { () -> [RawClient] in (0..<100).compactMap { _ in try? RawClient(port: port) } }
        #expect(flood.count > 64, "only \(flood.count) connections opened")
        let paused = try await offPool { lines.waitFor("{", seconds: 10) }
        #expect(paused?.contains("pausing the listener") == true, "first log line: \(paused ?? "none within 10 s")")
        for client in flood { shutdown(client.fd, Int32(SHUT_RDWR)) }
        let response = try await offPool { () -> ParsedResponse? in
            for _ in 0..<100 {
                if let client = try? RawClient(port: port, timeoutSeconds: 2),
                    (try? client.send("GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")) != nil,
                    let response = try? client.readResponse()
                {
                    return response
                }
                usleep(50_000)
            }
            return nil
        }
        #expect(response?.status == 200, "no answer to /hello after the flood: \(String(describing: response?.status))")
        _ = flood
        kill(process.processIdentifier, SIGTERM)
        let exited = try await offPool { () -> Bool in
            for _ in 0..<500 where process.isRunning { usleep(20_000) }
            return !process.isRunning
        }
        #expect(
            exited && process.terminationStatus == 0,
            "after SIGTERM: \(exited ? "exited with status \(process.terminationStatus)" : "still running after 10 s")")
    }
}
