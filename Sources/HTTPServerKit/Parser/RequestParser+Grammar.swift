import GatewayLogging

// The RFC 9110/9112 grammar pieces the parser needs: request line, field lines, framing headers, chunk sizes.

extension RequestParser {
    /// Methods the server knows; any other token is answered 501 (RFC 9110 §9.1). QUERY (the safe method with a
    /// body, IETF httpbis) is known, so a route that does not declare it answers 405 with `Allow`.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"]

    /// tchar (RFC 9110 §5.6.2).
    @inline(__always)
    static func isTokenChar(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// `method SP request-target SP HTTP-version` (RFC 9112 §3), single spaces only.
    func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> PartialHead {
        // method SP request-target SP HTTP-version, cut in place (no array of parts: this runs for every request).
        guard let firstSpace = line.firstIndex(of: 0x20),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: 0x20)
        else { throw HTTPParseError(.invalidRequestLine) }
        let methodBytes = line[..<firstSpace]
        let targetBytes = line[(firstSpace + 1)..<secondSpace]
        let version = line[(secondSpace + 1)...]
        guard !methodBytes.isEmpty, !targetBytes.isEmpty,
            methodBytes.allSatisfy(Self.isTokenChar),
            targetBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw HTTPParseError(.invalidRequestLine) }
        guard version.count == 8, version.starts(with: "HTTP/".utf8),
            let major = Self.digit(version[version.startIndex + 5]),
            version[version.startIndex + 6] == UInt8(ascii: "."),
            let minor = Self.digit(version[version.startIndex + 7])
        else { throw HTTPParseError(.invalidRequestLine) }
        guard major == 1, minor <= 1 else { throw HTTPParseError(.unsupportedVersion) }
        let method = String(decoding: methodBytes, as: UTF8.self)
        guard Self.knownMethods.contains(method) else { throw HTTPParseError(.methodNotImplemented) }
        let target = String(decoding: targetBytes, as: UTF8.self)
        if target.utf8.first != UInt8(ascii: "/") {
            if target == "*" && method == "OPTIONS" {
                // asterisk-form (RFC 9112 §3.2.4)
            } else if target.utf8.contains(UInt8(ascii: ":")) && !target.hasPrefix("*") {
                throw HTTPParseError(.absoluteFormUnsupported)
            } else {
                throw HTTPParseError(.invalidRequestLine)
            }
        }
        var head = PartialHead(method: HTTPMethod(rawValue: method), target: target, minorVersion: minor)
        head.headers.reserveCapacity(16)
        return head
    }

    /// `field-name ":" OWS field-value OWS` (RFC 9112 §5): no whitespace before the colon, no obs-fold,
    /// no CTL in the value (HTAB allowed), obs-text kept.
    static func parseField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
        guard let first = line.first else { throw HTTPParseError(.invalidHeaderField) }
        if first == 0x20 || first == 0x09 { throw HTTPParseError(.obsoleteLineFolding) }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
            throw HTTPParseError(.invalidHeaderField)
        }
        let name = line[line.startIndex..<colon]
        guard name.allSatisfy(isTokenChar) else { throw HTTPParseError(.invalidHeaderField) }
        var start = colon + 1
        var end = line.endIndex
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        let value = line[start..<end]
        for b in value where (b < 0x20 && b != 0x09) || b == 0x7F {
            throw HTTPParseError(.invalidHeaderField)
        }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    func addField(_ line: ArraySlice<UInt8>, to head: inout PartialHead) throws(HTTPParseError) {
        let (name, value) = try Self.parseField(line)
        head.headers.add(name, value)
        switch name.utf8.count {
        case 4 where ASCII.equalsIgnoringCase(name, "host"):
            head.hostCount += 1
        case 6 where ASCII.equalsIgnoringCase(name, "expect"):
            head.expect = value
        case 10 where ASCII.equalsIgnoringCase(name, "connection"):
            head.connectionTokens += Self.tokens(value)
        case 14 where ASCII.equalsIgnoringCase(name, "content-length"):
            head.contentLengths.append(Substring(value))
        case 17 where ASCII.equalsIgnoringCase(name, "transfer-encoding"):
            let codings = Self.tokens(value)
            if codings.isEmpty { throw HTTPParseError(.invalidTransferEncoding) }
            head.transferEncodings += codings
        default:
            break
        }
    }

    /// Applies the framing and connection rules of RFC 9112 §6 and §9 to a complete header section.
    func finishHead(_ p: PartialHead) throws(HTTPParseError) -> RequestHead {
        if p.minorVersion == 1 && p.hostCount == 0 { throw HTTPParseError(.missingHost) }
        if p.hostCount > 1 { throw HTTPParseError(.multipleHosts) }
        var framing = RequestHead.Framing.none
        if !p.transferEncodings.isEmpty {
            // RFC 9112 §6.1: both present is a smuggling attempt; HTTP/1.0 has no transfer codings.
            if !p.contentLengths.isEmpty { throw HTTPParseError(.contentLengthWithTransferEncoding) }
            if p.minorVersion == 0 { throw HTTPParseError(.invalidTransferEncoding) }
            if p.transferEncodings.contains(where: { !ASCII.equalsIgnoringCase($0, "chunked") }) {
                throw HTTPParseError(.unsupportedTransferEncoding)
            }
            if p.transferEncodings.count != 1 { throw HTTPParseError(.invalidTransferEncoding) }
            framing = .chunked
        } else if !p.contentLengths.isEmpty {
            if p.contentLengths.count > 1 { throw HTTPParseError(.multipleContentLengths) }
            let text = p.contentLengths[0]
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw HTTPParseError(.invalidContentLength)
            }
            guard text.utf8.count <= 18, let n = Int(text) else { throw HTTPParseError(.invalidContentLength) }
            if n > limits.maxBodyBytes { throw HTTPParseError(.bodyTooLarge) }
            if n > 0 { framing = .length(n) }
        }
        var expectsContinue = false
        if let expect = p.expect {
            guard ASCII.equalsIgnoringCase(expect, "100-continue") else {
                throw HTTPParseError(.unsupportedExpectation)
            }
            expectsContinue = p.minorVersion == 1
        }
        let close = p.connectionTokens.contains { ASCII.equalsIgnoringCase($0, "close") }
        let keepAlive =
            p.minorVersion == 1
            ? !close : (!close && p.connectionTokens.contains { ASCII.equalsIgnoringCase($0, "keep-alive") })
        return RequestHead(
            method: p.method, target: p.target, minorVersion: p.minorVersion, headers: p.headers, framing: framing,
            keepAlive: keepAlive, expectsContinue: expectsContinue)
    }

    /// `chunk-size [ chunk-ext ]` (RFC 9112 §7.1): 1*HEXDIG, then extensions that are ignored but must not hold
    /// CTLs. More than 15 hex digits overflows.
    func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var size = 0
        var digits = 0
        var i = line.startIndex
        while i < line.endIndex, let v = Self.hexDigit(line[i]) {
            digits += 1
            if digits > 15 { throw HTTPParseError(.chunkSizeOverflow) }
            size = size << 4 | v
            i += 1
        }
        if digits == 0 { throw HTTPParseError(.invalidChunk) }
        var rest = line[i...]
        while let f = rest.first, f == 0x20 || f == 0x09 { rest = rest.dropFirst() }
        if let f = rest.first {
            guard f == UInt8(ascii: ";") else { throw HTTPParseError(.invalidChunk) }
            for b in rest where (b < 0x20 && b != 0x09) || b == 0x7F { throw HTTPParseError(.invalidChunk) }
        }
        return size
    }

    static func tokens(_ value: String) -> [String] {
        value.split(separator: ",").compactMap {
            let t = $0.trimmedOWS()
            return t.isEmpty ? nil : t
        }
    }

    static func digit(_ b: UInt8) -> Int? { b >= 0x30 && b <= 0x39 ? Int(b - 0x30) : nil }

    static func hexDigit(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: Int(b - 0x30)
        case 0x61...0x66: Int(b - 0x61 + 10)
        case 0x41...0x46: Int(b - 0x41 + 10)
        default: nil
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (OWS).
    func trimmedOWS() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
