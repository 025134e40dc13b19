import GatewayLogging

/// The parameters of a Cavage draft-10 `Signature` header (docs/protocol.md §3.1):
/// `keyId="…",algorithm="rsa-sha256",headers="(request-target) host date",signature="base64"`.
public struct HTTPSignature: Sendable, Equatable {
    /// The only algorithm the banks accept: RSASSA-PKCS1-v1_5 with SHA-256.
    public static let rsaSHA256 = "rsa-sha256"

    /// Opaque key identifier; its meaning is bank-specific (kid, x5u URL, client_id).
    public var keyId: String
    /// `algorithm` as sent (nil when absent; draft 10 makes it optional).
    public var algorithm: String?
    /// Lower-cased header names in signing order; `["date"]` when the parameter is absent (draft 10 §2.1.3).
    public var headers: [String]
    /// The raw signature bytes.
    public var signature: [UInt8]

    /// Creates a signature value (the signer uses this).
    public init(keyId: String, algorithm: String? = HTTPSignature.rsaSHA256, headers: [String], signature: [UInt8]) {
        self.keyId = keyId
        self.algorithm = algorithm
        self.headers = headers
        self.signature = signature
    }

    /// Parses a `Signature` header value, or an `Authorization: Signature …` value.
    ///
    /// Tolerant where the draft allows it: optional whitespace around commas and `=`, parameter names in any
    /// case, duplicated parameters (the last wins), unknown parameters ignored, backslash escapes in quoted
    /// strings. Strict where the banks are: `algorithm` other than `rsa-sha256` (e.g. `hs2019`) and the draft-11
    /// pseudo-headers `(created)`/`(expires)` are rejected.
    /// - Throws: `HTTPSignatureError` naming the problem.
    public init(parsing value: String) throws(HTTPSignatureError) {
        var text = Substring(value).drop { $0 == " " || $0 == "\t" }
        if text.lowercased().hasPrefix("signature ") { text = text.dropFirst("signature ".count) }
        let parameters = try Self.parameters(text)
        guard let keyId = parameters["keyid"] else { throw .missingParameter("keyId") }
        guard let encoded = parameters["signature"] else { throw .missingParameter("signature") }
        guard let bytes = Base64.decode(encoded), !bytes.isEmpty else { throw .invalidSignatureEncoding }
        if let algorithm = parameters["algorithm"], algorithm.lowercased() != Self.rsaSHA256 {
            throw .unsupportedAlgorithm(algorithm)
        }
        let names: [String]
        if let list = parameters["headers"] {
            names = list.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
            guard !names.isEmpty else { throw .emptyHeaderList }
        } else {
            names = ["date"]
        }
        if let pseudo = names.first(where: { $0.hasPrefix("(") && $0 != "(request-target)" }) {
            throw .unsupportedPseudoHeader(pseudo)
        }
        self.init(keyId: keyId, algorithm: parameters["algorithm"], headers: names, signature: bytes)
    }

    /// The header value in the order the banks' examples use:
    /// `keyId="…",algorithm="rsa-sha256",headers="…",signature="…"`.
    public var headerValue: String {
        // One buffer, not one string per parameter: this is built on every outbound call.
        var out: [UInt8] = []
        out.reserveCapacity(64 + keyId.utf8.count + headers.reduce(0) { $0 + $1.utf8.count + 1 } + signature.count * 4 / 3)
        out.append(contentsOf: "keyId=\"".utf8)
        out.append(contentsOf: Self.quoted(keyId).utf8)
        if let algorithm {
            out.append(contentsOf: "\",algorithm=\"".utf8)
            out.append(contentsOf: Self.quoted(algorithm).utf8)
        }
        out.append(contentsOf: "\",headers=\"".utf8)
        for (position, name) in headers.enumerated() {
            if position > 0 { out.append(0x20) }
            out.append(contentsOf: name.utf8)
        }
        out.append(contentsOf: "\",signature=\"".utf8)
        Base64.append(signature, to: &out)
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    private static func quoted(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }) else { return s }
        return s.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
    }

    /// Splits `name="value", name=token, …` (RFC 7235 §2.1 auth-params) into lower-cased names → values.
    private static func parameters(_ text: Substring) throws(HTTPSignatureError) -> [String: String] {
        var result: [String: String] = [:]
        var chars = Array(text)
        var i = 0
        func skipSpaces() { while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 } }
        while true {
            skipSpaces()
            while i < chars.count, chars[i] == "," {
                i += 1
                skipSpaces()
            }
            if i >= chars.count { break }
            let nameStart = i
            while i < chars.count, chars[i] != "=", chars[i] != ",", chars[i] != " " { i += 1 }
            let name = String(chars[nameStart..<i]).lowercased()
            guard !name.isEmpty else { throw .malformedHeader("empty parameter name") }
            skipSpaces()
            guard i < chars.count, chars[i] == "=" else { throw .malformedHeader("parameter \(name) has no value") }
            i += 1
            skipSpaces()
            var value = ""
            if i < chars.count, chars[i] == "\"" {
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count {
                        value.append(chars[i + 1])
                        i += 2
                    } else if chars[i] == "\"" {
                        closed = true
                        i += 1
                        break
                    } else {
                        value.append(chars[i])
                        i += 1
                    }
                }
                guard closed else { throw .malformedHeader("unterminated quoted value for \(name)") }
            } else {
                let start = i
                while i < chars.count, chars[i] != ",", chars[i] != " ", chars[i] != "\t" { i += 1 }
                value = String(chars[start..<i])
            }
            result[name] = value  // RFC 7235 leaves duplicates undefined; docs/protocol.md §3.1: the last wins
            skipSpaces()
            guard i >= chars.count || chars[i] == "," else { throw .malformedHeader("expected a comma after \(name)") }
        }
        chars.removeAll()
        return result
    }
}
