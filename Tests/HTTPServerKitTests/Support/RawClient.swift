import Foundation
import Glibc
import TestSupport

@testable import HTTPServerKit

/// Runs blocking client code on its own thread, so test sockets never stall the cooperative pool the server's
/// handlers run on.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

struct ClientError: Error, CustomStringConvertible {
    let description: String
}

/// A blocking TCP client with a receive timeout, for raw HTTP exchanges.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private(set) var sawEOF = false

    /// Connects to 127.0.0.1:`port` from `source` (any 127.0.0.0/8 address is local on Linux, so tests can play
    /// several peers); throws when refused.
    init(port: Int, source: String? = nil, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let failure = connectLoopback(fd, port: port, from: source)
        if failure != 0 {
            // No close here: a class whose stored properties are all set runs `deinit` when `init` throws.
            throw ClientError(description: "connect failed: errno \(failure)")
        }
        setTimeout(seconds: timeoutSeconds)
    }

    deinit { close(fd) }

    func setTimeout(seconds: Int, microseconds: Int = 0) {
        var tv = timeval(tv_sec: seconds, tv_usec: microseconds)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n <= 0 { throw ClientError(description: "send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads once; false on timeout, EOF or error (EOF sets `sawEOF`).
    @discardableResult
    func readSome() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        if n > 0 {
            received += buf[0..<n]
            return true
        }
        if n == 0 || errno == ECONNRESET { sawEOF = true }
        return false
    }

    /// Reads until the peer closes (true) or the timeout passes (false).
    func readUntilClosed() -> Bool {
        while !sawEOF { if !readSome() { break } }
        return sawEOF
    }

    /// Reads and removes one complete response (Content-Length framed; `head` for HEAD responses).
    func readResponse(head: Bool = false) throws -> ParsedResponse {
        while true {
            if let (response, used) = ParsedResponse.parse(received, isHead: head) {
                received.removeFirst(used)
                return response
            }
            if !readSome() {
                throw ClientError(description: "no complete response (eof: \(sawEOF), have \(received.count) bytes)")
            }
        }
    }

    /// True when the server closed the connection: EOF within the timeout and no further bytes.
    func isClosedByPeer(timeoutSeconds: Int = 5) -> Bool {
        setTimeout(seconds: timeoutSeconds)
        let before = received.count
        return readUntilClosed() && received.count == before
    }

    /// True when the connection stays open and silent for a short while.
    func staysOpen() -> Bool {
        setTimeout(seconds: 0, microseconds: 300_000)
        let stillOpen = !readSome() && !sawEOF
        setTimeout(seconds: 5)
        return stillOpen
    }
}

/// A response as read off the wire.
struct ParsedResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    var text: String { String(decoding: body, as: UTF8.self) }

    static func parse(_ bytes: [UInt8], isHead: Bool) -> (ParsedResponse, Int)? {
        let crlf2: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == crlf2 })
        else {
            return nil
        }
        let headText = String(decoding: bytes[0..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers = lines.map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]).trimmingCharacters(in: .whitespaces) : "")
        }
        var response = ParsedResponse(status: status, headers: headers, body: [])
        let length = isHead || status / 100 == 1 ? 0 : Int(response.header("Content-Length") ?? "0") ?? 0
        let start = end + 4
        guard bytes.count >= start + length else { return nil }
        response.body = Array(bytes[start..<start + length])
        return (response, start + length)
    }
}
