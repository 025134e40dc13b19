import FoundationEssentials
import GatewayLogging

/// One SEPA credit transfer as Passerelle sends it to a bank (docs/payments.md): the identifiers are generated and
/// committed by the service before the bank is called, so a payment whose outcome is unknown can be recognised at
/// the bank and is never sent twice.
public struct PaymentOrder: Sendable, Hashable {
    /// ISO 20022 `PmtInfId` (at most 35 characters), unique per payment.
    public var paymentInformationID: String
    /// ISO 20022 `InstrId` (at most 35 characters), unique per payment.
    public var instructionID: String
    /// ISO 20022 `EndToEndId` (at most 35 characters), unique per payment.
    public var endToEndID: String
    /// `creationDateTime`, fixed when the row is committed.
    public var createdAt: Date
    /// The TPP's name (`initiatingParty.name`).
    public var initiatingParty: String
    /// The customer's account when known beforehand (else the customer picks it at the bank).
    public var debtorIBAN: String?
    public var creditorName: String
    public var creditorIBAN: String
    public var creditorBIC: String?
    /// A positive decimal amount with two fraction digits at most.
    public var amount: DecimalAmount
    public var currency: String
    /// `remittanceInformation.unstructured`.
    public var remittance: String
    public var requestedExecutionDate: CalendarDate?
    /// SEPA Instant (`localInstrument: INST`).
    public var instant: Bool
    /// `supplementaryData.successfulReportUrl` / `unsuccessfulReportUrl`: where the bank sends the customer back.
    public var redirectURI: String

    /// Memberwise initializer.
    public init(
        paymentInformationID: String, instructionID: String, endToEndID: String, createdAt: Date,
        initiatingParty: String, debtorIBAN: String?, creditorName: String, creditorIBAN: String,
        creditorBIC: String?, amount: DecimalAmount, currency: String, remittance: String,
        requestedExecutionDate: CalendarDate?, instant: Bool, redirectURI: String
    ) {
        self.paymentInformationID = paymentInformationID
        self.instructionID = instructionID
        self.endToEndID = endToEndID
        self.createdAt = createdAt
        self.initiatingParty = initiatingParty
        self.debtorIBAN = debtorIBAN
        self.creditorName = creditorName
        self.creditorIBAN = creditorIBAN
        self.creditorBIC = creditorBIC
        self.amount = amount
        self.currency = currency
        self.remittance = remittance
        self.requestedExecutionDate = requestedExecutionDate
        self.instant = instant
        self.redirectURI = redirectURI
    }
}

/// What the bank answered to `POST /payment-requests` (docs/protocol.md §2.7): the resource and where the customer
/// approves it.
public struct PaymentSubmission: Sendable, Hashable {
    /// The bank's `paymentRequestResourceId` (last segment of `Location`).
    public var resourceID: String
    /// `Location` as received.
    public var location: String
    /// `_links.consentApproval.href`.
    public var approvalURL: String

    /// Memberwise initializer.
    public init(resourceID: String, location: String, approvalURL: String) {
        self.resourceID = resourceID
        self.location = location
        self.approvalURL = approvalURL
    }
}

/// A payment's status as the bank reports it: ISO 20022 `paymentInformationStatus` and reason.
public struct PaymentBankStatus: Sendable, Hashable {
    /// `RCVD`, `PDNG`, `ACTC`, `ACCP`, `ACSP`, `ACSC`, `ACWC`, `ACWP`, `PART`, `RJCT`, `CANC`.
    public var code: String
    /// `statusReasonInformation` (`DS02` cancelled by the initiator, `AM04` insufficient funds…).
    public var reason: String?

    /// Memberwise initializer.
    public init(code: String, reason: String? = nil) {
        self.code = code
        self.reason = reason
    }
}

/// A CBPII question (docs/protocol.md §2.7): may this account be debited this amount?
public struct FundsQuestion: Sendable, Hashable {
    /// `paymentCoverageRequestId`, generated per question.
    public var requestID: String
    public var iban: String
    public var amount: DecimalAmount
    public var currency: String
    /// `payee`, when given.
    public var payee: String?

    /// Memberwise initializer.
    public init(requestID: String, iban: String, amount: DecimalAmount, currency: String, payee: String?) {
        self.requestID = requestID
        self.iban = iban
        self.amount = amount
        self.currency = currency
        self.payee = payee
    }
}

/// The payment side of a bank adapter (PISP and CBPII, docs/protocol.md §2.7). Separate from `BankAdapter`
/// so that test doubles of the account-information side need not implement it; a bank adapter without it answers
/// 501 through the service.
///
/// Errors as for `BankAdapter`; what matters here is the difference between a definite refusal (`.rejected`,
/// `.unauthorized`, `.notImplemented`, `.rateLimited`, `.tokenExpired`: the bank did not act) and an ambiguous
/// outcome (`.timeout`, `.transport`, `.unavailable`, `.invalidResponse`: the bank may have acted).
public protocol PaymentAdapter: BankAdapter {
    /// A `client_credentials` token for `scope` (`pisp`, `cbpii`), never signed.
    func clientCredentialsToken(scope: String, client: BankClient, context: AdapterContext) async throws -> TokenSet

    /// `POST /payment-requests`, signed with `Digest`; answers the resource and its approval URL.
    func submitPayment(_ order: PaymentOrder, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentSubmission

    /// The URL sending the customer to approve the payment: the bank's `consentApproval` href with the OAuth
    /// parameters (`client_id`, `redirect_uri`, `scope=pisp`, `state`, PKCE where supported). Pure.
    func paymentApprovalURL(_ approvalURL: String, _ request: AuthorizationRequest, client: BankClient) throws -> String

    /// `GET /payment-requests/{id}`.
    func paymentStatus(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus

    /// `POST /payment-requests/{id}/o-confirmation` (STET 1.4; `confirmation` where the profile says 1.6) with the
    /// customer's authorization-code token and `{}`.
    func confirmPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus

    /// `PUT /payment-requests/{id}` with `paymentInformationStatus: RJCT`, reason `DS02`.
    func cancelPayment(resourceID: String, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> PaymentBankStatus

    /// `POST /funds-confirmations`: the bank's `result`.
    func confirmFunds(_ question: FundsQuestion, token: Secret<String>, client: BankClient, context: AdapterContext)
        async throws -> Bool
}
