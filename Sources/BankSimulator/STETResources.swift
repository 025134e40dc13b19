import GatewayLogging
import HTTPServerKit

/// How one family renders and guards the shared STET resources.
struct STETFlavor: Sendable {
    enum Family: Sendable { case euroInformation, bpce }
    var family: Family
    var bank: String
    /// Path of the API root used in `_links`, e.g. `/sandbox/cic/stet-psd2-api/v2.1` or `/stet/psd2/v1`.
    var apiRoot: String
    /// The signer's client.
    var client: SimulatedClient
    /// Where `consentApproval` of a payment request sends the PSU.
    var consentApprovalBase: String

    var isBPCE: Bool { family == .bpce }
    var bicFi: String { isBPCE ? "CCBPFRPPNAN" : "CMCIFRPP" }
}

/// STET 1.4.2 AISP / PISP / CBPII resources (docs/protocol.md §2.4–§2.7).
struct STETResources {
    let simulator: BankSimulator
    let flavor: STETFlavor
    var configuration: SimulatorConfiguration { simulator.configuration }

    func handle(_ call: Call, rest: [String]) throws(SimulatorRejection) -> HTTPResponse {
        let m = call.request.method
        let clientID = flavor.client.clientID
        func aisp() throws(SimulatorRejection) -> (AccessGrant, Persona) {
            let g = try simulator.bearer(
                call, bank: flavor.bank, clientID: clientID, anyOf: ["aisp"], kinds: [.authorizationCode])
            guard let persona = g.persona.flatMap(Persona.named) else {
                throw call.stet(403, "Forbidden", "token has no PSU")
            }
            return (g, persona)
        }
        switch (m, rest.count, rest.first) {
        case (.get, 1, "accounts"):
            let (_, p) = try aisp()
            try countUnattended(call, persona: p, account: "-", resource: "accounts")
            return try accounts(call, persona: p)
        case (.put, 1, "consents"):
            let (_, p) = try aisp()
            return try putConsents(call, persona: p)
        case (.get, 3, "accounts") where rest[2] == "balances" || rest[2] == "transactions":
            let (_, p) = try aisp()
            guard let account = p.account(resourceId: rest[1]) else {
                throw call.stet(404, "Not Found", "account \(rest[1]) is not an account of this PSU")
            }
            if flavor.isBPCE {
                let consent = consent(call, persona: p)
                let allowed = rest[2] == "balances" ? consent.balances : consent.transactions
                guard allowed.contains(account.iban) else {
                    throw call.stet(403, "NAAC", "no PUT /consents for \(rest[2]) of account \(account.resourceId)")
                }
            }
            try countUnattended(call, persona: p, account: account.iban, resource: rest[2])
            return rest[2] == "balances" ? balances(call, account: account) : try transactions(call, account: account)
        case (.get, 1, "trusted-beneficiaries"), (.get, 1, "trustedBeneficiaries"):
            let (_, p) = try aisp()
            return try beneficiaries(call, persona: p)
        case (.get, 1, "end-user-identity"), (.get, 1, "endUserIdentity"):
            let (_, p) = try aisp()
            if flavor.isBPCE && !consent(call, persona: p).psuIdentity {
                throw call.stet(403, "NAAC", "no PUT /consents with psuIdentity=true")
            }
            try countUnattended(call, persona: p, account: "-", resource: "end-user-identity")
            return hal(
                200,
                [
                    ("connectedPsu", .string(p.displayName)),
                    ("_links", links([("self", flavor.apiRoot + "/end-user-identity")])),
                ])
        case (.post, 1, "payment-requests"):
            _ = try simulator.bearer(
                call, bank: flavor.bank, clientID: clientID, anyOf: ["pisp"], kinds: [.clientCredentials])
            return try createPayment(call)
        case (.get, 2, "payment-requests"), (.put, 2, "payment-requests"):
            _ = try simulator.bearer(
                call, bank: flavor.bank, clientID: clientID, anyOf: ["pisp"],
                kinds: [.clientCredentials, .authorizationCode])
            return m == .get ? try getPayment(call, id: rest[1]) : try cancelPayment(call, id: rest[1])
        case (.post, 3, "payment-requests") where rest[2] == "o-confirmation":
            let g = try simulator.bearer(
                call, bank: flavor.bank, clientID: clientID, anyOf: ["pisp"], kinds: [.authorizationCode])
            return try confirmPayment(call, id: rest[1], grant: g)
        case (.post, 1, "funds-confirmations"):
            let g = try simulator.bearer(
                call, bank: flavor.bank, clientID: clientID, anyOf: ["cbpii"],
                kinds: [.authorizationCode, .clientCredentials])
            return try fundsConfirmation(call, grant: g)
        default:
            throw call.stet(404, "Not Found", "no STET resource \(call.request.method) \(call.path)")
        }
    }

