import FoundationEssentials
import GatewayCore
import HTTPServerKit

/// The lists by customer (`GET /v1/connections?psuReference=`, `GET /v1/payments?psuReference=`): one query check
/// and one opaque keyset cursor (created_at, id; newest first) bound to the listing's `psuReference`.
enum PSUListing {
    /// `psuReference` (required) and `cursor` (optional), nothing else.
    /// - Throws: `GatewayError.validation` naming the parameter.
    static func query(_ request: HTTPRequest) throws -> (psuReference: String, cursor: String?) {
        var rules = FieldRules()
        let query = try request.queryParameters(allowed: ["psuReference", "cursor"], into: &rules)
        if query["psuReference"] == nil { rules.fail("psuReference", "is required") }
        rules.text(query["psuReference"], "psuReference", length: 1...200)
        rules.text(query["cursor"], "cursor", length: 1...4096)
        guard rules.issues.isEmpty, let reference = query["psuReference"] else {
            throw GatewayError.validation(rules.issues)
        }
        return (reference, query["cursor"])
    }

    /// The keyset position a cursor of this listing stands for (nil: the first page).
    /// - Throws: `.refusedFields` for a cursor of another listing or not issued here.
    static func position(_ cursor: String?, psuReference: String) throws -> (Date, UUID)? {
        guard let cursor else { return nil }
        let position = try OpaqueCursor.decode(ConnectionListCursor.self, from: cursor)
        guard position.p == psuReference, let id = UUID(uuidString: position.i) else {
            throw GatewayError.refusedFields([FieldIssue(field: "cursor", message: "belongs to another listing")])
        }
        return (Date(timeIntervalSince1970: position.t), id)
    }

    /// The cursor after the last row shown, when there are more.
    static func nextCursor(psuReference: String, after last: (createdAt: Date, id: UUID)?) -> String? {
        last.map {
            OpaqueCursor.encode(
                ConnectionListCursor(
                    p: psuReference, t: $0.createdAt.timeIntervalSince1970, i: $0.id.uuidString.lowercased()))
        }
    }
}
