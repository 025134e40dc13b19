import FoundationEssentials
import GatewayCore
import GatewayLogging

/// Maps STET wire bodies to the normalized domain models (docs/protocol.md §6), and domain requests to STET
/// bodies. Pure functions over bytes, so they are tested with the seeds' JSON.
///
/// Tolerance rules: unknown fields are ignored; amounts may be strings or numbers; remittance may be an array, an
/// object or a string; dates may be dates or date-times (the calendar day is kept as written); a date that cannot be
/// read is dropped rather than failing the page. A missing `resourceId` on an account or a missing amount fails with
/// `AdapterError.invalidResponse`, because the result would be unusable.
public enum STETMapping {
    // MARK: - Accounts

    /// `GET /accounts` body → accounts (with inline balances when present).
    /// - Throws: `AdapterError.invalidResponse` when the body is not an accounts list or an account lacks an id.
    /// The body is read once for both the accounts and the PSU name (`connectedPsu`, when present).
    public static func accounts(from body: [UInt8], lenient: Bool = false) throws -> AccountList {
        let response = try decode(STETAccountsResponse.self, body, "accounts", lenient: lenient)
        let accounts = try response.accounts.orEmpty.enumerated().map { index, resource in
            try account(resource, index: index)
        }
        return AccountList(accounts, connectedPSU: response.connectedPsu)
    }

    static func account(_ r: STETAccountResource, index: Int) throws -> Account {
        guard let id = r.resourceId?.trimmingWhitespace(), !id.isEmpty else {
            throw AdapterError.invalidResponse(reason: "accounts[\(index)] has no resourceId")
        }
        let iban = r.accountId?.iban.map { $0.removingSpaces() }.flatMap {
            $0.isEmpty ? nil : $0
        }
        let maskedPan = r.accountId?.other.flatMap { $0.schemeName.map { ASCII.equalsIgnoringCase($0, "MPAN") } == true ? $0.identification : nil }
        let balances = try r.balances.map { try $0.enumerated().map { try balance($1, index: $0) } }
        let currency = r.currency ?? r.accountId?.currency ?? balances?.first?.currency
        guard let currency else { throw AdapterError.invalidResponse(reason: "accounts[\(index)] has no currency") }
        return Account(
            id: id, iban: iban, maskedPan: maskedPan,
            name: r.name ?? r.details ?? r.product ?? id, currency: currency,
            cashAccountType: r.cashAccountType ?? "CACC",
            product: r.product, usage: r.usage, psuStatus: r.psuStatus, bicFi: r.bicFi, linkedAccount: r.linkedAccount,
            details: r.details, balances: balances)
    }

    // MARK: - Balances

    /// `GET /accounts/{id}/balances` body → balances.
    /// - Throws: `AdapterError.invalidResponse` for a body that is not a balances list.
    public static func balances(from body: [UInt8], lenient: Bool = false) throws -> [Balance] {
        try decode(STETBalancesResponse.self, body, "balances", lenient: lenient).balances.orEmpty.enumerated().map {
            try balance($1, index: $0)
        }
    }

    static func balance(_ r: STETBalanceResource, index: Int) throws -> Balance {
        Balance(
            type: Balance.Kind(stetCode: r.balanceType), bankType: r.balanceType, name: r.name,
            amount: r.balanceAmount.amount, currency: r.balanceAmount.currency,
            referenceDate: r.referenceDate.flatMap(CalendarDate.normalizing))
    }

    // MARK: - Transactions

    /// One transactions page → the transactions and the resolved `next` link (absolute, same API host).
    /// - Parameter apiRoot: The bank's API root, to resolve `_links.next` against its host.
    /// - Throws: `AdapterError.invalidResponse` for a body that is not a transactions list or a `next` link off host.
    public static func transactionsPage(from body: [UInt8], apiRoot: String, lenient: Bool = false) throws
        -> TransactionPage
    {
        let response = try decode(STETTransactionsResponse.self, body, "transactions", lenient: lenient)
        let transactions = response.transactions.orEmpty.map(transaction)
        let next = try response._links?["next"].map { try STETLinks.resolve($0, apiRoot: apiRoot) }
        return TransactionPage(transactions: transactions, nextPageURL: next)
    }

    static func transaction(_ r: STETTransactionResource) -> Transaction {
        let indicator = r.creditDebitIndicator?.uppercased()
        // The counterparty is the creditor of a debit and the debtor of a credit.
        let creditor = r.relatedParties?.creditor?.name ?? r.creditor?.name
        let debtor = r.relatedParties?.debtor?.name ?? r.debtor?.name
        return Transaction(
            id: r.resourceId, bankReference: r.entryReference,
            amount: r.transactionAmount.amount.signed(by: indicator), currency: r.transactionAmount.currency,
            status: Transaction.Status(stetCode: r.status),
            bookingDate: r.bookingDate.flatMap(CalendarDate.normalizing),
            valueDate: r.valueDate.flatMap(CalendarDate.normalizing),
            transactionDate: r.transactionDate.flatMap(CalendarDate.normalizing),
            expectedBookingDate: r.expectedBookingDate.flatMap(CalendarDate.normalizing),
            remittance: (r.remittanceInformation?.lines ?? []).map { $0.trimmingWhitespace() }.filter {
                !$0.isEmpty
            },
            counterparty: indicator == "CRDT" ? debtor : indicator == "DBIT" ? creditor : nil,
            bankStatus: r.status, creditDebitIndicator: r.creditDebitIndicator,
            bankTransactionCode: r.bankTransactionCode?.flattened)
    }

