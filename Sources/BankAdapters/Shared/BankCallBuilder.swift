import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// One call to a bank before headers — a registration, token or PSD2 resource call alike. `BankCallBuilder` turns
/// it into the exact outbound request the bank's rules demand.
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
    /// The customer's `PSU-*` headers, forwarded and signed (resource calls).
    var psu = PSUContext()
    /// The call must reach the bank at most once: sent on a new connection (`OutboundRequest.freshConnection`).
    var atMostOnce = false
}

/// The one outbound request builder (pure but for the injected clock and request ids), for every bank call
/// (docs/protocol.md §1–§3, §4.4, §5.5). Headers in this order: `Host` (`BankURL.host`), `Date` (IMF-fixdate),
/// `X-Request-ID` (UUID v4), `Authorization: Bearer` (when the call has a token), `Accept`, `Content-Type` with a
/// body, `Digest` with a body or always where the profile has `digestWithoutBody`, then the `PSU-*` headers in
/// STET order; then a `Signature` over the profile's ordered header list plus every `psu-*` header present (never
/// `authorization`), with the QWAC as mTLS identity, the context's deadline, the bank id and the path template.
/// `User-Agent` is the transport's (`Passerelle/<version>`), the same for every call.
struct BankCallBuilder: Sendable {
    let client: BankClient
    let dependencies: AdapterDependencies

    /// The outbound request and the signing string (kept for tests; it holds no secret).
    /// - Throws: `AdapterError.notCallable` for a URL that is not absolute https; `.internalFailure` when the
    ///   signature cannot be computed.
    func build(_ call: BankCall, context: AdapterContext) throws -> (OutboundRequest, signingString: String?) {
        guard let url = BankURL(call.url) else {
            throw AdapterError.notCallable(reason: "the request URL is not an absolute https URL")
        }
        let target = url.target
        let bank = client.bank
        let hasBody = !call.body.isEmpty
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(8 + call.psu.headers.count)  // the signature is appended below
        headers.append(("Host", url.host))
        let second = Int(dependencies.now().timeIntervalSince1970.rounded(.down))
        headers.append(("Date", HTTPDate.imfFixdate(secondsSince1970: second)))
        headers.append(("X-Request-ID", dependencies.newRequestID()))
        if let bearer = call.bearer { headers.append(("Authorization", "Bearer " + bearer.reveal)) }
        headers.append(("Accept", call.accept))
        if hasBody, let contentType = call.contentType { headers.append(("Content-Type", contentType)) }
        if hasBody || bank.digestWithoutBody { headers.append(("Digest", Digest.headerValue(for: call.body))) }
        headers += call.psu.headers

        var signedNames: [String] = []
        var signingString: String?
        if case .sign(let keyID) = call.signing {
            let wanted = bank.headersToSign(hasBody: hasBody, presentHeaders: headers.map(\.name))
            var names: [String] = []
            names.reserveCapacity(wanted.count)
            for raw in wanted {
                let name = ASCII.lowercased(raw)
                guard name != "authorization" else { continue }
                guard name == SigningString.requestTarget
                    || headers.contains(where: { ASCII.equalsIgnoringCase($0.name, name) })
                else { continue }
                names.append(name)
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
        var outbound = OutboundRequest(
            method: call.method, url: url.absolute, headers: headers, body: call.body, deadline: context.deadline,
            identity: try dependencies.credentials.tlsIdentity(client.qwac), bankID: bank.id.description,
            pathTemplate: call.pathTemplate, signedHeaderNames: signedNames)
        outbound.inboundRequestID = context.requestID
        outbound.freshConnection = call.atMostOnce
        return (outbound, signingString)
    }
}
