import HTTPServerKit

/// PISP (payment requests, docs/protocol.md §2.7) and CBPII (funds confirmations, §2.7).
extension STETResources {
    func createPayment(_ call: Call) throws(SimulatorRejection) -> HTTPResponse {
        guard let doc = JSON.parse(call.request.body), doc.objectMembers != nil else {
            throw call.stet(400, "Bad Request", "payment request body is not a JSON object")
        }
        func require(_ ok: Bool, _ what: String) throws(SimulatorRejection) {
            if !ok { throw call.stet(400, "FORMAT", "payment request: \(what)") }
        }
        try require(doc["paymentInformationId"]?.stringValue != nil, "paymentInformationId is required")
        try require(doc["creationDateTime"]?.stringValue != nil, "creationDateTime is required")
        try require(doc["initiatingParty"]?["name"]?.stringValue != nil, "initiatingParty.name is required")
        try require(
            doc["paymentTypeInformation"]?["serviceLevel"]?.stringValue == "SEPA",
            "paymentTypeInformation.serviceLevel must be SEPA")
        try require(
            doc["beneficiary"]?["creditorAccount"]?["iban"]?.stringValue != nil,
            "beneficiary.creditorAccount.iban is required")
        try require(
            doc["beneficiary"]?["creditor"]?["name"]?.stringValue != nil, "beneficiary.creditor.name is required")
        let chargeBearer = doc["chargeBearer"]?.stringValue
        try require(chargeBearer != nil, "chargeBearer is required")
        guard let tx = doc["creditTransferTransaction"]?.arrayValue, tx.count == 1 else {
            throw call.stet(400, "FORMAT", "payment request: creditTransferTransaction must hold one transaction")
        }
        try require(tx[0]["paymentId"]?["endToEndId"]?.stringValue != nil, "paymentId.endToEndId is required")
        try require(
            tx[0]["instructedAmount"]?["currency"]?.stringValue == "EUR", "instructedAmount.currency must be EUR")
        guard let amountText = tx[0]["instructedAmount"]?["amount"]?.decimalText, let amount = Double(amountText),
            amount > 0
        else {
            throw call.stet(400, "FORMAT", "payment request: instructedAmount.amount must be a positive decimal")
        }
        let report = doc["supplementaryData"]?["successfulReportUrl"]?.stringValue
        if flavor.isBPCE {
            try require(chargeBearer == "SLEV", "chargeBearer must be SLEV")
            try require(
                doc["paymentTypeInformation"]?["categoryPurpose"]?.stringValue != nil,
                "paymentTypeInformation.categoryPurpose is required")
            try require(report != nil, "supplementaryData.successfulReportUrl is required")
        }
        if let report {
            let registered = flavor.client.settings.redirectURIs.contains { origin(of: $0) == origin(of: report) }
            try require(registered, "successfulReportUrl \(report) is not a registered redirect URI")
        }
        let id = "PR" + RandomToken.hex(14).uppercased()
        let record = PaymentRecord(
            id: id, bank: flavor.bank, clientID: flavor.client.clientID, request: doc, status: "ACTC")
        simulator.store.state.withLock { $0.payments[id] = record }
        let approval = flavor.consentApprovalBase + "?" + PercentEncoding.formEncode([("paymentRequestResourceId", id)])
        var response = hal(
            201,
            [
                ("appliedAuthenticationApproach", "REDIRECT"),
                ("_links", .object([("consentApproval", .object([("href", .string(approval))]))])),
            ])
        response.headers.set("Location", "\(flavor.apiRoot)/payment-requests/\(id)")
        return response
    }

    func payment(_ call: Call, id: String) throws(SimulatorRejection) -> PaymentRecord {
        guard let p = simulator.store.state.withLock({ $0.payments[id] }), p.bank == flavor.bank,
            p.clientID == flavor.client.clientID
        else {
            throw call.stet(404, "Not Found", "payment request \(id) unknown for this client")
        }
        return p
    }

