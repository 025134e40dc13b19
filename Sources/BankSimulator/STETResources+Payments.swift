import GatewayLogging
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
        guard let endToEndId = tx[0]["paymentId"]?["endToEndId"]?.stringValue, (1...35).contains(endToEndId.count)
        else { throw call.stet(400, "FORMAT", "payment request: paymentId.endToEndId (1 to 35 characters) is required") }
        let informationId = doc["paymentInformationId"]?.stringValue ?? ""
        try require((1...35).contains(informationId.count), "paymentInformationId must have 1 to 35 characters")
        try require(
            doc["numberOfTransactions"]?.decimalText.flatMap(Double.init) == 1, "numberOfTransactions must be 1")
        try require(
            tx[0]["paymentId"]?["instructionId"]?.stringValue.map { (1...35).contains($0.count) } ?? true,
            "paymentId.instructionId must have 1 to 35 characters")
        // Only the redirect approach is served: a list of accepted approaches must offer it.
        if let approaches = doc["supplementaryData"]?["acceptedAuthenticationApproach"] {
            try require(
                approaches.arrayValue?.contains { $0.stringValue == "REDIRECT" } == true,
                "supplementaryData.acceptedAuthenticationApproach must include REDIRECT")
        }
        if let instrument = doc["paymentTypeInformation"]?["localInstrument"]?.stringValue {
            try require(instrument == "INST", "paymentTypeInformation.localInstrument must be INST when given")
        }
        if let iban = doc["beneficiary"]?["creditorAccount"]?["iban"]?.stringValue {
            try require(Self.isValidIBAN(iban), "beneficiary.creditorAccount.iban is not a valid IBAN")
        }
        if let iban = doc["debtorAccount"]?["iban"]?.stringValue {
            try require(Self.isValidIBAN(iban), "debtorAccount.iban is not a valid IBAN")
        }
        try require(
            tx[0]["instructedAmount"]?["currency"]?.stringValue == "EUR", "instructedAmount.currency must be EUR")
        // STET amounts are decimal strings (ISO 20022 `ActiveOrHistoricCurrencyAndAmount`, at most 2 decimals in EUR).
        guard let amountText = tx[0]["instructedAmount"]?["amount"]?.stringValue,
            Self.isEuroAmount(amountText), let amount = Double(amountText), amount > 0
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
        simulator.store.state.withLock {
            $0.payments[id] = record
            $0.counters.paymentsByInformationId[informationId, default: 0] += 1
            $0.counters.paymentsByEndToEndId[endToEndId, default: 0] += 1
        }
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

    /// A read after the confirmation finds the payment executed (`PDNG`/`ACSP` → `ACSC`): statuses advance one
    /// step per read, never by wall-clock time, so tests can follow them.
    func getPayment(_ call: Call, id: String) throws(SimulatorRejection) -> HTTPResponse {
        var p = try payment(call, id: id)
        if p.confirmed, p.status == "PDNG" || p.status == "ACSP" {
            p.status = "ACSC"
            let stored = p
            simulator.store.state.withLock { $0.payments[id] = stored }
        }
        return .json(200, paymentJSON(p).bytes, contentType: "application/hal+json; charset=utf-8")
    }

    /// STET cancels with `PUT` setting `paymentInformationStatus` to `RJCT` and reason `DS02`.
    func cancelPayment(_ call: Call, id: String) throws(SimulatorRejection) -> HTTPResponse {
        var p = try payment(call, id: id)
        guard let doc = JSON.parse(call.request.body), doc["paymentInformationStatus"]?.stringValue == "RJCT" else {
            throw call.stet(
                400, "FORMAT", "PUT payment-requests: only cancellation (paymentInformationStatus RJCT) is supported")
        }
        guard p.status != "ACSC", p.status != "RJCT", p.status != "CANC" else {
            throw call.stet(400, "Bad Request", "payment \(id) is already \(p.status)")
        }
        // BPCE: `PUT /payment-requests/{id}` only for deferred payments (docs/protocol.md §5.6).
        if flavor.isBPCE {
            let date = p.request["requestedExecutionDate"]?.stringValue.flatMap { ParisCalendar.parseDate(String($0.prefix(10))) }
            guard let date, ParisCalendar.parisLocal(call.now).date < date else {
                throw call.stet(400, "Bad Request", "only a deferred payment can be cancelled")
            }
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
        // Pending validation by the bank: `PDNG` at Euro-Information, settlement in progress at BPCE (§4.7, §5.6).
        p.status = flavor.isBPCE ? "ACSP" : "PDNG"
        p.confirmed = true
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

    /// ISO 13616 mod-97 (the simulator's own copy, as referee).
    static func isValidIBAN(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (15...34).contains(bytes.count), bytes.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) })
        else { return false }
        var remainder = 0
        for b in bytes[4...] + bytes[..<4] {
            remainder = b <= 57 ? (remainder * 10 + Int(b - 48)) % 97 : (remainder * 100 + Int(b - 55)) % 97
        }
        return remainder == 1
    }

    /// Digits, an optional point and at most two decimals.
    static func isEuroAmount(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, (1...12).contains(whole.count),
            whole.allSatisfy(\.isNumber)
        else { return false }
        return parts.count == 1 || ((1...2).contains(parts[1].count) && parts[1].allSatisfy(\.isNumber))
    }
}
