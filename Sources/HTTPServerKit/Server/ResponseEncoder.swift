import GatewayLogging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Serializes a response into one buffer, so it leaves in a single write (RFC 9112 §4 status line, §6 framing).
enum ResponseEncoder {
    /// - Parameters:
    ///   - isHead: HEAD: same headers (Content-Length of the full body), no body (RFC 9110 §9.3.2).
    ///   - keepAlive: false adds `Connection: close`.
    ///   - minorVersion: 0 answers `HTTP/1.1` too but adds `Connection: keep-alive` when keeping it.
    static func encode(_ response: HTTPResponse, isHead: Bool, keepAlive: Bool, minorVersion: Int) -> [UInt8] {
        let status = response.status
        let bodyless = (status >= 100 && status < 200) || status == 204 || status == 304
        // Written straight into the one output buffer (a string grown line by line reallocated several times).
        var out: [UInt8] = []
        out.reserveCapacity(
            160 + response.headers.fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
                + (isHead || bodyless ? 0 : response.body.count))
        func line(_ name: String, _ value: String) {
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "HTTP/1.1 ".utf8)
        out.append(contentsOf: String(status).utf8)  // a small string: no allocation
        out.append(0x20)
        out.append(contentsOf: HTTPStatus.reasonPhrase(status).utf8)
        out.append(contentsOf: "\r\n".utf8)
        for (name, value) in response.headers {
            if ASCII.equalsIgnoringCase(name, "content-length") || ASCII.equalsIgnoringCase(name, "connection")
                || ASCII.equalsIgnoringCase(name, "date") || ASCII.equalsIgnoringCase(name, "transfer-encoding")
            {
                continue
            }
            // Response splitting: a handler must never be able to inject a header line.
            if !isSafe(name) || !isSafe(value) { continue }
            line(name, value)
        }
        line("Date", HTTPDate.now())
        if !bodyless {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(response.body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !keepAlive {
            line("Connection", "close")
        } else if minorVersion == 0 {
            line("Connection", "keep-alive")
        }
        out.append(contentsOf: "\r\n".utf8)
        if !isHead && !bodyless { out.append(contentsOf: response.body) }
        return out
    }

    private static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }
}
