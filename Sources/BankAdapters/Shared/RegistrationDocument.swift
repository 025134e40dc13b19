import CurlKit
import FoundationEssentials
import GatewayCore
import JSONKit
import OpenSSLKit

/// Helpers shared by the two registration flavours: reading the bank's answer into a `RegistrationResult` and keeping
/// what is stored for support free of secrets.
enum RegistrationDocument {
    /// Members a registration answer may carry that are secrets (RFC 7591/7592): never stored.
    static let secretMembers: Set<String> = ["registration_access_token", "client_secret", "access_token"]

    /// A registration body as a tree (JSON5 tolerated: these documents are stored and shown, never trusted).
    static func tree(_ body: [UInt8]) -> JSONNode? { try? STETJSON.tree(body, lenient: true) }

    /// `body` with secret members removed (at the top level), as compact text with sorted keys; a body that is not
    /// JSON is replaced by a note.
    static func storable(_ body: [UInt8]) -> String {
        guard !body.isEmpty else { return "" }
        guard let value = tree(body) else { return "<\(body.count) bytes, not JSON>" }
        if case .object(let members) = value {
            return JSONNode.object(members.filter { !secretMembers.contains($0.key) }).text(sortedKeys: true)
        }
        return value.text(sortedKeys: true)
    }

    /// The keys of a `jwks` member: each `kid` with the SHA-256 (lowercase hex) of its `x5c[0]`.
    static func keys(of document: JSONNode) -> [RegistrationResult.Key] {
        (document["jwks"]?["keys"]?.arrayValue ?? []).map { key in
            let fingerprint = key["x5c"]?.arrayValue?.first?.stringValue.flatMap(Base64.decode).map {
                Hex.encode(Digest.sha256($0))
            }
            return RegistrationResult.Key(kid: key["kid"]?.stringValue, sha256Fingerprint: fingerprint)
        }
    }

    /// Decodes a 2xx registration body.
    /// - Parameter knownClientID: The `client_id` of an existing registration, for an update whose answer need not
    ///   repeat it (BPCE promises a 201, not a body: docs/adapters.md "Modifications at BPCE"); an empty body is
    ///   then an empty document.
    /// - Throws: `AdapterError.invalidResponse` when it is not a JSON object with a `client_id` (or, for an update,
    ///   when a `client_id` it gives is another one).
    static func parse(_ body: [UInt8], knownClientID: String? = nil) throws -> (document: JSONNode, clientID: String) {
        if let knownClientID, body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            return (.object([]), knownClientID)
        }
        guard let document = tree(body), case .object = document else {
            throw AdapterError.invalidResponse(reason: "registration answer is not a JSON object")
        }
        if let knownClientID {
            let answered = document["client_id"]?.stringValue ?? ""
            guard answered.isEmpty || answered == knownClientID else {
                throw AdapterError.invalidResponse(reason: "registration answer names another client_id")
            }
            return (document, knownClientID)
        }
        guard let clientID = document["client_id"]?.stringValue, !clientID.isEmpty else {
            throw AdapterError.invalidResponse(reason: "registration answer has no client_id")
        }
        return (document, clientID)
    }
}