    // MARK: - Helpers

    func hal(_ status: Int, _ members: [(String, JSON)]) -> HTTPResponse {
        .json(status, JSON.object(members).bytes, contentType: "application/hal+json; charset=utf-8")
    }

    func links(_ items: [(String, String)]) -> JSON {
        .object(items.map { ($0.0, .object([("href", .string($0.1)), ("templated", .bool(flavor.isBPCE))])) })
    }

    func consentKey(_ call: Call, persona: Persona) -> String {
        "\(flavor.bank)|\(flavor.client.clientID)|\(persona.id)"
    }

    func consent(_ call: Call, persona: Persona) -> ConsentRecord {
        simulator.store.state.withLock { $0.consents[consentKey(call, persona: persona)] } ?? ConsentRecord()
    }

    /// BPCE: without `PSU-IP-Address`, at most N requests per 24 h per client × PSU × account (its IBAN, the same
    /// in every authorization) × resource; each request counts (every transactions page, every retry).
    func countUnattended(_ call: Call, persona: Persona, account: String, resource: String) throws(SimulatorRejection) {
        guard flavor.isBPCE, call.request.headers["PSU-IP-Address"] == nil else { return }
        let key = "\(flavor.bank)|\(flavor.client.clientID)|\(persona.id)|\(account)|\(resource)"
        let now = call.now
        let limit = configuration.unattendedCallsPerDay
        let allowed = simulator.store.state.withLock { s -> Bool in
            var calls = s.unattendedCalls[key, default: []].filter { $0 > now - 86400 }
            let ok = calls.count < limit
            if ok { calls.append(now) }
            s.unattendedCalls[key] = calls
            return ok
        }
        guard allowed else {
            let reason =
                "unattended call limit reached: \(limit) per 24 h for \(resource) of \(account) without PSU-IP-Address"
            switch configuration.rateLimitAnswer {
            case .tooManyRequests: throw call.stet(429, "Daily limit of unattended calls reached", reason)
            case .forbiddenTMRQ: throw call.stet(403, "TMRQ", reason)
            }
        }
    }

    // MARK: - AISP

    func accountJSON(_ a: Persona.Account, call: Call, inlineBalances: Bool) -> JSON {
        var m: [(String, JSON)] = [
            ("resourceId", .string(a.resourceId)), ("bicFi", .string(flavor.bicFi)),
            ("accountId", .object([("iban", .string(a.iban)), ("currency", "EUR")])), ("name", .string(a.name)),
            ("details", .string(a.product)), ("usage", .string(a.usage)), ("cashAccountType", "CACC"),
            ("product", .string(a.product)), ("currency", "EUR"), ("psuStatus", "Account Holder"),
        ]
        if inlineBalances { m.append(("balances", .array(balanceItems(a, call: call)))) }
        m.append(
            (
                "_links",
                links([
                    ("balances", "\(flavor.apiRoot)/accounts/\(a.resourceId)/balances"),
                    ("transactions", "\(flavor.apiRoot)/accounts/\(a.resourceId)/transactions"),
                ])
            ))
        return .object(m)
    }

