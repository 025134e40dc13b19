import BlockingIO
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A response as a test sees it.
public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The body parsed as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
    }
}

/// A minimal HTTP/1.1 client over a plain loopback socket (one connection per request, `Connection: close`),
/// for end-to-end tests of the API. Blocking socket calls run on dedicated threads, never on the cooperative pool
/// the server under test answers on.
public struct TestHTTPClient: Sendable {
    static let executor = BlockingExecutor(name: "test-http-client", threads: 16)
    public let port: Int

    public init(port: Int) { self.port = port }

    /// Sends one request and reads the whole response.
    public func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> TestResponse {
        let port = self.port
        return try await Self.executor.run { try Self.exchange(port: port, method: method, target: target, headers: headers, body: body) }
    }

    /// Sends a JSON body (an encodable value or a dictionary through JSONSerialization).
    public func sendJSON(
        _ method: String, _ target: String, _ object: Any, headers: [(String, String)] = []
    ) async throws -> TestResponse {
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await send(method, target, headers: headers + [("Content-Type", "application/json")], body: Array(data))
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func exchange(port: Int, method: String, target: String, headers: [(String, String)], body: [UInt8]) throws
        -> TestResponse
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket failed") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let failure = connectLoopback(fd, port: port)
        guard failure == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port) failed (errno \(failure))") }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (n, v) in headers { head += "\(n): \(v)\r\n" }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let out = Array(head.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send failed (errno \(errno))") }
            sent += n
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else { throw Failure(description: "recv failed (errno \(errno)) after \(received.count) bytes") }
            received += buffer[0..<n]
        }
        return try parse(received, isHead: method == "HEAD")
    }

    static func parse(_ bytes: [UInt8], isHead: Bool) throws -> TestResponse {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.first(where: { i in i + 4 <= bytes.count && Array(bytes[i..<i + 4]) == separator }) else {
            throw Failure(description: "no complete response head (\(bytes.count) bytes)")
        }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(bytes[(end + 4)...])
        if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({ Int($0.value) }), !isHead {
            body = Array(body.prefix(length))
        }
        return TestResponse(status: status, headers: headers, body: body)
    }
}
