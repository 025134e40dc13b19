import FoundationEssentials

/// Encodes a `Codable` pagination state as the opaque `cursor` / `nextCursor` of the API (`openapi/passerelle.yaml`:
/// lists that can grow are paginated with an opaque `cursor`): base64url of JSON, no padding.
///
/// A cursor is not a secret and not tamper-proof: whatever it carries must be checked again when used (a bank page
/// URL is re-validated against the bank's API host by `STETLinks.resolve`, ids are re-checked against the
/// connection).
public enum OpaqueCursor {
    /// The cursor text for `state`.
    public static func encode(_ state: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(state)) ?? Data("{}".utf8)
        return data.base64EncodedString().replacing("+", with: "-")
            .replacing("/", with: "_").replacing("=", with: "")
    }

    /// The state inside `cursor`.
    /// - Throws: `GatewayError.refusedFields` on `field` when the cursor is not one of ours.
    public static func decode<State: Decodable>(_ type: State.Type, from cursor: String, field: String = "cursor")
        throws -> State
    {
        var base64 = cursor.replacing("-", with: "+").replacing("_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard cursor.utf8.count <= 8192, let data = Data(base64Encoded: base64),
            let state = try? JSONDecoder().decode(type, from: data)
        else {
            throw GatewayError.refusedFields([FieldIssue(field: field, message: "not a cursor returned by this API")])
        }
        return state
    }
}
