import Foundation
import Testing

@testable import OpenSSLKit

/// The known-answer request: a body, a multi-valued PSU header, and an Authorization header that is not signed.
struct SignedRequest {
    var method = "POST"
    var target = "/cic/stet-psd2-api/v2.0/payment-requests?lang=fr&x=%2F"
    var headers: [(String, String)]
    var body: [UInt8]
    var names = [
        "(request-target)", "host", "date", "x-request-id", "digest", "content-type", "psu-ip-address",
        "psu-accept-language",
    ]

    static func known() throws -> SignedRequest {
        let body = try Fixtures.bytes("kat-body.json")
        return SignedRequest(
            headers: [
                ("Host", "oauth2-apiii.e-i.com"),
                ("Date", "Tue, 07 Jun 2022 20:51:35 GMT"),
                ("X-Request-ID", "1d5e4c1a-8f0f-4b52-9c3e-6b0a2f4f7a11"),
                ("Content-Type", "application/json"),
                ("Digest", Digest.headerValue(for: body)),
                ("PSU-Accept-Language", "fr-FR"),
                ("Authorization", "Bearer not-signed"),
                ("PSU-IP-Address", " 192.0.2.10 "),
                ("psu-accept-language", "en;q=0.5"),
            ],
            body: body)
    }
}

@Suite struct SignatureKnownAnswerTests {
    @Test func signingStringMatchesTheFixture() throws {
        let r = try SignedRequest.known()
        let built = try SigningString.build(method: r.method, target: r.target, headers: r.headers, names: r.names)
        #expect(built == (try Fixtures.text("kat-signing-string.txt")))
        #expect(built.contains("psu-accept-language: fr-FR, en;q=0.5"))
        #expect(!built.hasSuffix("\n"))
    }

    @Test func signatureEqualsOpenSSLDgstSign() throws {
        let r = try SignedRequest.known()
        let signer = HTTPMessageSigner(key: try PrivateKey(pem: try Fixtures.text("kat-rsa2048.key")), keyId: "kid-1")
        let header = try signer.signatureHeader(method: r.method, target: r.target, headers: r.headers, names: r.names)
        let expected = try Fixtures.text("kat-signature.b64").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(
            header
                == "keyId=\"kid-1\",algorithm=\"rsa-sha256\",headers=\"\(r.names.joined(separator: " "))\",signature=\"\(expected)\""
        )
    }

    @Test func signingStringFollowsDraftRules() throws {
        let s = try SigningString.build(
            method: "GET", target: "/Path/A%2fB?Q=1",
            headers: [
                ("X-Example", "Example header\r\n    with some whitespace."), ("Cache-Control", "max-age=60"),
                ("cache-control", "must-revalidate"),
            ],
            names: ["(request-target)", "X-Example", "cache-control"])
        #expect(
            s
                == "(request-target): get /Path/A%2fB?Q=1\nx-example: Example header with some whitespace.\ncache-control: max-age=60, must-revalidate"
        )
        #expect(throws: HTTPSignatureError.headerListedButAbsent("date")) {
            try SigningString.build(method: "GET", target: "/", headers: [], names: ["date"])
        }
        #expect(throws: HTTPSignatureError.unsupportedPseudoHeader("(created)")) {
            try SigningString.build(method: "GET", target: "/", headers: [], names: ["(created)"])
        }
        #expect(throws: HTTPSignatureError.emptyHeaderList) {
            try SigningString.build(method: "GET", target: "/", headers: [], names: [])
        }
    }
}

@Suite struct SignatureVerificationTests {
    let key: PrivateKey
    let request: SignedRequest
    let header: String

    init() throws {
        key = try PrivateKey(pem: try Fixtures.text("kat-rsa2048.key"))
        request = try SignedRequest.known()
        header = try HTTPMessageSigner(key: key, keyId: "kid-1").signatureHeader(
            method: request.method, target: request.target, headers: request.headers, names: request.names)
    }

    func verify(
        _ r: SignedRequest, header: String? = nil, key: PublicKey? = nil,
        verifier: HTTPSignatureVerifier = .euroInformation
    ) throws {
        try verifier.verify(
            signatureHeader: header ?? self.header, method: r.method, target: r.target,
            headers: r.headers, body: r.body, publicKey: key ?? self.key.publicKey)
    }

    @Test func signThenVerifySucceeds() throws {
        try verify(request)
        let parsed = try HTTPSignatureVerifier().verify(
            signatureHeader: header, method: "post", target: request.target, headers: request.headers,
            body: request.body, publicKey: key.publicKey)
        #expect(parsed.keyId == "kid-1")
    }

