import FoundationEssentials
import GatewayCore
import PostgresKit

/// A key as stored: the request it was first used with, when it was claimed, and its answer once there is one.
public struct StoredIdempotencyKey: Sendable, Equatable {
    /// SHA-256 of the method, path and canonical body of the first request.
    public var requestHash: [UInt8]
    /// When the claim was made (or last taken over).
    public var claimedAt: Date
    /// The first request's answer; nil while it runs (`in_flight`).
    public var answer: StoredIdempotentAnswer?
}

/// A stored answer: status, header lines (`Name: value`, one per line) and the body sealed by `IdempotencyKeys`.
public struct StoredIdempotentAnswer: Sendable, Equatable {
    public var status: Int
    public var headers: String
    public var sealedBody: [UInt8]?
}

/// Where `Idempotency-Key` claims and answers are kept: the storage steps `IdempotencyKeys` needs, each atomic on
/// its own; the rules (same request or another, in flight, stale, replay, sealing) are `IdempotencyKeys`', written
/// once. `IdempotencyKeyStore` keeps them in PostgreSQL (so every replica sees the same thing);
/// `InMemoryIdempotencyKeyRepository` (GatewayAppTests) keeps the same promises. Errors are `GatewayError`.
public protocol IdempotencyKeyRepository: Sendable {
    /// Claims `key` of `principal` (`in_flight`) unless it is already stored; returns whether this call did.
    func insertClaim(principal: String, key: String, requestHash: [UInt8], at now: Date) async throws -> Bool

    /// The key as stored, if it is.
    func find(principal: String, key: String) async throws -> StoredIdempotencyKey?

    /// Takes over a claim still `in_flight` and made at `claimedAt` (compare-and-set: of concurrent callers, one
    /// wins); returns whether this call did.
    func takeOver(principal: String, key: String, claimedAt: Date, at now: Date) async throws -> Bool

    /// Stores the answer of the claim of `key`.
    func complete(principal: String, key: String, answer: StoredIdempotentAnswer) async throws

    /// Forgets `key` if it is still `in_flight` (a finished key is kept).
    func release(principal: String, key: String) async throws

    /// Deletes keys claimed before `date`; returns how many.
    func purge(claimedBefore date: Date) async throws -> Int
}

/// `IdempotencyKeyRepository` in PostgreSQL (table `idempotency_keys`).
struct IdempotencyKeyStore: IdempotencyKeyRepository {
    let db: StoreDatabase

    func insertClaim(principal: String, key: String, requestHash: [UInt8], at now: Date) async throws -> Bool {
        try await !db.query("""
            INSERT INTO idempotency_keys (principal, key, request_hash, state, created_at)
            VALUES (\(principal), \(key), \(requestHash), 'in_flight', \(now))
            ON CONFLICT (principal, key) DO NOTHING RETURNING key
            """).isEmpty
    }

    func find(principal: String, key: String) async throws -> StoredIdempotencyKey? {
        guard let row = try await db.query("""
            SELECT request_hash, state, response_status, response_headers, response_body, created_at
            FROM idempotency_keys WHERE principal = \(principal) AND key = \(key)
            """).first
        else { return nil }
        var answer: StoredIdempotentAnswer?
        if try row.decode("state", as: String.self) == "done" {
            answer = StoredIdempotentAnswer(
                status: try row.decode("response_status"),
                headers: try row.decode("response_headers", as: String?.self) ?? "",
                sealedBody: try row.decode("response_body"))
        }
        return StoredIdempotencyKey(
            requestHash: try row.decode("request_hash"), claimedAt: try row.decode("created_at"), answer: answer)
    }

    func takeOver(principal: String, key: String, claimedAt: Date, at now: Date) async throws -> Bool {
        try await db.execute("""
            UPDATE idempotency_keys SET created_at = \(now)
            WHERE principal = \(principal) AND key = \(key) AND state = 'in_flight' AND created_at = \(claimedAt)
            """) == 1
    }

    func complete(principal: String, key: String, answer: StoredIdempotentAnswer) async throws {
        _ = try await db.execute("""
            UPDATE idempotency_keys SET state = 'done', response_status = \(answer.status),
              response_headers = \(answer.headers), response_body = \(answer.sealedBody)
            WHERE principal = \(principal) AND key = \(key)
            """)
    }

    func release(principal: String, key: String) async throws {
        _ = try await db.execute(
            "DELETE FROM idempotency_keys WHERE principal = \(principal) AND key = \(key) AND state = 'in_flight'")
    }

    func purge(claimedBefore date: Date) async throws -> Int {
        try await db.execute("DELETE FROM idempotency_keys WHERE created_at < \(date)")
    }
}
