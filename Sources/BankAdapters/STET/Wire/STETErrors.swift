/// The Spring-style STET error body (docs/protocol.md §2.8):
/// `{"timestamp", "status": 403, "error": "Forbidden", "message": "NAAC", "path"}`. Every field is optional and
/// `status` may come as a number or a string.
struct STETErrorModel: Decodable, Hashable, Sendable {
    var status: Int?
    var error: String?
    var message: String?
    var path: String?
    /// Some banks use STET's own field names.
    var code: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        status = container.lenientInt("status")
        error = container.lenientString("error")
        message = container.lenientString("message")
        path = container.lenientString("path")
        code = container.lenientString("code")
    }
}

/// RFC 6749 §5.2 error body: `{"error": "invalid_grant", "error_description": "…"}`.
struct OAuthErrorResponse: Decodable, Hashable, Sendable {
    var error: String
    var error_description: String?
}

/// RFC 6749 §5.1 token response. `expires_in` may be a number or a string; `token_type` may be `bearer`.
/// Its description never shows the tokens.
struct OAuthTokenResponse: Decodable, Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    var description: String { "OAuthTokenResponse(<redacted>)" }
    var debugDescription: String { description }

    var access_token: String
    var token_type: String?
    var expires_in: Int?
    var refresh_token: String?
    var scope: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyKey.self)
        access_token = try container.decode(String.self, forKey: AnyKey("access_token"))
        token_type = container.lenientString("token_type")
        expires_in = container.lenientInt("expires_in")
        refresh_token = container.lenientString("refresh_token")
        scope = container.lenientString("scope")
    }
}
