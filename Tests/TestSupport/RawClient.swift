import Foundation
import Glibc

/// Runs blocking client code on its own thread, so test sockets never stall the cooperative pool the server's
/// handlers run on.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.start()
    }
}

public struct ClientError: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// A blocking TCP client with a receive timeout, for raw HTTP exchanges.
public final class RawClient: @unchecked Sendable {
    public let fd: Int32
    public private(set) var received: [UInt8] = []
    public private(set) var sawEOF = false

    /// Connects to 127.0.0.1:`port` from `source` (any 127.0.0.0/8 address is local on Linux, so tests can play
    /// several peers); throws when refused.
    public init(port: Int, source: String? = nil, timeoutSeconds: Int = 5) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let failure = connectLoopback(fd, port: port, from: source)
        if failure != 0 {
            // No close here: a class whose stored properties are all set runs `deinit` when `init` throws.
            throw ClientError(description: "connect failed: errno \(failure)")
        }
        setTimeout(seconds: timeoutSeconds)
    }

    deinit { close(fd) }

    public func setTimeout(seconds: Int, microseconds: Int = 0) {
        var tv = timeval(tv_sec: seconds, tv_usec: microseconds)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
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
    public func readSome() -> Bool {
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
    public func readUntilClosed() -> Bool {
        while !sawEOF { if !readSome() { break } }
        return sawEOF
    }

    /// Reads and removes one complete response (Content-Length framed; `head` for HEAD responses).
    public func readResponse(head: Bool = false) throws -> ParsedResponse {
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
    public func isClosedByPeer(timeoutSeconds: Int = 5) -> Bool {
        setTimeout(seconds: timeoutSeconds)
        let before = received.count
        return readUntilClosed() && received.count == before
    }

    /// True when the connection stays open and silent for a short while (150 ms: the server closes right after
    /// the response it ends a connection with).
    public func staysOpen() -> Bool {
        setTimeout(seconds: 0, microseconds: 150_000)
        let stillOpen = !readSome() && !sawEOF
        setTimeout(seconds: 5)
        return stillOpen
    }
}

/// A response as read off the wire.
public struct ParsedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    public var text: String { String(decoding: body, as: UTF8.self) }

    public static func parse(_ bytes: [UInt8], isHead: Bool) -> (ParsedResponse, Int)? {
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