    @Test func changingOneByteOfAnySignedHeaderFails() throws {
        for index in request.headers.indices where request.headers[index].0.lowercased() != "authorization" {
            var r = request
            var value = Array(r.headers[index].1.utf8)
            value[value.count / 2] ^= 0x01
            r.headers[index].1 = String(decoding: value, as: UTF8.self)
            #expect(throws: HTTPSignatureError.self, "header \(r.headers[index].0)") { try verify(r) }
        }
        var unsignedChange = request
        unsignedChange.headers[6].1 = "Bearer another-token"  // Authorization is not signed
        try verify(unsignedChange)
    }

    @Test func changingTheBodyMethodQueryOrOrderFails() throws {
        var body = request
        body.body[body.body.count - 2] ^= 0x01
        #expect(throws: HTTPSignatureError.digestMismatch) { try verify(body) }

        var method = request
        method.method = "PUT"
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(method) }

        var query = request
        query.target = "/cic/stet-psd2-api/v2.0/payment-requests?lang=fR&x=%2F"
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(query) }

        var encoding = request
        encoding.target = "/cic/stet-psd2-api/v2.0/payment-requests?lang=fr&x=%2f"
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(encoding) }

        // Same headers, other order in the list: the signing string changes.
        let reordered = header.replacingOccurrences(
            of: "headers=\"(request-target) host date", with: "headers=\"(request-target) date host")
        #expect(reordered != header)
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(request, header: reordered) }

        // Multi-valued header instances swapped.
        var swapped = request
        swapped.headers[5].1 = "en;q=0.5"
        swapped.headers[8].1 = "fr-FR"
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(swapped) }
    }

    @Test func wrongKeyFails() throws {
        let other = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        #expect(throws: HTTPSignatureError.signatureDoesNotVerify) { try verify(request, key: other.publicKey) }
        let ec = try Certificate(pem: try Fixtures.pki("ec.crt"))
        #expect(throws: HTTPSignatureError.keyNotRSA) { try verify(request, key: ec.publicKey) }
    }

    @Test func reportsPreciseFailureReasons() throws {
        var missing = request
        missing.headers.removeAll { $0.0 == "PSU-IP-Address" }
        #expect(throws: HTTPSignatureError.headerListedButAbsent("psu-ip-address")) {
            try verify(missing, verifier: HTTPSignatureVerifier())
        }
        #expect(
            HTTPSignatureError.headerListedButAbsent("psu-ip-address").description
                == "header listed but absent: psu-ip-address")

        var noDigest = request
        noDigest.headers.removeAll { $0.0 == "Digest" }
        #expect(throws: HTTPSignatureError.digestMissing) { try verify(noDigest) }

        var extraPSU = request
        extraPSU.headers.append(("PSU-Device-ID", "device"))
        #expect(throws: HTTPSignatureError.requiredHeaderNotSigned("psu-device-id")) { try verify(extraPSU) }

        let signer = HTTPMessageSigner(key: key, keyId: "kid-1")
        let withAuth = try signer.signatureHeader(
            method: request.method, target: request.target, headers: request.headers,
            names: request.names + ["authorization"])
        #expect(throws: HTTPSignatureError.forbiddenHeaderSigned("authorization")) {
            try verify(request, header: withAuth)
        }

        let noHost = try signer.signatureHeader(
            method: request.method, target: request.target, headers: request.headers,
            names: request.names.filter { $0 != "host" })
        #expect(throws: HTTPSignatureError.requiredHeaderNotSigned("host")) { try verify(request, header: noHost) }

        let hs2019 = header.replacingOccurrences(of: "rsa-sha256", with: "hs2019")
        #expect(throws: HTTPSignatureError.unsupportedAlgorithm("hs2019")) { try verify(request, header: hs2019) }
        #expect(HTTPSignatureError.unsupportedAlgorithm("hs2019").description.contains("algorithm not rsa-sha256"))
        #expect(HTTPSignatureError.signatureDoesNotVerify.description == "signature does not verify")
        #expect(HTTPSignatureError.digestMismatch.description == "digest mismatch")
    }
}

