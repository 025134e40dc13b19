import FoundationEssentials
import GatewayCore
import GatewayLogging
import JSONKit

/// The STET PISP and CBPII bodies (docs/protocol.md §2.7): the `PaymentRequestResource` we send (ISO 20022
/// pain.001 shape) and what we read back. Built as ordered `JSONNode`s so that the bytes sent (and digested) are
/// stable and testable.
enum STETPayments {
    /// `POST /payment-requests` body for `order`: one transaction, service level SEPA (`INST` when instant),
    /// `chargeBearer` SLEV (mandatory at BPCE, §5.6), category purpose `DVPM` (mandatory at Banques Populaires),
    /// the redirect approach and report URLs.
    static func requestBody(_ order: PaymentOrder) -> [UInt8] {
        var typeInformation: [(key: String, value: JSONNode)] = [("serviceLevel", "SEPA")]
        if order.instant { typeInformation.append(("localInstrument", "INST")) }
        typeInformation.append(("categoryPurpose", "DVPM"))
        var beneficiary: [(key: String, value: JSONNode)] = []
        if let bic = order.creditorBIC { beneficiary.append(("creditorAgent", .object([("bicFi", .string(bic))]))) }
        beneficiary.append(("creditor", .object([("name", .string(order.creditorName))])))
        beneficiary.append(("creditorAccount", .object([("iban", .string(order.creditorIBAN))])))
        var members: [(key: String, value: JSONNode)] = [
            ("paymentInformationId", .string(order.paymentInformationID)),
            ("creationDateTime", .string(timestamp(order.createdAt))),
            ("numberOfTransactions", .number("1")),
            ("initiatingParty", .object([("name", .string(order.initiatingParty))])),
            ("paymentTypeInformation", .object(typeInformation)),
        ]
        if let debtor = order.debtorIBAN { members.append(("debtorAccount", .object([("iban", .string(debtor))]))) }
        members.append(("beneficiary", .object(beneficiary)))
        members.append(("chargeBearer", "SLEV"))
        if let date = order.requestedExecutionDate {
            // STET writes ISODateTime; midnight Paris of the requested day.
            members.append(("requestedExecutionDate", .string(date.description + "T00:00:00.000+01:00")))
        }
        members.append((
            "creditTransferTransaction",
            .array([
                .object([
                    (
                        "paymentId",
                        .object([
                            ("instructionId", .string(order.instructionID)), ("endToEndId", .string(order.endToEndID)),
                        ])
                    ),
                    (
                        "instructedAmount",
                        .object([("currency", .string(order.currency)), ("amount", .string(order.amount.description))])
                    ),
                    ("remittanceInformation", .object([("unstructured", .array([.string(order.remittance)]))])),
                ])
            ])
        ))
        members.append((
            "supplementaryData",
            .object([
                ("acceptedAuthenticationApproach", ["REDIRECT"]),
                ("successfulReportUrl", .string(order.redirectURI)),
                ("unsuccessfulReportUrl", .string(order.redirectURI)),
            ])
        ))
        return JSONNode.object(members).bytes()
    }

    /// The creation answer: `Location` (its last segment is the resource id) and `_links.consentApproval.href`.
    /// - Throws: `AdapterError.invalidResponse` naming what is missing.
    static func submission(location: String?, body: [UInt8]) throws -> PaymentSubmission {
        guard let location, !location.isEmpty,
            let last = location.split(separator: "?").first?.split(separator: "/").last, !last.isEmpty
        else { throw AdapterError.invalidResponse(reason: "payment request: no Location header") }
        guard let href = (try? JSONParser.parse(body))?["_links"]?["consentApproval"]?["href"]?.stringValue, !href.isEmpty
        else { throw AdapterError.invalidResponse(reason: "payment request: no _links.consentApproval.href") }
        return PaymentSubmission(
            resourceID: PercentEncoding.decode(String(last)) ?? String(last), location: location, approvalURL: href)
    }

    /// `paymentInformationStatus` and `statusReasonInformation` of a `paymentRequest` (or of the top level).
    /// - Throws: `AdapterError.invalidResponse` without a status.
    static func status(from body: [UInt8]) throws -> PaymentBankStatus {
        let document = (try? JSONParser.parse(body))
        let request = document?["paymentRequest"] ?? document
        guard let code = request?["paymentInformationStatus"]?.stringValue, !code.isEmpty else {
            throw AdapterError.invalidResponse(reason: "payment request: no paymentInformationStatus")
        }
        return PaymentBankStatus(code: code, reason: request?["statusReasonInformation"]?.stringValue)
    }

    /// The cancellation body: STET cancels by setting `paymentInformationStatus` to `RJCT` with reason `DS02`.
    static let cancellationBody = JSONNode.object([
        ("paymentInformationStatus", "RJCT"), ("statusReasonInformation", "DS02"),
    ]).bytes()

    /// `PaymentCoverageRequestResource` (§2.7).
    static func fundsBody(_ question: FundsQuestion) -> [UInt8] {
        var members: [(key: String, value: JSONNode)] = [("paymentCoverageRequestId", .string(question.requestID))]
        if let payee = question.payee { members.append(("payee", .string(payee))) }
        members.append((
            "instructedAmount",
            .object([("currency", .string(question.currency)), ("amount", .string(question.amount.description))])
        ))
        members.append(("accountId", .object([("iban", .string(question.iban))])))
        return JSONNode.object(members).bytes()
    }

    /// `result` of a `HalPaymentCoverageReport`.
    static func fundsResult(from body: [UInt8]) throws -> Bool {
        guard case .bool(let result)? = (try? JSONParser.parse(body))?["result"] else {
            throw AdapterError.invalidResponse(reason: "funds confirmation: no boolean result")
        }
        return result
    }

    /// ISO 8601 with milliseconds and offset in UTC (`2026-03-20T10:15:30.000+00:00`), as STET writes date-times.
    static func timestamp(_ date: Date) -> String {
        let millisecondsSinceEpoch = Int((date.timeIntervalSince1970 * 1000).rounded(.down))
        return UTCTimestamp.withMilliseconds(millisecondsSinceEpoch: millisecondsSinceEpoch, offset: "+00:00")
    }
}