    func paymentJSON(_ p: PaymentRecord) -> JSON {
        var members = (p.request.objectMembers ?? []).filter {
            !["paymentInformationStatus", "statusReasonInformation", "resourceId"].contains($0.0)
        }
        members.insert(("resourceId", .string(p.id)), at: 0)
        members.append(("paymentInformationStatus", .string(p.status)))
        if let r = p.statusReason { members.append(("statusReasonInformation", .string(r))) }
        if let d = p.debtorName { members.append(("debtor", .object([("name", .string(d))]))) }
        return .object([
            ("paymentRequest", .object(members)),
            ("_links", links([("self", "\(flavor.apiRoot)/payment-requests/\(p.id)")])),
        ])
    }

    func getPayment(_ call: Call, id: String) throws(SimulatorRejection) -> HTTPResponse {
        let p = try payment(call, id: id)
        return .json(200, paymentJSON(p).bytes, contentType: "application/hal+json; charset=utf-8")
    }

    /// STET cancels with `PUT` setting `paymentInformationStatus` to `RJCT` and reason `DS02`.
    func cancelPayment(_ call: Call, id: String) throws(SimulatorRejection) -> HTTPResponse {
        var p = try payment(call, id: id)
        guard let doc = JSON.parse(call.request.body), doc["paymentInformationStatus"]?.stringValue == "RJCT" else {
            throw call.stet(
                400, "FORMAT", "PUT payment-requests: only cancellation (paymentInformationStatus RJCT) is supported")
        }
        guard p.status != "ACSC", p.status != "RJCT" else {
            throw call.stet(400, "Bad Request", "payment \(id) is already \(p.status)")
        }
        p.status = "RJCT"
        p.statusReason = doc["statusReasonInformation"]?.stringValue ?? "DS02"
        let stored = p
        simulator.store.state.withLock { $0.payments[id] = stored }
        return .json(200, paymentJSON(p).bytes, contentType: "application/hal+json; charset=utf-8")
    }

    func confirmPayment(_ call: Call, id: String, grant: AccessGrant) throws(SimulatorRejection) -> HTTPResponse {
        var p = try payment(call, id: id)
        guard grant.paymentID == id else {
            throw call.stet(
                403, "Forbidden", "the access token was not obtained by the PSU's approval of payment \(id)")
        }
        guard p.status == "ACTC" else {
            throw call.stet(400, "Bad Request", "payment \(id) is \(p.status), not awaiting confirmation")
        }
        p.status = "ACSC"
        p.debtorName = grant.persona.flatMap(Persona.named)?.displayName
        let stored = p
        simulator.store.state.withLock { $0.payments[id] = stored }
        return .json(200, paymentJSON(p).bytes, contentType: "application/hal+json; charset=utf-8")
    }

    func fundsConfirmation(_ call: Call, grant: AccessGrant) throws(SimulatorRejection) -> HTTPResponse {
        guard let doc = JSON.parse(call.request.body), doc.objectMembers != nil else {
            throw call.stet(400, "Bad Request", "funds confirmation body is not a JSON object")
        }
        guard let iban = doc["accountId"]?["iban"]?.stringValue?.trimmingSpaces else {
            throw call.stet(400, "FORMAT", "accountId.iban is required")
        }
        guard let amountText = doc["instructedAmount"]?["amount"]?.decimalText, let amount = Double(amountText),
            doc["instructedAmount"]?["currency"]?.stringValue != nil
        else { throw call.stet(400, "FORMAT", "instructedAmount {currency, amount} is required") }
        let personas = grant.persona.flatMap(Persona.named).map { [$0] } ?? Persona.all
        guard let account = personas.flatMap(\.accounts).first(where: { $0.iban == iban }) else {
            throw call.stet(404, "NAAC", "accountId is not an account the token gives access to")
        }
        let result = amount <= (Double(account.bookedBalance) ?? 0)
        return hal(
            200,
            [
                ("request", doc), ("result", .bool(result)),
                ("_links", links([("self", flavor.apiRoot + "/funds-confirmations")])),
            ])
    }
}
