import FoundationEssentials
import GatewayCore
import GatewayLogging
import OpenSSLKit

/// Account information in one normalized shape for both bank families (openapi/passerelle.yaml): accounts with
/// stable ids, balances, transactions page by page, consents, trusted beneficiaries and identity. Each read gets a
/// valid access token from `TokenKeeper`, forwards the caller's PSU headers, and — when the customer is not
/// present — passes the unattended budget first.
public struct AccountInformationService: Sendable {
    /// `ConnectionStore` (PostgreSQL), or an in-memory repository in tests: the one `tokens` uses.
    let store: any AccountInformationRepository
    /// Hands each read a valid access token; its bank side (clients, adapters, settings, clock) is the reads' too.
    let tokens: TokenKeeper
    /// The keeper's bank side.
    var bankSide: BankSide { tokens.bankSide }
    /// The unattended budget over `store`'s ledger.
    var budget: UnattendedBudget { UnattendedBudget(store: store, settings: bankSide.settings, now: bankSide.now) }

    // MARK: - Reads

    /// The customer's accounts, with the connection's stable ids in `id` and `linkedAccount`.
    func accounts(connectionID: UUID, caller: Caller) async throws -> [Account] {
        let accounts: AccountList = try await read(connectionID, accountKey: nil, .accounts, caller: caller) {
            adapter, token, client, context, _ in
            do {
                return try await adapter.accounts(accessToken: token, client: client, context: context)
            } catch AdapterError.noAccounts {
                return []
            }
        }
        if let name = accounts.connectedPSU, try await store.find(connectionID)?.connectedPSU != name {
            try await store.setConnectedPSU(connectionID, name)
        }
        let keys = accounts.map { account in
            (key: Self.accountKey(account), resourceID: account.id)
        }
        let ids = try await store.accountIDs(connectionID: connectionID, accounts: keys, now: bankSide.now())
        var byResource: [String: String] = [:]
        for (account, id) in zip(accounts, ids) { byResource[account.id] = id }
        return zip(accounts, ids).map { account, id in
            var mapped = account
            mapped.id = id
            // A card's linkedAccount names the cash account's resourceId; map it too, drop it if unknown.
            mapped.linkedAccount = account.linkedAccount.flatMap { byResource[$0] }
            return mapped
        }
    }

    /// The balances of account `accountID`.
    func balances(connectionID: UUID, accountID: String, caller: Caller) async throws -> [Balance] {
        let account = try await bankAccount(connectionID, accountID)
        return try await read(connectionID, accountKey: account.key, .balances, caller: caller) {
            adapter, token, client, context, _ in
            do {
                return try await adapter.balances(
                    accountID: account.resourceID, accessToken: token, client: client, context: context)
            } catch AdapterError.noAccounts {
                return try Self.nothingOrConsentRequired(
                    client, empty: [], missing: "this account's IBAN in balances")
            }
        }
    }

    /// Where a transactions listing continues: the bank's next page for one account of one connection.
    struct TransactionCursor: Codable, Sendable {
        var c: String
        var a: String
        var u: String
    }

