import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Turns a bank's non-2xx answer into the shared `AdapterError` taxonomy (docs/protocol.md §2.8, §4.3, §5.4):
/// STET `ErrorModel` codes (`NAAC`, `NIMP`, `TMRQ`, `INTE`), OAuth errors (`invalid_grant` and the Euro-Information
/// texts "Refresh token has expired" / "Invalid refresh token"), `ERREUR Technique` pages and HTML error pages.
/// Only the bank's short code and message are kept (sanitized), never the body.
public enum STETErrorClassifier {
    /// What kind of call failed, because the same status means different things on each.
    public enum CallKind: Sendable, Hashable {
        /// A PSD2 resource call with an access token: 401 means the token expired.
        case resource
        /// The token endpoint for an authorization code or client credentials.
        case token
        /// The token endpoint for a refresh: `invalid_grant` means the refresh token is dead.
        case refresh
        /// A registration call: 401/403 mean the TPP's credentials were refused.
        case registration
    }

    /// Classifies one error answer.
    /// - Parameters:
    ///   - status: The HTTP status (any non-2xx).
    ///   - headers: The response headers (for `Content-Type` and `Retry-After`).
    ///   - body: The response body, read but never kept.
    ///   - kind: What kind of call it was.
    public static func classify(
        status: Int, headers: [(name: String, value: String)], body: [UInt8], kind: CallKind
    ) -> AdapterError {
        let header: (String) -> String? = { name in headers.first { $0.name.lowercased() == name }?.value }
        let contentType = header("content-type")?.lowercased() ?? ""
        let text = String(decoding: body.prefix(65_536), as: UTF8.self)
        let trimmed = text.drop { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }

        if contentType.contains("text/html") || trimmed.hasPrefix("<") {
            // An HTML error page from the bank or a proxy: nothing to quote.
            let technical = ASCII.containsIgnoringCase(text, "ERREUR Technique")
            return .unavailable(status: status, code: nil, message: technical ? "ERREUR Technique" : nil)
        }
        if ASCII.containsIgnoringCase(text, "ERREUR Technique") {
            return .unavailable(status: status, code: nil, message: "ERREUR Technique")
        }

        var code: String?
        var message: String?
        // Error bodies are read leniently for every bank: only a code and a message are taken from them.
        let model = try? STETJSON.decode(STETErrorModel.self, from: body, lenient: true)
        let isErrorModel = model.map { $0.message != nil || $0.status != nil || $0.code != nil } ?? false
        if !isErrorModel, let oauth = try? STETJSON.decode(OAuthErrorResponse.self, from: body, lenient: true) {
            code = oauth.error
            message = oauth.error_description
        } else if let model {
            // `message` carries a short STET code (`NAAC`) or a sentence; `error` is the reason phrase.
            if let m = model.message, isShortCode(m) {
                code = m
            } else {
                message = model.message
            }
            code = code ?? model.code.flatMap { isShortCode($0) ? $0 : nil }
            if message == nil, let error = model.error, !isReasonPhrase(error, status: status) { message = error }
        } else if !trimmed.isEmpty, trimmed.count <= 200, !trimmed.contains("{") {
            message = String(trimmed)  // a short plain-text answer
        }
        code = AdapterError.sanitize(code)
        message = AdapterError.sanitize(message)
        let upperCode = code?.uppercased()

        if status == 429 || upperCode == "TMRQ" {
            return .rateLimited(
                retryAfter: header("retry-after").flatMap { Int($0.trimmingWhitespace()) }, code: code,
                message: message)
        }
        if upperCode == "NAAC" { return .noAccounts }
        if upperCode == "NIMP" || status == 501 { return .notImplemented(code: code, message: message) }
        if upperCode == "INTE" || status >= 500 { return .unavailable(status: status, code: code, message: message) }

        let lowerMessage = message?.lowercased() ?? ""
        let deadRefresh =
            lowerMessage.contains("refresh token has expired") || lowerMessage.contains("invalid refresh token")
        switch kind {
        case .refresh where code == "invalid_grant" || deadRefresh:
            return .refreshTokenDead(code: code, message: message)
        case .resource where status == 401:
            return .tokenExpired
        case .token, .refresh, .registration:
            if status == 401 || status == 403 || code == "invalid_client" || code == "unauthorized_client" {
                return .unauthorized(status: status, code: code, message: message)
            }
        case .resource:
            break
        }
        if (400..<500).contains(status) { return .rejected(status: status, code: code, message: message) }
        return .invalidResponse(reason: "unexpected HTTP status \(status)")
    }

    /// `NAAC`, `TMRQ`, `invalid_grant`: one token of letters, digits and `_`, at most 40 characters.
    static func isShortCode(_ text: String) -> Bool {
        (2...40).contains(text.count) && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// Whether `error` is just the reason phrase of `status` ("Forbidden"), which adds nothing.
    static func isReasonPhrase(_ error: String, status: Int) -> Bool {
        let phrases = [
            400: "bad request", 401: "unauthorized", 403: "forbidden", 404: "not found", 405: "method not allowed",
            406: "not acceptable", 408: "request timeout", 409: "conflict", 429: "too many requests",
            500: "internal server error", 501: "not implemented", 502: "bad gateway", 503: "service unavailable",
        ]
        return phrases[status] == error.lowercased()
    }
}
