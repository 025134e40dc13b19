import FoundationEssentials
import GatewayCore

/// `{value, currency}`: a decimal string, never a binary floating-point number.
struct AmountBody: Codable, Sendable {
    var value: String
    var currency: String
}

/// `{iban}`.
struct AccountBody: Codable, Sendable {
    var iban: String
}

/// `{name, iban, bic}`: the payee of a payment, asked for and shown the same.
struct CreditorBody: Codable, Sendable {
    var name: String
    var iban: String
    var bic: String?
}

/// `POST /v1/payments` body (openapi `PaymentCreate`).
struct PaymentCreateBody: ValidatedBody {
    var bank: String
    var registrationId: String?
    var psuReference: String
    var debtorAccount: AccountBody?
    var creditor: CreditorBody
    var amount: AmountBody
    var remittance: String
    var endToEndId: String?
    var requestedExecutionDate: String?
    var instant: Bool?
    var redirectUri: String

    func validate(into rules: inout FieldRules) {
        rules.matches(bank, "bank", .bankId)
        rules.uuid(registrationId, "registrationId")
        rules.text(psuReference, "psuReference", length: 1...200)
        rules.iban(debtorAccount?.iban, "debtorAccount.iban")
        rules.matches(creditor.name, "creditor.name", .sepaText, maxLength: 70)
        rules.iban(creditor.iban, "creditor.iban")
        rules.matches(creditor.bic, "creditor.bic", .bic)
        Self.validate(amount, into: &rules)
        rules.matches(remittance, "remittance", .sepaText, maxLength: 140)
        rules.matches(endToEndId, "endToEndId", .sepaIdentifier)
        if let date = requestedExecutionDate, CalendarDate(date) == nil {
            rules.fail("requestedExecutionDate", "expected a date YYYY-MM-DD")
        }
        rules.matches(redirectUri, "redirectUri", .redirectURI, maxLength: 2048)
        if instant == true, requestedExecutionDate != nil {
            rules.refuse("instant", "an instant payment cannot have a requestedExecutionDate")
        }
    }

    /// A positive EUR amount with at most two fraction digits (SEPA credit transfers are in euros).
    static func validate(_ amount: AmountBody, into rules: inout FieldRules, field: String = "amount") {
        rules.matches(amount.value, field + ".value", .amount)
        rules.oneOf(amount.currency, field + ".currency", ["EUR"])
        if InputPattern.amount.matches(amount.value), let parsed = DecimalAmount(amount.value),
            parsed <= DecimalAmount.zero
        {
            rules.refuse(field + ".value", "must be greater than zero")
        }
    }

    /// The request for the service; `validate` has run.
    func validated() throws -> PaymentService.CreateRequest {
        guard let bankID = BankID(bank), let value = DecimalAmount(amount.value) else {
            throw GatewayError.validation([FieldIssue(field: "bank", message: InputPattern.bankId.hint)])
        }
        return PaymentService.CreateRequest(
            bank: bankID, registrationID: registrationId.flatMap(UUID.init(uuidString:)), psuReference: psuReference,
            debtorIBAN: debtorAccount?.iban, creditorName: creditor.name, creditorIBAN: creditor.iban,
            creditorBIC: creditor.bic, amount: value, currency: amount.currency, remittance: remittance,
            endToEndID: endToEndId, requestedExecutionDate: requestedExecutionDate.flatMap(CalendarDate.init),
            instant: instant ?? false, redirectURI: redirectUri)
    }
}

/// `POST /v1/funds-confirmations` body.
struct FundsConfirmationBody: ValidatedBody {
    var connectionId: String?
    var registrationId: String?
    var bank: String?
    var account: AccountBody
    var amount: AmountBody
    var payee: String?