    // MARK: - Beneficiaries, identity, consents

    /// `GET /trusted-beneficiaries` body → beneficiaries (an empty body gives an empty list).
    /// - Throws: `AdapterError.invalidResponse` for a body that is not a beneficiaries list.
    public static func beneficiaries(from body: [UInt8], lenient: Bool = false) throws -> [Beneficiary] {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [] }
        return try decode(STETBeneficiariesResponse.self, body, "beneficiaries", lenient: lenient).beneficiaries.orEmpty.map { b in
            Beneficiary(
                id: b.id, name: b.creditor?.name, iban: b.creditorAccount?.iban, bicFi: b.creditorAgent?.bicFi,
                country: b.creditor?.postalAddress?.country, addressLines: b.creditor?.postalAddress?.addressLine,
                isTrusted: b.isTrusted)
        }
    }

    /// `GET /end-user-identity` body → identity.
    /// - Throws: `AdapterError.invalidResponse` when `connectedPsu` is missing.
    public static func identity(from body: [UInt8], lenient: Bool = false) throws -> Identity {
        guard let name = try decode(STETEndUserIdentity.self, body, "identity", lenient: lenient).connectedPsu, !name.isEmpty else {
            throw AdapterError.invalidResponse(reason: "identity has no connectedPsu")
        }
        return Identity(name: name)
    }

    /// The `PUT /consents` body for a consent request (IBANs trimmed of spaces).
    public static func consentsBody(_ consents: ConsentRequest) -> [UInt8] {
        let ids: ([String]) -> [STETAccountIdentification] = { ibans in
            ibans.map { STETAccountIdentification(iban: $0.removingSpaces()) }
        }
        let body = STETConsents(
            balances: ids(consents.balances), transactions: ids(consents.transactions),
            trustedBeneficiaries: consents.trustedBeneficiaries, psuIdentity: consents.identity)
        return (try? STETJSON.encode(body)) ?? Array("{}".utf8)
    }

    // MARK: - Tokens

    /// A token response (200 or 201) → tokens, with expiries from `expires_in` or the bank's defaults.
    /// - Parameters:
    ///   - receivedAt: When the response arrived (inject the clock).
    ///   - defaults: The bank's lifetimes, used when the response omits them.
    ///
    /// The refresh window (`refreshTokenSeconds`, BPCE 90 days) is counted from `receivedAt`; after a refresh, merge
    /// with the previous tokens (`TokenSet.merged(keepingRefreshOf:rotates:)`), which keeps the window of the SCA
    /// when the bank does not rotate refresh tokens.
    /// - Throws: `AdapterError.invalidResponse` for a body without `access_token` or with a non-bearer type.
    public static func tokens(
        from body: [UInt8], receivedAt: Date, defaults: BankProfile.TokenDefaults, lenient: Bool = false
    ) throws -> TokenSet {
        let response = try decode(OAuthTokenResponse.self, body, "token response", lenient: lenient)
        guard !response.access_token.isEmpty else { throw AdapterError.invalidResponse(reason: "empty access_token") }
        if let type = response.token_type, type.lowercased() != "bearer" {
            throw AdapterError.invalidResponse(reason: "token_type is not bearer")
        }
        let lifetime = response.expires_in.flatMap { $0 > 0 ? $0 : nil } ?? defaults.accessTokenSeconds
        let refresh = response.refresh_token.flatMap { $0.isEmpty ? nil : Secret($0) }
        let refreshExpiry =
            refresh != nil
            ? defaults.refreshTokenSeconds.map { receivedAt.addingTimeInterval(TimeInterval($0)) } : nil
        return TokenSet(
            accessToken: Secret(response.access_token), refreshToken: refresh,
            expiresAt: receivedAt.addingTimeInterval(TimeInterval(lifetime)), refreshExpiresAt: refreshExpiry,
            scope: response.scope)
    }

    // MARK: - Helpers

    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], _ what: String, lenient: Bool = false) throws
        -> T
    {
        try understood(what) { try STETJSON.decode(type, from: body, lenient: lenient) }
    }

    /// `decode` for the bodies read on every call, through their direct reader first (`NodeReadable`).
    static func decode<T: Decodable & NodeReadable>(
        _ type: T.Type, _ body: [UInt8], _ what: String, lenient: Bool = false
    ) throws -> T {
        try understood(what) { try STETJSON.decode(type, from: body, lenient: lenient) }
    }

    private static func understood<T>(_ what: String, _ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch {
            // The decoding error may quote body content: only say where it failed.
            throw AdapterError.invalidResponse(reason: "\(what) body not understood\(Self.location(of: error))")
        }
    }

    static func location(of error: any Error) -> String {
        guard let error = error as? DecodingError else { return "" }
        let path: [any CodingKey]
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(let key, let c): path = c.codingPath + [key]
        @unknown default: return ""
        }
        guard !path.isEmpty else { return "" }
        return " at " + path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
    }
}

extension Optional where Wrapped: RangeReplaceableCollection {
    var orEmpty: Wrapped { self ?? Wrapped() }
}