    /// One page of transactions: follows the bank's pages up to the configured cap — and, without the customer
    /// present, only as many as the unattended budget allows (each page is a bank request) — and returns a cursor
    /// while more remain.
    /// - Throws: `.validation` for a cursor of another connection or account.
    func transactions(
        connectionID: UUID, accountID: String, from: CalendarDate?, to: CalendarDate?, cursor: String?,
        caller: Caller
    ) async throws -> (transactions: [Transaction], nextCursor: String?) {
        var request = TransactionPageRequest.first(from: from, to: to)
        if let cursor {
            let state = try OpaqueCursor.decode(TransactionCursor.self, from: cursor)
            guard state.c == connectionID.uuidString.lowercased(), state.a == accountID else {
                throw GatewayError.refusedFields([
                    FieldIssue(field: "cursor", message: "belongs to another connection or account")
                ])
            }
            request = .next(url: state.u)
        }
        let account = try await bankAccount(connectionID, accountID)
        let cap = bankSide.settings.transactionPagesPerCall
        return try await read(connectionID, accountKey: account.key, .transactions, caller: caller) {
            adapter, token, client, context, meter in
            var collected: [Transaction] = []
            var seen: Set<String> = []
            if case .next(let url) = request { seen.insert(url) }
            var next: TransactionPageRequest? = request
            var pages = 0
            while let page = next, pages < cap {
                if pages > 0 {
                    // The next page is another request: what the budget does not allow is left to the cursor.
                    do { try await meter.charge() } catch GatewayError.budgetExhausted { break }
                }
                let result: TransactionPage
                do {
                    result = try await adapter.transactions(
                        accountID: account.resourceID, page: page, accessToken: token, client: client, context: context)
                } catch AdapterError.noAccounts {
                    collected += try Self.nothingOrConsentRequired(
                        client, empty: [], missing: "this account's IBAN in transactions")
                    break
                }
                pages += 1
                collected += result.transactions
                // Follow `next` verbatim; a link seen before (a loop) ends the listing (docs/protocol.md §2.6).
                if let url = result.nextPageURL, seen.insert(url).inserted { next = .next(url: url) } else { next = nil }
            }
            var cursorOut: String?
            if case .next(let url)? = next {
                cursorOut = OpaqueCursor.encode(
                    TransactionCursor(c: connectionID.uuidString.lowercased(), a: accountID, u: url))
            }
            return (collected, cursorOut)
        }
    }

    /// The customer's trusted beneficiaries (204/404 → empty; banks without the resource → 501).
    func trustedBeneficiaries(connectionID: UUID, caller: Caller) async throws -> [Beneficiary] {
        try await read(
            connectionID, accountKey: nil, .trustedBeneficiaries, caller: caller,
            requires: { ($0.supportsTrustedBeneficiaries, "trusted beneficiaries") }
        ) { adapter, token, client, context, _ in
            do {
                return try await adapter.trustedBeneficiaries(accessToken: token, client: client, context: context)
            } catch AdapterError.noAccounts {
                return try Self.nothingOrConsentRequired(client, empty: [], missing: "trustedBeneficiaries: true")
            }
        }
    }

    /// The connected customer's identity.
    func identity(connectionID: UUID, caller: Caller) async throws -> Identity {
        try await read(
            connectionID, accountKey: nil, .identity, caller: caller, requires: { ($0.supportsIdentity, "identity") }
        ) { adapter, token, client, context, _ in
            do {
                return try await adapter.identity(accessToken: token, client: client, context: context)
            } catch AdapterError.noAccounts where client.bank.requiresPutConsents {
                return try Self.nothingOrConsentRequired(client, empty: Identity(name: ""), missing: "identity: true")
            }
        }
    }

    /// What `NAAC` means on a resource other than the accounts list: at a bank that requires `PUT /consents`
    /// (BPCE), that the customer's consent for it is missing — a 409 naming what to put (it used to be taken for
    /// "no data" and answered with an empty list); elsewhere, that the bank has nothing to show.
    static func nothingOrConsentRequired<T>(_ client: BankClient, empty: T, missing: String) throws -> T {
        guard client.bank.requiresPutConsents else { return empty }
        throw GatewayError.consentRequired(
            bank: client.bank.id, detail: "call PUT /v1/connections/{connectionId}/consents with \(missing)")
    }

    /// Forwards the customer's consent (BPCE `PUT /consents`); a no-op where the bank has no such call.
    func putConsents(connectionID: UUID, consents: ConsentRequest, caller: Caller) async throws {
        let connection = try await activeConnection(connectionID)
        try await store.markUsed(connection, now: bankSide.now())
        let client = try await bankSide.clients.client(for: connection, in: store)
        guard client.bank.supportsPutConsents else { return }
        let adapter = try bankSide.adapters.adapter(for: connection.bankID)
        let context = bankSide.settings.adapterContext(for: caller)
        try await tokens.withAccessToken(connection, client: client, context: context) { token in
            try await adapter.putConsents(consents, accessToken: token, client: client, context: context)
        }
        try await store.setConsents(connectionID, consents)
    }