    func validate(into rules: inout FieldRules) {
        if (connectionId == nil) == (registrationId == nil) {
            rules.fail("connectionId", "give exactly one of connectionId and registrationId")
        }
        rules.uuid(connectionId, "connectionId")
        rules.uuid(registrationId, "registrationId")
        rules.matches(bank, "bank", .bankId)
        if bank != nil, connectionId != nil { rules.fail("bank", "only with registrationId") }
        rules.iban(account.iban, "account.iban")
        PaymentCreateBody.validate(amount, into: &rules)
        rules.matches(payee, "payee", .sepaText, maxLength: 70)
    }

    /// The request for the service; `validate` has run, so exactly one of the ids parses.
    func validated() throws -> PaymentService.FundsRequest {
        guard let value = DecimalAmount(amount.value) else {
            throw GatewayError.validation([FieldIssue(field: "amount.value", message: InputPattern.amount.hint)])
        }
        let via: PaymentService.FundsRequest.Via
        if let id = connectionId.flatMap(UUID.init(uuidString:)) {
            via = .connection(id)
        } else if let id = registrationId.flatMap(UUID.init(uuidString:)) {
            via = .registration(id, bank: bank.flatMap(BankID.init))
        } else {
            throw GatewayError.validation([FieldIssue(field: "connectionId", message: InputPattern.uuid.hint)])
        }
        return PaymentService.FundsRequest(
            via: via, iban: account.iban, amount: value, currency: amount.currency, payee: payee)
    }
}

/// The `Payment` schema: normalized status with the bank's ISO 20022 code beside it; `authorizationUrl` only in
/// the creation answer (its state is stored as a hash).
struct PaymentView: Encodable {
    var record: PaymentRecord
    var authorizationURL: String?

    init(_ record: PaymentRecord, authorizationURL: String? = nil) {
        self.record = record
        self.authorizationURL = authorizationURL
    }

    enum CodingKeys: String, CodingKey {
        case id, bank, registrationId, psuReference, status, bankStatus, bankStatusReason, statusDetail
        case authorizationUrl, amount, creditor, debtorAccount, remittance, instant, requestedExecutionDate
        case paymentInformationId, endToEndId, createdAt, updatedAt
    }

    func encode(to encoder: any Encoder) throws {
        let order = record.order
        var json = encoder.container(keyedBy: CodingKeys.self)
        try json.encode(record.id.uuidString.lowercased(), forKey: .id)
        try json.encode(record.bankID, forKey: .bank)
        try json.encode(record.registrationID.uuidString.lowercased(), forKey: .registrationId)
        try json.encode(record.psuReference, forKey: .psuReference)
        try json.encode(record.status.apiName, forKey: .status)
        try json.encodeIfPresent(record.bankStatus, forKey: .bankStatus)
        try json.encodeIfPresent(record.bankStatusReason, forKey: .bankStatusReason)
        try json.encodeIfPresent(record.statusDetail, forKey: .statusDetail)
        try json.encodeIfPresent(authorizationURL, forKey: .authorizationUrl)
        try json.encode(AmountBody(value: order.amount.description, currency: order.currency), forKey: .amount)
        try json.encode(
            CreditorBody(name: order.creditorName, iban: order.creditorIBAN, bic: order.creditorBIC), forKey: .creditor)
        try json.encodeIfPresent(order.debtorIBAN.map(AccountBody.init), forKey: .debtorAccount)
        try json.encode(order.remittance, forKey: .remittance)
        try json.encode(order.instant, forKey: .instant)
        try json.encodeIfPresent(order.requestedExecutionDate?.description, forKey: .requestedExecutionDate)
        try json.encode(order.paymentInformationID, forKey: .paymentInformationId)
        try json.encode(order.endToEndID, forKey: .endToEndId)
        try json.encode(record.createdAt, forKey: .createdAt)
        try json.encode(record.updatedAt, forKey: .updatedAt)
    }
}

/// `GET /v1/payments?psuReference=` answer.
struct PaymentListView: Encodable {
    var payments: [PaymentView]
    var nextCursor: String?
}
