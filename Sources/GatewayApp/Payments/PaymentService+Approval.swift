import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

extension PaymentService {
    // MARK: - Approval and confirmation

    /// Finishes the customer's approval with what the bank's redirect carried: the state is checked and consumed
    /// (committed) first, so a replay never reaches the bank. With `error` (the customer refused, RFC 6749
    /// §4.1.2.1) the payment ends `rejected`; with a code, the code is exchanged for the customer's token (PKCE
    /// verifier where the bank uses PKCE) and the payment confirmed (`o-confirmation`, or `confirmation` on STET 1.6).
    /// - Throws: `.notFound`; `.conflict` for a wrong, reused or expired state or a payment not awaiting approval;
    ///   `.upstream` when the bank refuses the code (the payment is then `rejected`). A lost confirmation answer
    ///   makes the payment `unknown` (resolved from the bank).
    func authorize(
        _ id: UUID, code: String?, error: String?, errorDescription: String?, state: String, caller: Caller
    ) async throws -> PaymentRecord {
        let presented = Digest.sha256(state)
        let claimed = try await store.modify(id) { [now] row in
            guard row.status == .authorizationRequired, !row.confirmed, let expected = row.stateHash else {
                throw GatewayError.conflict("this payment is \(row.status.apiName), not awaiting the customer's approval")
            }
            guard ConstantTime.equals(expected, presented) else {
                throw GatewayError.conflict("state does not match this payment")
            }
            row.stateHash = nil
            row.updatedAt = now()
            if let error {
                let reason = [AdapterError.sanitize(error), AdapterError.sanitize(errorDescription)].compactMap { $0 }
                row.status = .rejected
                row.statusDetail = "the customer did not approve the payment: " + reason.joined(separator: ": ")
                row.pkceVerifierSealed = nil
            }
        }
        if error != nil {
            caller.logger.info("payment refused by the customer", metadata: ["payment.id": id.uuidString.lowercased()])
            return claimed
        }
        guard let expiresAt = claimed.stateExpiresAt, expiresAt > now() else {
            _ = try await finish(id) { row in
                row.status = .rejected
                row.statusDetail = "the approval came back after the state expired"
            }
            throw GatewayError.conflict("state expired; create a new payment")
        }
        guard let registration = try await connections.store.registration(claimed.registrationID),
            let resourceID = claimed.bankResourceID
        else { throw GatewayError.conflict("the registration of this payment no longer exists") }
        let client = try await bankSide.clients.client(for: registration, bank: claimed.bankID)
        let adapter = try paymentAdapter(claimed.bankID)
        let context = bankSide.settings.adapterContext(for: caller)
        let verifier = try claimed.pkceVerifierSealed.map {
            try bankSide.vault.open($0, owner: PaymentRecord.sealOwner(id, "pkce_verifier"))
        }
        let customerToken: TokenSet
        do {
            customerToken = try await adapter.exchangeCode(
                CodeExchange(code: Secret(code ?? ""), redirectURI: claimed.redirectURI, codeVerifier: verifier),
                client: client, context: context)
        } catch {
            if !Self.isAmbiguous(error) {
                _ = try await finish(id) { row in
                    row.status = .rejected
                    row.statusDetail = "the bank refused the authorization code: \(Self.describe(error))"
                }
            }
            throw translateBankError(error, bank: claimed.bankID)
        }
        do {
            let bank = try await adapter.confirmPayment(
                resourceID: resourceID, token: customerToken.accessToken, client: client, context: context)
            let row = try await finish(id) { row in
                row.confirmed = true
                row.apply(bank, now: now())
            }
            caller.logger.info(
                "payment confirmed",
                metadata: ["payment.id": id.uuidString.lowercased(), "bank.status": bank.code])
            return row
        } catch {
            if Self.isAmbiguous(error) {
                return try await finish(id) { row in
                    row.confirmed = true
                    row.status = .unknown
                    row.statusDetail = "the bank's answer to the confirmation was lost (\(Self.describe(error)))"
                    row.nextCheckAt = now()
                }
            }
            _ = try await finish(id) { row in
                row.status = .rejected
                row.statusDetail = "the bank refused the confirmation: \(Self.describe(error))"
            }
            throw translateBankError(error, bank: claimed.bankID)
        }
    }

    /// Applies `change` to payment `id` under its row lock and stores it.
    func finish(_ id: UUID, _ change: @Sendable (inout PaymentRecord) -> Void) async throws -> PaymentRecord {
        try await store.modify(id) { [now] row in
            change(&row)
            row.pkceVerifierSealed = nil
            row.updatedAt = now()
        }
    }

    // MARK: - Cancellation

    /// Cancels a payment not yet executed with STET's `PUT` (`RJCT`, `DS02`), where the bank allows it: any
    /// payment before execution at Euro-Information, deferred payments only at BPCE (docs/protocol.md §5.6).
    /// - Throws: `.notFound`; `.conflict` when the payment is final, unknown, not at the bank, or the bank does not
    ///   cancel it; the bank's refusal (`.upstream`).
    func cancel(_ id: UUID, caller: Caller) async throws -> PaymentRecord {
        let record = try await get(id, logger: caller.logger)
        guard [.authorizationRequired, .pending, .accepted].contains(record.status), record.bankResourceID != nil
        else {
            throw GatewayError.conflict("a payment that is \(record.status.apiName) cannot be cancelled")
        }
        if record.bankID.provider == .bpce {
            let today = ParisTime.localTime(of: now()).date
            guard let date = record.order.requestedExecutionDate, date > today else {
                throw GatewayError.conflict(
                    "\(record.bankID) cancels only deferred payments (a requestedExecutionDate after today)")
            }
        }
        let resourceID = record.bankResourceID ?? ""
        let bank = try await bankStatus(record, logger: caller.logger) { adapter, token, client, context in
            try await adapter.cancelPayment(resourceID: resourceID, token: token, client: client, context: context)
        }
        let row = try await finish(id) { row in
            row.apply(bank, now: now())
            row.stateHash = nil
        }
        caller.logger.info(
            "payment cancelled", metadata: ["payment.id": id.uuidString.lowercased(), "bank.status": bank.code])
        return row
    }

    // MARK: - List

    /// One page of a customer's payments, newest first, after `cursor`.
    /// - Throws: `.refusedFields` for a cursor of another listing.
    func page(psuReference: String, cursor: String?, pageSize: Int) async throws
        -> (records: [PaymentRecord], nextCursor: String?)
    {
        let after = try PSUListing.position(cursor, psuReference: psuReference)
        let records = try await store.list(psuReference: psuReference, after: after, limit: pageSize + 1)
        let shown = Array(records.prefix(pageSize))
        let next = records.count > pageSize ? shown.last : nil
        return (shown, PSUListing.nextCursor(psuReference: psuReference, after: next.map { ($0.createdAt, $0.id) }))
    }
}