    func accounts(_ call: Call, persona: Persona) throws(SimulatorRejection) -> HTTPResponse {
        guard !persona.accounts.isEmpty else { return HTTPResponse(status: 204) }
        var inline: Set<String> = []
        var connected = !flavor.isBPCE
        if flavor.isBPCE, let c = simulator.store.state.withLock({ $0.consents[consentKey(call, persona: persona)] }) {
            inline = c.balances
            connected = c.psuIdentity
            if c.balances.isEmpty && c.transactions.isEmpty && !c.psuIdentity && !c.trustedBeneficiaries {
                throw call.stet(404, "NAAC", "the last PUT /consents authorised no account")
            }
        }
        var m: [(String, JSON)] = [
            (
                "accounts",
                .array(persona.accounts.map { accountJSON($0, call: call, inlineBalances: inline.contains($0.iban)) })
            ),
            (
                "_links",
                links([
                    ("self", flavor.apiRoot + "/accounts"), ("endUserIdentity", flavor.apiRoot + "/end-user-identity"),
                    ("beneficiaries", flavor.apiRoot + "/trusted-beneficiaries"),
                ])
            ),
        ]
        if connected { m.append(("connectedPsu", .string(persona.displayName))) }
        return hal(200, m)
    }

    func putConsents(_ call: Call, persona: Persona) throws(SimulatorRejection) -> HTTPResponse {
        guard let doc = JSON.parse(call.request.body), doc.objectMembers != nil else {
            throw call.stet(400, "Bad Request", "PUT /consents body is not a JSON object")
        }
        var record = ConsentRecord()
        for field in ["balances", "transactions"] {
            guard let list = doc[field] else { continue }
            guard let items = list.arrayValue else {
                throw call.stet(400, "Bad Request", "consents.\(field) must be an array")
            }
            for item in items {
                guard let iban = item["iban"]?.stringValue?.trimmingSpaces else {
                    throw call.stet(400, "Bad Request", "consents.\(field) items must be {\"iban\": …}")
                }
                guard persona.accounts.contains(where: { $0.iban == iban }) else {
                    throw call.stet(
                        400, "Bad Request", "consents.\(field) names an IBAN that is not an account of this PSU")
                }
                if field == "balances" { record.balances.insert(iban) } else { record.transactions.insert(iban) }
            }
        }
        for field in ["trustedBeneficiaries", "psuIdentity"] {
            guard let v = doc[field] else { continue }
            guard let b = v.boolValue else {
                throw call.stet(400, "Bad Request", "consents.\(field) must be a boolean")
            }
            if field == "psuIdentity" { record.psuIdentity = b } else { record.trustedBeneficiaries = b }
        }
        simulator.store.state.withLock { $0.consents[consentKey(call, persona: persona)] = record }
        return HTTPResponse(status: 201)
    }

    func today(_ call: Call) -> ParisCalendar.CivilDate { ParisCalendar.parisLocal(call.now).date }

    func balanceItems(_ a: Persona.Account, call: Call) -> [JSON] {
        let day = today(call).isoString
        func item(_ type: String, _ name: String, _ amount: String, date: Bool = true) -> JSON {
            var m: [(String, JSON)] = [
                ("balanceType", .string(type)), ("name", .string(name)),
                ("balanceAmount", .object([("amount", .string(amount)), ("currency", "EUR")])),
            ]
            if date { m.append(("referenceDate", .string(day))) }
            return .object(m)
        }
        if flavor.isBPCE {
            return [
                item("VALU", "Solde en Valeur", a.valueBalance), item("CLBD", "Solde Comptable", a.bookedBalance),
                item("OTHR", "Solde TP", a.otherBalance, date: false),
            ]
        }
        return [item("CLBD", "Solde comptable", a.bookedBalance), item("XPCD", "Solde instantané", a.valueBalance)]
    }

    func balances(_ call: Call, account a: Persona.Account) -> HTTPResponse {
        hal(
            200,
            [
                ("balances", .array(balanceItems(a, call: call))),
                (
                    "_links",
                    links([
                        ("self", "\(flavor.apiRoot)/accounts/\(a.resourceId)/balances"),
                        ("parent-list", flavor.apiRoot + "/accounts"),
                        ("transactions", "\(flavor.apiRoot)/accounts/\(a.resourceId)/transactions"),
                    ])
                ),
            ])
    }

