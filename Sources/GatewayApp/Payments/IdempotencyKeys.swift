import FoundationEssentials
import GatewayCore
import GatewayLogging
import HTTPServerKit
import JSONKit
import OpenSSLKit

/// `Idempotency-Key` on the payment POSTs (draft-ietf-httpapi-idempotency-key-header, with Stripe's semantics;
/// docs/payments.md), kept in PostgreSQL so that it holds across replicas:
///
/// - the key is scoped to the API key (the authenticated principal) and required: missing, empty or longer than
///   255 characters → 400;
/// - the first request claims it (`in_flight`) and its answer — success or problem — is stored with it; the same key
///   with the same method, path and body replays that answer (status, headers, body) without running anything;
/// - the same key with another body → 422; while the first request runs → 409;
/// - an answer that says nothing happened (the database unavailable, an internal error, a cancelled request)
///   releases the key, so the request may be sent again;
/// - a claim left `in_flight` by a crashed process is taken over after `staleAfter`: the handler then finds what the
///   first attempt committed (a payment is looked up by its key, never created twice);
/// - keys are purged after the retention (at least 24 h) by the background job;
/// - the stored answer is sealed (`idempotency_keys/<principal>/<key>` as associated data): it may hold an approval
///   link with its single-use state, IBANs and names.
struct IdempotencyKeys: Sendable {
    /// Where claims and answers are kept (`IdempotencyKeyStore` in PostgreSQL).
    let store: any IdempotencyKeyRepository
    /// Seals the stored answers: they may carry an approval link with its state, IBANs, names.
    let vault: SecretVault
    let now: @Sendable () -> Date
    /// After this long an `in_flight` claim is considered abandoned (longer than any bank call).
    let staleAfter: TimeInterval

    static let headerName = "Idempotency-Key"
    static let maxLength = 255

    enum Claim: Sendable {
        case claimed
        case replay(HTTPResponse)
        case otherRequest
        case inFlight
    }

    /// The request's key, checked.
    /// - Throws: `GatewayError.validation` naming `Idempotency-Key`.
    static func key(of request: HTTPRequest) throws -> String {
        guard let key = request.headers[headerName] else {
            throw GatewayError.validation([FieldIssue(field: headerName, message: "is required on this request")])
        }
        guard (1...maxLength).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw GatewayError.validation([
                FieldIssue(field: headerName, message: "1 to \(maxLength) visible ASCII characters")
            ])
        }
        return key
    }

    /// Runs `execute` at most once per key: see the type's documentation.
    /// - Throws: `GatewayError` for a bad key, another body (422) or a request in flight (409).
    func run(
        _ request: HTTPRequest, context: RequestContext, execute: () async throws -> HTTPResponse
    ) async throws -> HTTPResponse {
        let key = try Self.key(of: request)
        let principal = context.principal ?? "-"
        let hash = Digest.sha256(
            Array((request.method.rawValue + " " + request.path + "\n").utf8) + Self.canonical(request.body))
        switch try await claim(principal: principal, key: key, hash: hash) {
        case .replay(let response):
            context.logger.info("idempotent replay", metadata: ["idempotency.replayed": "true"])
            return response
        case .otherRequest:
            throw GatewayError.refusedFields([
                FieldIssue(field: Self.headerName, message: "was already used with another request body")
            ])
        case .inFlight:
            throw GatewayError.conflict("a request with this Idempotency-Key is still being processed; retry later")
        case .claimed:
            break
        }
        let response: HTTPResponse
        do {
            response = try await execute()
        } catch let error as GatewayError where Self.keepsKey(error) {
            response = error.problem(instance: request.path, requestID: context.requestID).response
        } catch {
            try? await release(principal: principal, key: key)
            throw error
        }
        try await complete(principal: principal, key: key, response: response)
        return response
    }

    /// Whether an error answer is the request's outcome (stored and replayed) rather than a failure to run it.
    static func keepsKey(_ error: GatewayError) -> Bool {
        switch error {
        case .unavailable, .internal: false
        default: true
        }
    }

    /// The body as compared between two uses of a key: a JSON body by its meaning (members sorted by name, no
    /// insignificant white space; numbers as written), so that two serialisations of the same request match as
    /// Stripe compares parameters; any other body byte for byte.
    static func canonical(_ body: [UInt8]) -> [UInt8] {
        guard !body.isEmpty, let node = try? JSONParser.parse(body) else { return body }
        var out: [UInt8] = []
        func write(_ node: JSONNode) {
            switch node {
            case .null: out += Array("null".utf8)
            case .bool(let flag): out += Array((flag ? "true" : "false").utf8)
            case .number(let text): out += Array(text.utf8)
            case .string(let text): out += Array(JSONString.quoted(text).utf8)
            case .array(let items):
                out.append(UInt8(ascii: "["))
                for (index, item) in items.enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    write(item)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                out.append(UInt8(ascii: "{"))
                for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                    if index > 0 { out.append(UInt8(ascii: ",")) }
                    out += Array(JSONString.quoted(member.key).utf8)
                    out.append(UInt8(ascii: ":"))
                    write(member.value)
                }
                out.append(UInt8(ascii: "}"))
            }
        }
        write(node)
        return out
    }

    // MARK: - Storage

    func claim(principal: String, key: String, hash: [UInt8]) async throws -> Claim {
        let now = now()
        if try await store.insertClaim(principal: principal, key: key, requestHash: hash, at: now) { return .claimed }
        guard let stored = try await store.find(principal: principal, key: key) else {
            return try await claim(principal: principal, key: key, hash: hash)  // purged in between
        }
        guard ConstantTime.equals(stored.requestHash, hash) else { return .otherRequest }
        if let answer = stored.answer {
            var headers = HTTPHeaders()
            for line in answer.headers.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.set(String(line[..<colon]), String(line[line.index(after: colon)...].dropFirst()))
            }
            let body = try answer.sealedBody.map {
                Array(try vault.open($0, owner: Self.owner(principal, key)).reveal.utf8)
            }
            return .replay(HTTPResponse(status: answer.status, headers: headers, body: body ?? []))
        }
        guard stored.claimedAt < now.addingTimeInterval(-staleAfter) else { return .inFlight }
        // Abandoned by a process that died: take it over, once (compare-and-set on the claim time).
        let taken = try await store.takeOver(principal: principal, key: key, claimedAt: stored.claimedAt, at: now)
        return taken ? .claimed : .inFlight
    }

    func complete(principal: String, key: String, response: HTTPResponse) async throws {
        let headers = response.headers.fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n")
        // Our answers are UTF-8 JSON (problem or resource); sealed as text.
        let sealed = try vault.seal(
            Secret(String(decoding: response.body, as: UTF8.self)), owner: Self.owner(principal, key))
        try await store.complete(
            principal: principal, key: key,
            answer: StoredIdempotentAnswer(status: response.status, headers: headers, sealedBody: sealed))
    }

    static func owner(_ principal: String, _ key: String) -> String { "idempotency_keys/\(principal)/\(key)" }

    func release(principal: String, key: String) async throws {
        try await store.release(principal: principal, key: key)
    }

    /// Deletes keys older than `retention` seconds; returns how many.
    @discardableResult
    func purge(retention: TimeInterval) async throws -> Int {
        try await store.purge(claimedBefore: now().addingTimeInterval(-retention))
    }
}