    // MARK: - Shared read path

    /// Charges bank requests of one read against the unattended budget; charges nothing when the customer is
    /// present.
    struct RequestMeter: Sendable {
        let budget: UnattendedBudget
        let key: UnattendedKey?

        /// Counts one more bank request.
        /// - Throws: `GatewayError.budgetExhausted` when the budget allows no more.
        func charge() async throws {
            if let key { try await budget.consume(key) }
        }
    }

    /// Loads the active connection, charges the unattended budget when the customer is absent, then runs `body`
    /// with a valid token (refreshed once on a bank 401), translating bank errors. The meter is charged for
    /// `body`'s first request before any bank is called, and again when `body` runs again after a refresh (that is
    /// another request at the bank); `body` charges it for any further request it makes (transactions pages). A
    /// feature the catalog says the bank lacks (`requires`) is refused with 501 before anything is counted or
    /// called.
    private func read<T: Sendable>(
        _ connectionID: UUID, accountKey: String?, _ resource: UnattendedBudget.Resource, caller: Caller,
        requires: ((BankProfile) -> (Bool, String))? = nil,
        _ body: (any BankAdapter, Secret<String>, BankClient, AdapterContext, RequestMeter) async throws -> T
    ) async throws -> T {
        let connection = try await activeConnection(connectionID)
        try await store.markUsed(connection, now: bankSide.now())
        let client = try await bankSide.clients.client(for: connection, in: store)
        if let (supported, feature) = requires?(client.bank), !supported {
            throw GatewayError.unsupportedByBank(bank: connection.bankID, feature: feature)
        }
        let adapter = try bankSide.adapters.adapter(for: connection.bankID)
        let meter = RequestMeter(
            budget: budget,
            key: caller.psu.isAttended
                ? nil
                : UnattendedKey(
                    bank: connection.bankID, psuReference: connection.psuReference, accountKey: accountKey ?? "",
                    resource: resource.rawValue))
        try await meter.charge()
        let context = bankSide.settings.adapterContext(for: caller)
        var runs = 0
        return try await tokens.withAccessToken(connection, client: client, context: context) { token in
            runs += 1
            if runs > 1 { try await meter.charge() }
            return try await body(adapter, token, client, context, meter)
        }
    }

    private func activeConnection(_ id: UUID) async throws -> ConnectionRecord {
        guard let connection = try await store.find(id) else {
            throw GatewayError.notFound(resource: "connection", id: id.uuidString.lowercased())
        }
        try TokenKeeper.requireActive(connection)
        return connection
    }

    private func bankAccount(_ connectionID: UUID, _ accountID: String) async throws
        -> (key: String, resourceID: String)
    {
        guard let account = try await store.bankAccount(connectionID: connectionID, accountID: accountID) else {
            // Unknown to this connection (or accounts never listed): the same answer as a missing connection.
            if try await store.find(connectionID) == nil {
                throw GatewayError.notFound(resource: "connection", id: connectionID.uuidString.lowercased())
            }
            throw GatewayError.notFound(resource: "account", id: accountID)
        }
        return account
    }

    /// The stable identification an account id is derived from: IBAN, else masked PAN, else the bank's resourceId;
    /// hashed so no IBAN is stored in clear in `connection_accounts`.
    static func accountKey(_ account: Account) -> String {
        let basis: String
        if let iban = account.iban, !iban.isEmpty {
            basis = "iban:" + iban.removingSpaces().uppercased()
        } else if let pan = account.maskedPan, !pan.isEmpty {
            basis = "pan:\(pan)|\(account.cashAccountType)|\(account.name)"
        } else {
            basis = "rid:" + account.id
        }
        return Hex.encode(Digest.sha256(basis))
    }
}