    func transactions(_ call: Call, account a: Persona.Account) throws(SimulatorRejection) -> HTTPResponse {
        let q = call.request
        let todayDays = ParisCalendar.days(from: today(call))
        var all = TransactionGenerator.transactions(
            for: a, today: todayDays, count: configuration.transactionsPerAccount,
            historyDays: configuration.historyDays)
        if let from = q.queryValue("dateFrom") {
            guard let d = ParisCalendar.parseDate(from) else {
                throw call.stet(400, "Bad Request", "dateFrom is not a date")
            }
            all = all.filter { $0.bookingDay >= ParisCalendar.days(from: d) }
        }
        if let to = q.queryValue("dateTo") {
            guard let d = ParisCalendar.parseDate(to) else {
                throw call.stet(400, "Bad Request", "dateTo is not a date")
            }
            all = all.filter { $0.bookingDay < ParisCalendar.days(from: d) }
        }
        if let after = q.queryValue("entryReferenceFrom") { all = all.filter { $0.entryReference > after } }
        let size = configuration.pageSize
        let lastPage = max(1, (all.count + size - 1) / size)
        var page = 1
        if let p = q.queryValue("page") {
            if p == "last" {
                page = lastPage
            } else {
                guard let n = Int(p), n >= 1, n <= lastPage else {
                    throw call.stet(400, "Bad Request", "page \(p) out of range 1…\(lastPage)")
                }
                page = n
            }
        }
        let slice = all.dropFirst((page - 1) * size).prefix(size)
        let base = "\(flavor.apiRoot)/accounts/\(a.resourceId)/transactions"
        let kept = q.query.filter { $0.name != "page" }.map { ($0.name, $0.value) }
        func href(_ n: Int) -> String { base + "?" + PercentEncoding.formEncode(kept + [("page", String(n))]) }
        var l: [(String, String)] = [
            ("self", href(page)), ("parent-list", flavor.apiRoot + "/accounts"),
            ("balances", "\(flavor.apiRoot)/accounts/\(a.resourceId)/balances"), ("first", href(1)),
            ("last", href(lastPage)),
        ]
        if page > 1 { l.append(("prev", href(page - 1))) }
        if page < lastPage { l.append(("next", href(page + 1))) }
        let items: [JSON] = slice.map { t in
            let date = ParisCalendar.civil(fromDays: t.bookingDay).isoString
            let when: JSON = .string(flavor.isBPCE ? date : date + "T00:00:00Z")
            return .object([
                ("resourceId", .string(t.entryReference)), ("entryReference", .string(t.entryReference)),
                ("transactionAmount", .object([("amount", .string(t.absoluteAmount)), ("currency", "EUR")])),
                ("creditDebitIndicator", .string(t.cents >= 0 ? "CRDT" : "DBIT")),
                ("status", .string(t.pending ? (flavor.isBPCE ? "PDNG" : "OTHR") : "BOOK")),
                ("bookingDate", when), ("valueDate", when), ("transactionDate", when),
                ("remittanceInformation", .object([("unstructured", .array([.string(t.label)]))])),
            ])
        }
        return hal(200, [("transactions", .array(items)), ("_links", links(l))])
    }

    func beneficiaries(_ call: Call, persona: Persona) throws(SimulatorRejection) -> HTTPResponse {
        switch configuration.trustedBeneficiariesMode {
        case .notImplemented: throw call.stet(501, "NIMP", "trusted beneficiaries are configured as not implemented")
        case .empty204: return HTTPResponse(status: 204)
        case .empty404: throw call.stet(404, "Not Found", "no trusted beneficiaries (configured 404)")
        case .list: break
        }
        if flavor.isBPCE && !consent(call, persona: persona).trustedBeneficiaries {
            throw call.stet(403, "NAAC", "no PUT /consents with trustedBeneficiaries=true")
        }
        try countUnattended(call, persona: persona, account: "-", resource: "trusted-beneficiaries")
        guard !persona.beneficiaries.isEmpty else { return HTTPResponse(status: 204) }
        let items: [JSON] = persona.beneficiaries.map { b in
            .object([
                ("id", .string(b.id)), ("isTrusted", true), ("creditorAgent", .object([("bicFi", .string(b.bic))])),
                (
                    "creditor",
                    .object([
                        ("name", .string(b.name)),
                        ("postalAddress", .object([("country", "FR"), ("addressLine", .array([]))])),
                    ])
                ),
                ("creditorAccount", .object([("iban", .string(b.iban))])),
            ])
        }
        return hal(
            200,
            [
                ("beneficiaries", .array(items)),
                ("_links", links([("self", flavor.apiRoot + "/trusted-beneficiaries")])),
            ])
    }
}