@Suite struct HTTPSignatureParsingTests {
    @Test func parsesTolerantly() throws {
        let sig = try HTTPSignature(
            parsing:
                #"keyId="a,b", algorithm="RSA-SHA256" ,headers="(request-target) Host date",signature="AQID",extra="x""#
        )
        #expect(sig.keyId == "a,b")
        #expect(sig.headers == ["(request-target)", "host", "date"])
        #expect(sig.signature == [1, 2, 3])
        let auth = try HTTPSignature(parsing: #"Signature keyId="k",signature="AQID",keyId="k2""#)
        #expect(auth.keyId == "k2")  // the last duplicate wins
        #expect(auth.headers == ["date"])  // draft 10 default
        #expect(auth.algorithm == nil)
        let escaped = try HTTPSignature(parsing: #"keyId="a\"b",signature="AQID""#)
        #expect(escaped.keyId == "a\"b")
        #expect(try HTTPSignature(parsing: escaped.headerValue) == escaped)
    }

    @Test func rejectsDraft11AndMalformedHeaders() {
        #expect(throws: HTTPSignatureError.unsupportedPseudoHeader("(created)")) {
            try HTTPSignature(parsing: #"keyId="k",algorithm="rsa-sha256",headers="(created) date",signature="AQID""#)
        }
        #expect(throws: HTTPSignatureError.unsupportedPseudoHeader("(expires)")) {
            try HTTPSignature(parsing: #"keyId="k",headers="(request-target) (expires)",signature="AQID""#)
        }
        #expect(throws: HTTPSignatureError.unsupportedAlgorithm("hs2019")) {
            try HTTPSignature(parsing: #"keyId="k",algorithm="hs2019",signature="AQID""#)
        }
        #expect(throws: HTTPSignatureError.missingParameter("keyId")) {
            try HTTPSignature(parsing: #"signature="AQID""#)
        }
        #expect(throws: HTTPSignatureError.missingParameter("signature")) { try HTTPSignature(parsing: #"keyId="k""#) }
        #expect(throws: HTTPSignatureError.invalidSignatureEncoding) {
            try HTTPSignature(parsing: #"keyId="k",signature="!!""#)
        }
        #expect(throws: HTTPSignatureError.self) { try HTTPSignature(parsing: #"keyId="k,signature="AQID""#) }
        #expect(throws: HTTPSignatureError.emptyHeaderList) {
            try HTTPSignature(parsing: #"keyId="k",headers="",signature="AQID""#)
        }
    }
}

@Suite struct SignatureConcurrencyAndPolicyTests {
    @Test func oneKeySignsConcurrentlyFromManyTasks() async throws {
        let key = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        let signer = HTTPMessageSigner(key: key, keyId: "k")
        let results = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for i in 0..<32 {
                group.addTask {
                    let headers = [("Host", "h"), ("Date", "d"), ("X-Request-ID", "id-\(i)")]
                    return (
                        i,
                        try signer.signatureHeader(
                            method: "GET", target: "/\(i)", headers: headers,
                            names: ["(request-target)", "host", "date", "x-request-id"])
                    )
                }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        #expect(results.count == 32)
        for (i, header) in results {
            try HTTPSignatureVerifier.euroInformation.verify(
                signatureHeader: header, method: "GET", target: "/\(i)",
                headers: [("Host", "h"), ("Date", "d"), ("X-Request-ID", "id-\(i)")], publicKey: key.publicKey)
        }
    }

    @Test func bpcePolicyNeedsRequestTargetRequestIDAndDigestWithBody() throws {
        let key = try PrivateKey(pem: try Fixtures.pki("qseal.key"))
        let signer = HTTPMessageSigner(key: key, keyId: "client-id")
        let body = Array(#"{"a":1}"#.utf8)
        let headers = [
            ("X-Request-ID", "r"), ("Date", "d"), ("Digest", Digest.headerValue(for: body)),
            ("Content-Type", "application/json"),
        ]
        func check(_ names: [String]) throws {
            let header = try signer.signatureHeader(
                method: "POST", target: "/stet/setting/v1/register", headers: headers, names: names)
            try HTTPSignatureVerifier.bpce.verify(
                signatureHeader: header, method: "POST",
                target: "/stet/setting/v1/register", headers: headers, body: body, publicKey: key.publicKey)
        }
        try check(["(request-target)", "date", "x-request-id", "digest", "content-type"])
        try check(["(request-target)", "x-request-id", "digest"])
        #expect(throws: HTTPSignatureError.requiredHeaderNotSigned("digest")) {
            try check(["(request-target)", "x-request-id"])
        }
        #expect(throws: HTTPSignatureError.requiredHeaderNotSigned("x-request-id")) {
            try check(["(request-target)", "digest"])
        }
    }
}
