import HTTPServerKit

/// A parsed Cavage `Signature` header (draft-cavage-http-signatures-10 §2.1; docs/protocol.md §3.1).
struct CavageSignature: Sendable {
    var keyId: String
    var algorithm: String?
    /// Lowercase names in signing order; `["date"]` when the parameter is absent.
    var headers: [String]
    var signature: [UInt8]

    /// Parses `keyId="…",algorithm="…",headers="…",signature="…"`.
    /// - Throws: a reason string when a parameter is missing or malformed.
    static func parse(_ value: String) throws(SignatureFailure) -> CavageSignature {
        var params: [String: String] = [:]
        var rest = Substring(value)
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," || $0 == "\t" }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let name = rest[..<eq].trimmingSpaces
            rest = rest[rest.index(after: eq)...]
            guard rest.first == "\"" else { throw .malformed("signature parameter \(name) is not a quoted string") }
            rest = rest.dropFirst()
            guard let close = rest.firstIndex(of: "\"") else {
                throw .malformed("unterminated signature parameter \(name)")
            }
            params[name] = String(rest[..<close])  // last occurrence wins
            rest = rest[rest.index(after: close)...]
        }
        guard let keyId = params["keyId"], !keyId.isEmpty else { throw .malformed("signature has no keyId") }
        guard let sig = params["signature"], !sig.isEmpty else {
            throw .malformed("signature has no signature parameter")
        }
        guard let bytes = Base64Text.decode(sig) else { throw .malformed("signature parameter is not base64") }
        let headers = params["headers"].map { $0.split(separator: " ").map { $0.lowercased() } } ?? ["date"]
        return CavageSignature(keyId: keyId, algorithm: params["algorithm"], headers: headers, signature: bytes)
    }
}

/// Why a signed request was refused; `reason` is logged, `status` and `code` are answered.
struct SignatureFailure: Error, Sendable {
    var status: Int
    var code: String
    var reason: String

    static func malformed(_ reason: String) -> SignatureFailure {
        SignatureFailure(status: 400, code: "FORMAT", reason: reason)
    }
    static func invalid(_ reason: String) -> SignatureFailure {
        SignatureFailure(status: 403, code: "SIGNATURE", reason: reason)
    }
}

/// The headers a bank wants signed.
struct SignaturePolicy: Sendable {
    /// Must be listed (and present).
    var required: [String]
    /// Also required when the request has a body.
    var requiredWithBody: [String]
    /// Every `PSU-*` header present must be listed.
    var psuHeadersMustBeSigned: Bool
    /// `authorization` must not be listed.
    var authorizationMustNotBeSigned: Bool
    /// `Date` must be present (and is then checked against the skew).
    var dateRequired: Bool
    /// Headers that must be present but need not be signed.
    var requiredPresent: [String] = []

    /// Euro-Information, seed cmcic-becm-request-signing (docs/protocol.md §4.4).
    static let euroInformation = SignaturePolicy(
        required: ["(request-target)", "host", "date", "x-request-id"], requiredWithBody: ["content-type", "digest"],
        psuHeadersMustBeSigned: true, authorizationMustNotBeSigned: true, dateRequired: true,
        requiredPresent: ["accept", "user-agent"])
    /// BPCE, docs/protocol.md §5.5: what every observed client signs.
    static let bpce = SignaturePolicy(
        required: ["(request-target)", "x-request-id"], requiredWithBody: ["digest"], psuHeadersMustBeSigned: false,
        authorizationMustNotBeSigned: false, dateRequired: false)
}

/// The twelve STET `PSU-*` headers (docs/protocol.md §2.2).
let psuHeaderNames = [
    "psu-ip-address", "psu-ip-port", "psu-http-method", "psu-date", "psu-user-agent", "psu-referer", "psu-accept",
    "psu-accept-charset", "psu-accept-encoding", "psu-accept-language", "psu-geo-location", "psu-device-id",
]

