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
        var head = "HTTP/1.1 \(status) \(HTTPStatus.reasonPhrase(status))\r\n"
        for (name, value) in response.headers {
            if name.caseInsensitiveEquals("content-length") || name.caseInsensitiveEquals("connection")
                || name.caseInsensitiveEquals("date") || name.caseInsensitiveEquals("transfer-encoding")
            {
                continue
            }
            // Response splitting: a handler must never be able to inject a header line.
            if !isSafe(name) || !isSafe(value) { continue }
            head += name
            head += ": "
            head += value
            head += "\r\n"
        }
        head += "Date: "
        head += HTTPDate.now()
        head += "\r\n"
        if !bodyless {
            head += "Content-Length: \(response.body.count)\r\n"
        }
        if !keepAlive {
            head += "Connection: close\r\n"
        } else if minorVersion == 0 {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var out = Array(head.utf8)
        if !isHead && !bodyless { out += response.body }
        return out
    }

    private static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }
}

/// The IMF-fixdate for the `Date` header (RFC 9110 §5.6.7), computed at most once per second.
enum HTTPDate {
    private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        let second = time(nil)
        return cache.withLock { c in
            if c.second == second { return c.text }
            var t = second
            var tm = tm()
            gmtime_r(&t, &tm)
            var buf = [CChar](repeating: 0, count: 40)
            strftime(&buf, buf.count, "%a, %d %b %Y %H:%M:%S GMT", &tm)
            c = (second, String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            return c.text
        }
    }
}
