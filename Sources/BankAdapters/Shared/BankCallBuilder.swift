import CurlKit
import Foundation
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// One call to a bank before headers: either a registration/token call described here, or a PSD2 resource request
/// already built by `STETRequests` (whose headers are kept as they are). `BankCallBuilder` turns it into the exact
/// outbound request the bank's rules demand.
struct BankCall: Sendable {
    /// How the request is signed.
    enum Signing: Sendable {
        /// No `Signature` (Euro-Information registration calls, every token call).
        case none
        /// A Cavage signature with this `keyId`, over the profile's header list.
        case sign(keyID: String)
    }

    var method: String
    /// Absolute https URL, query included, exactly as it goes on the request line.
    var url: String
    /// The path without identifiers or query values, for the audit log (`/stet/psd2/v1/accounts/{id}/balances`).
    var pathTemplate: String
    var body: [UInt8] = []
    /// `Content-Type` of `body` (only sent with a body).
    var contentType: String? = nil
    var accept = "application/hal+json, application/json"
    /// `Authorization: Bearer …`.
    var bearer: Secret<String>? = nil
    var signing: Signing = .none
    /// Headers built by `STETRequests` (PSD2 resource calls, PSU headers included); when set, the fields above
    /// except `method`, `url`, `pathTemplate`, `body` and `signing` are not used.
    var prepared: [(name: String, value: String)]? = nil

    /// A PSD2 resource call from `STETRequests`, to be signed with `keyID`.
    init(_ request: STETRequest, pathTemplate: String, keyID: String) {
        method = request.method
        url = request.url
        self.pathTemplate = pathTemplate
        body = request.body ?? []
        signing = .sign(keyID: keyID)
        prepared = request.headers
    }

    init(
        method: String, url: String, pathTemplate: String, body: [UInt8] = [], contentType: String? = nil,
        accept: String = "application/hal+json, application/json", bearer: Secret<String>? = nil,
        signing: Signing = .none
    ) {
        self.method = method
        self.url = url
        self.pathTemplate = pathTemplate
        self.body = body
        self.contentType = contentType
        self.accept = accept
        self.bearer = bearer
        self.signing = signing
    }
}

/// Builds the outbound request of a `BankCall` for one bank client (protocol-reference §1–§3, §4.4, §5.6):
/// `Host`, `Date` (IMF-fixdate from the injected clock), `X-Request-ID` (UUID v4), `Accept`, `Content-Type` and
/// `Digest` with a body (or always where the profile has `digestWithoutBody`), `Authorization: Bearer`, and a
/// `Signature` over the profile's ordered header list plus every `psu-*` header present (never `authorization`),
/// with the QWAC as mTLS identity, the context's deadline, the bank id and the path template.
struct BankCallBuilder: Sendable {
    let client: BankClient
    let dependencies: AdapterDependencies

    /// What PSD2 resource requests share (`STETRequests.Common`): a fresh request id, the clock, the PSU headers.
    func common(token: Secret<String>, context: AdapterContext) -> STETRequests.Common {
        STETRequests.Common(
            requestID: dependencies.newRequestID(), date: dependencies.now(), accessToken: token, psu: context.psu,
            userAgent: "Passerelle")
    }

    /// The outbound request and the signing string (kept for tests; it holds no secret).
    func build(_ call: BankCall, context: AdapterContext) throws -> (OutboundRequest, signingString: String?) {
        let (authority, target) = Self.split(call.url)
        let bank = client.bank
        let hasBody = !call.body.isEmpty
        var headers: [(name: String, value: String)]
        if let prepared = call.prepared {
            headers = prepared
        } else {
            headers = [
                ("Host", authority), ("Date", STETRequests.imfFixdate(dependencies.now())),
                ("X-Request-ID", dependencies.newRequestID()), ("Accept", call.accept),
            ]
            if hasBody, let contentType = call.contentType { headers.append(("Content-Type", contentType)) }
            if hasBody || bank.digestWithoutBody { headers.append(("Digest", Digest.headerValue(for: call.body))) }
            if let bearer = call.bearer { headers.append(("Authorization", "Bearer " + bearer.reveal)) }
        }

        var signedNames: [String] = []
        var signingString: String?
        if case .sign(let keyID) = call.signing {
            let names = bank.headersToSign(hasBody: hasBody, presentHeaders: headers.map(\.name)).compactMap {
                raw -> String? in
                let name = ASCII.lowercased(raw)
                guard name != "authorization" else { return nil }
                guard name == SigningString.requestTarget
                    || headers.contains(where: { ASCII.equalsIgnoringCase($0.name, name) })
                else { return nil }
                return name
            }
            let signer = HTTPMessageSigner(key: try dependencies.credentials.signingKey(client.qseal), keyId: keyID)
            do {
                let signed = try signer.sign(
                    method: call.method, target: target, headers: headers.map { ($0.name, $0.value) }, names: names)
                headers.append(("Signature", signed.signature.headerValue))
                signingString = signed.signingString
            } catch {
                throw AdapterError.internalFailure(reason: "request to \(bank.id) could not be signed: \(error)")
            }
            signedNames = names
        }
        let outbound = OutboundRequest(
            method: call.method, url: call.url, headers: headers, body: call.body, deadline: context.deadline,
            identity: try dependencies.credentials.tlsIdentity(client.qwac), bankID: bank.id.description,
            pathTemplate: call.pathTemplate, signedHeaderNames: signedNames)
        return (outbound, signingString)
    }

    /// The `Host` value (authority without a default `:443`) and the request target (path and query, `/` when empty)
    /// of an absolute URL.
    static func split(_ url: String) -> (authority: String, target: String) {
        // Byte scans only: Character-wise searches (grapheme breaking), Foundation's `range(of:)` and a Unicode
        // `lowercased()` all showed up in profiles of the proxied read path.
        let utf8 = url.utf8
        var start = utf8.startIndex
        if let colon = utf8.firstIndex(of: UInt8(ascii: ":")),
            utf8[utf8.index(after: colon)...].starts(with: "//".utf8)
        {
            start = utf8.index(colon, offsetBy: 3)
        }
        let end = utf8[start...].firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? utf8.endIndex
        var authority = String(url[start..<end])
        if ASCII.hasSuffixIgnoringCase(authority, ":443") { authority.removeLast(4) }
        let fragment = utf8[end...].firstIndex(of: UInt8(ascii: "#")) ?? utf8.endIndex
        var target = String(url[end..<fragment])
        if target.isEmpty { target = "/" } else if target.utf8.first == UInt8(ascii: "?") { target = "/" + target }
        return (authority, target)
    }
}
