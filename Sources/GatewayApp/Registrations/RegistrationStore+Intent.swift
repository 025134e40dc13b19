import FoundationEssentials
import GatewayCore
import PostgresKit

/// The two ends of a registration's intent (migration 0011): the row written before the bank is called, and what
/// becomes of it when the bank's answer cannot be stored in full.
extension RegistrationStore {
    /// Every column, in one statement (`update`).
    public func complete(_ r: RegistrationRecord) async throws {
        defer { forget(r.id) }
        try await db.withTransaction { tx in try await update(r, on: tx) }
    }

    /// `registration.failed` is written to the outbox in the same transaction (docs/events.md).
    public func markFailed(_ id: UUID, clientID: String, registrationClientURI: String?) async throws {
        defer { forget(id) }
        try await db.withTransaction { tx in
            let rows = try await tx.query("""
                UPDATE registrations SET status = 'failed', client_id = \(clientID),
                  registration_client_uri = \(registrationClientURI), version = version + 1, updated_at = now()
                WHERE id = \(id) AND status = 'registering'
                RETURNING bank_id
                """)
            guard let bank = try rows.first?.decode("bank_id", as: String.self) else { return }
            let key = id.uuidString.lowercased()
            try await EventOutbox.append(
                LifecycleEvent(
                    kind: .registrationFailed, resourceID: key,
                    data: [
                        "registrationId": key, "bank": bank, "status": "failed",
                        "reason": "the bank accepted the registration but its answer could not be stored",
                    ]),
                at: now(), on: tx)
        }
    }

    public func removeIntent(_ id: UUID) async throws {
        defer { forget(id) }
        _ = try await db.execute("DELETE FROM registrations WHERE id = \(id) AND status = 'registering'")
    }
}
