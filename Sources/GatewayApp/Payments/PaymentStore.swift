import FoundationEssentials
import GatewayCore
import PostgresKit

/// `PaymentRepository` in PostgreSQL (table `payments`). Every change goes through `modify` (`SELECT … FOR UPDATE`
/// in a short transaction), so two replicas never act on one payment at once.
struct PaymentStore: PaymentRepository {
    let db: StoreDatabase

    static let columnsSQL = Query(unsafeSQL: """
        id, principal, idempotency_key, registration_id, bank_id, environment, psu_reference, redirect_uri, status,
        confirmed, bank_status, bank_status_reason, status_detail, payment_information_id, instruction_id,
        end_to_end_id, amount, currency, creditor_name, creditor_iban, creditor_bic, debtor_iban, remittance,
        requested_execution_date::text AS requested_execution_date, instant, bank_resource_id, bank_location,
        approval_url, state_hash, state_expires_at, pkce_verifier_sealed, reconcile_attempts, next_check_at,
        created_at, updated_at
        """)

    func insert(_ p: PaymentRecord) async throws {
        let o = p.order
        _ = try await db.execute("""
            INSERT INTO payments (id, principal, idempotency_key, registration_id, bank_id, environment, psu_reference,
              redirect_uri, status, payment_information_id, instruction_id, end_to_end_id, amount, currency,
              creditor_name, creditor_iban, creditor_bic, debtor_iban, remittance, requested_execution_date, instant,
              next_check_at, created_at, updated_at)
            VALUES (\(p.id), \(p.principal), \(p.idempotencyKey), \(p.registrationID), \(p.bankID.description),
              \(p.environment.rawValue), \(p.psuReference), \(p.redirectURI), \(p.status.rawValue),
              \(o.paymentInformationID), \(o.instructionID), \(o.endToEndID), \(o.amount.description), \(o.currency),
              \(o.creditorName), \(o.creditorIBAN), \(o.creditorBIC), \(o.debtorIBAN), \(o.remittance),
              \(o.requestedExecutionDate?.description), \(o.instant), \(p.nextCheckAt), \(p.createdAt), \(p.updatedAt))
            """)
    }

    func find(_ id: UUID) async throws -> PaymentRecord? {
        try await db.query("SELECT \(Self.columnsSQL) FROM payments WHERE id = \(id)").first.map(decode)
    }

    func find(principal: String, idempotencyKey key: String) async throws -> PaymentRecord? {
        try await db.query("""
            SELECT \(Self.columnsSQL) FROM payments WHERE principal = \(principal) AND idempotency_key = \(key)
            """).first.map(decode)
    }

    func modify(_ id: UUID, _ change: @Sendable (inout PaymentRecord) throws -> Void) async throws -> PaymentRecord {
        try await db.withTransaction { tx in
            guard
                var row = try await tx.query("SELECT \(Self.columnsSQL) FROM payments WHERE id = \(id) FOR UPDATE")
                    .first.map(decode)
            else { throw GatewayError.notFound(resource: "payment", id: id.uuidString.lowercased()) }
            let previous = row.status
            try change(&row)
            try await update(row, on: tx)
            if let event = row.statusChangedEvent(from: previous) {
                try await EventOutbox.append(event, at: row.updatedAt, on: tx)
            }
            return row
        }
    }

    /// Writes the mutable columns of `p`.
    private func update(_ p: PaymentRecord, on tx: PostgresConnection) async throws {
        _ = try await tx.execute("""
            UPDATE payments SET status = \(p.status.rawValue), confirmed = \(p.confirmed),
              bank_status = \(p.bankStatus), bank_status_reason = \(p.bankStatusReason),
              status_detail = \(p.statusDetail), bank_resource_id = \(p.bankResourceID),
              bank_location = \(p.bankLocation), approval_url = \(p.approvalURL), state_hash = \(p.stateHash),
              state_expires_at = \(p.stateExpiresAt), pkce_verifier_sealed = \(p.pkceVerifierSealed),
              reconcile_attempts = \(p.reconcileAttempts), next_check_at = \(p.nextCheckAt),
              updated_at = \(p.updatedAt)
            WHERE id = \(p.id)
            """)
    }

    func list(psuReference: String, after: (createdAt: Date, id: UUID)?, limit: Int) async throws -> [PaymentRecord] {
        let afterDate = after?.createdAt
        let afterID = after?.id
        return try await db.query("""
            SELECT \(Self.columnsSQL) FROM payments
            WHERE psu_reference = \(psuReference)
              AND (\(afterDate)::timestamptz IS NULL OR (created_at, id) < (\(afterDate), \(afterID)))
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """).map(decode)
    }

    func dueForReconciliation(now: Date, limit: Int) async throws -> [UUID] {
        try await db.query("""
            SELECT id FROM payments WHERE status IN ('submitting', 'unknown') AND next_check_at <= \(now)
            ORDER BY next_check_at, id LIMIT \(limit)
            """).map { try $0.decode("id", as: UUID.self) }
    }

    func decode(_ row: Row) throws -> PaymentRecord {
        let id: UUID = try row.decode("id")
        guard let bankID = BankID(try row.decode("bank_id", as: String.self)),
            let environment = Environment(rawValue: try row.decode("environment")),
            let status = PaymentStatus(rawValue: try row.decode("status")),
            let amount = DecimalAmount(try row.decode("amount", as: String.self))
        else { throw GatewayError.internal("payment \(id) has an unreadable row") }
        let date: String? = try row.decode("requested_execution_date")
        let createdAt: Date = try row.decode("created_at")
        let order = PaymentOrder(
            paymentInformationID: try row.decode("payment_information_id"),
            instructionID: try row.decode("instruction_id"), endToEndID: try row.decode("end_to_end_id"),
            createdAt: createdAt, initiatingParty: "", debtorIBAN: try row.decode("debtor_iban"),
            creditorName: try row.decode("creditor_name"), creditorIBAN: try row.decode("creditor_iban"),
            creditorBIC: try row.decode("creditor_bic"), amount: amount, currency: try row.decode("currency"),
            remittance: try row.decode("remittance"), requestedExecutionDate: date.flatMap(CalendarDate.init),
            instant: try row.decode("instant"), redirectURI: try row.decode("redirect_uri"))
        return PaymentRecord(
            id: id, principal: try row.decode("principal"), idempotencyKey: try row.decode("idempotency_key"),
            registrationID: try row.decode("registration_id"), bankID: bankID, environment: environment,
            psuReference: try row.decode("psu_reference"), redirectURI: try row.decode("redirect_uri"),
            status: status, confirmed: try row.decode("confirmed"), bankStatus: try row.decode("bank_status"),
            bankStatusReason: try row.decode("bank_status_reason"), statusDetail: try row.decode("status_detail"),
            order: order, bankResourceID: try row.decode("bank_resource_id"),
            bankLocation: try row.decode("bank_location"), approvalURL: try row.decode("approval_url"),
            stateHash: try row.decode("state_hash"), stateExpiresAt: try row.decode("state_expires_at"),
            pkceVerifierSealed: try row.decode("pkce_verifier_sealed"),
            reconcileAttempts: try row.decode("reconcile_attempts"), nextCheckAt: try row.decode("next_check_at"),
            createdAt: createdAt, updatedAt: try row.decode("updated_at"))
    }
}