enum RequestSignatureCheck {
    /// Checks headers, date, digest and the parsed signature's shape, in the order of docs/protocol.md §3.5,
    /// leaving the final RSA verification (which needs the resolved key) to `verify`.
    static func checkShape(
        _ request: HTTPRequest, policy: SignaturePolicy, now: Int64, skew: Int64, crypto: any SimulatorCrypto
    ) throws(SignatureFailure) -> CavageSignature {
        guard let xRequestID = request.headers["X-Request-ID"], !xRequestID.trimmingSpaces.isEmpty else {
            throw .malformed("x-request-id header missing")
        }
        for name in policy.requiredPresent where request.headers[name] == nil {
            throw .malformed("\(name) header missing")
        }
        let hasBody = !request.body.isEmpty
        if hasBody && request.headers["Digest"] == nil {
            throw .malformed("digest header missing for a request with a body")
        }
        if hasBody && request.headers["Content-Type"] == nil { throw .malformed("content-type header missing") }
        guard let header = request.headers["Signature"] else { throw .invalid("signature header missing") }
        let sig = try CavageSignature.parse(header)
        if let alg = sig.algorithm, alg != "rsa-sha256" {
            throw .invalid("signature algorithm \(alg) not supported (only rsa-sha256)")
        }
        if sig.headers.contains("(created)") || sig.headers.contains("(expires)") {
            throw .invalid("draft-11 pseudo-headers (created)/(expires) are not supported")
        }
        for name in policy.required + (hasBody ? policy.requiredWithBody : []) where !sig.headers.contains(name) {
            throw .invalid("\(name) not signed")
        }
        if policy.authorizationMustNotBeSigned && sig.headers.contains("authorization") {
            throw .invalid("authorization must not be signed")
        }
        if policy.psuHeadersMustBeSigned {
            for name in psuHeaderNames where request.headers.contains(name) && !sig.headers.contains(name) {
                throw .invalid("\(name) present but not signed")
            }
        }
        for name in sig.headers where name != "(request-target)" && !request.headers.contains(name) {
            throw .malformed("\(name) is signed but absent from the request")
        }
        if let date = request.headers["Date"] {
            guard let t = ParisCalendar.parseHTTPDate(date) else {
                throw .malformed("date header is not an IMF-fixdate")
            }
            if abs(t - now) > skew {
                throw .invalid("date outside the allowed skew of \(skew) s (off by \(t - now) s)")
            }
        } else if policy.dateRequired {
            throw .malformed("date header missing")
        }
        if let digest = request.headers["Digest"] {
            let expected = "SHA-256=" + Base64Text.encode(crypto.sha256(request.body))
            let offered = digest.split(separator: ",").map { $0.trimmingSpaces }
            guard let sha = offered.first(where: { $0.lowercased().hasPrefix("sha-256=") }) else {
                throw .malformed("digest does not use SHA-256")
            }
            guard "SHA-256=" + sha.dropFirst(8) == expected else { throw .invalid("digest mismatch") }
        }
        return sig
    }

    /// The draft-10 signing string (docs/protocol.md §3.2).
    static func signingString(_ request: HTTPRequest, headers: [String]) -> String {
        headers.map { name in
            if name == "(request-target)" {
                return "(request-target): \(request.method.rawValue.lowercased()) \(request.target)"
            }
            return "\(name): " + request.headers.values(for: name).map { $0.trimmingSpaces }.joined(separator: ", ")
        }.joined(separator: "\n")
    }

    /// Verifies the signature with the resolved QSealC.
    static func verify(
        _ request: HTTPRequest, _ sig: CavageSignature, key: RegisteredKey, now: Int64, crypto: any SimulatorCrypto
    ) throws(SignatureFailure) {
        if key.info.notAfter < now { throw .invalid("the QSealC of keyId \(sig.keyId) has expired") }
        let message = Array(signingString(request, headers: sig.headers).utf8)
        guard crypto.verifyRSASHA256(message: message, signature: sig.signature, certificateDER: key.certificateDER)
        else {
            throw .invalid("signature does not verify with the QSealC of keyId \(sig.keyId)")
        }
    }
}

extension BankSimulator {
    /// A signed STET call at either family, in the order of docs/protocol.md §3.5: a client certificate (mTLS with the
    /// QWAC), the signature's shape under `policy`, the client and key the family's `resolve` finds for the `keyId`,
    /// the RSA verification with that key, and the QWAC registered for that client.
    func authenticateSignedCall(
        _ call: Call, policy: SignaturePolicy,
        resolve: (CavageSignature) throws(SimulatorRejection) -> (SimulatedClient, RegisteredKey)
    ) throws(SimulatorRejection) -> (SimulatedClient, RegisteredKey) {
        guard let qwac = call.request.peerCertificateDER else {
            throw call.stet(403, "Forbidden", "no client certificate (mTLS with the QWAC is required)")
        }
        let sig: CavageSignature
        do {
            sig = try RequestSignatureCheck.checkShape(
                call.request, policy: policy, now: call.now, skew: configuration.dateSkew, crypto: crypto)
        } catch {
            throw call.stet(error.status, error.status == 400 ? "Bad Request" : "Invalid signature", error.reason)
        }
        let (client, key) = try resolve(sig)
        do {
            try RequestSignatureCheck.verify(call.request, sig, key: key, now: call.now, crypto: crypto)
        } catch {
            throw call.stet(error.status, "Invalid signature", error.reason)
        }
        let fp = (try? crypto.certificateInfo(der: qwac))?.sha256Base64URL ?? ""
        guard client.qwacFingerprints.contains(fp) else {
            throw call.stet(
                403, "Forbidden", "client certificate is not a QWAC registered for client \(client.clientID)")
        }
        return (client, key)
    }
}
