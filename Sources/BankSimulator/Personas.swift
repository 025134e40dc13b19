/// The sandbox customers (seed bpce-89c3-ais-sandbox), served under both families.
struct Persona: Sendable {
    struct Account: Sendable {
        var resourceId: String
        var iban: String
        var name: String
        var product: String
        var usage: String
        var bookedBalance: String
        var valueBalance: String
        var otherBalance: String
    }
    struct Beneficiary: Sendable {
        var id: String, name: String, iban: String, bic: String
    }

    /// The name used in `persona=` (lowercase).
    var id: String
    /// The sandbox login shown on the picker.
    var login: String
    /// `connectedPsu`.
    var displayName: String
    var accounts: [Account]
    var beneficiaries: [Beneficiary]

    static let all: [Persona] = [
        Persona(
            id: "marc", login: "D0999990I0", displayName: "MALLOW MARC",
            accounts: [
                Account(
                    resourceId: "038-CPT30019654051", iban: "FR7613807008043001965405158", name: "Compte perso",
                    product: "COMPTE CHEQUE", usage: "PRIV", bookedBalance: "4179.95", valueBalance: "4321.95",
                    otherBalance: "4348.95"),
                Account(
                    resourceId: "038-CPT30019654052", iban: "FR7613807008043001965405255", name: "Retrait et Cheques",
                    product: "COMPTE CHEQUE", usage: "PRIV", bookedBalance: "459.56", valueBalance: "459.56",
                    otherBalance: "459.56"),
                Account(
                    resourceId: "038-CPT30019654053", iban: "FR7613807008043001965405352", name: "Compte mensualités",
                    product: "COMPTE CHEQUE", usage: "PRIV", bookedBalance: "2165.50", valueBalance: "2165.50",
                    otherBalance: "2165.50"),
            ],
            beneficiaries: [
                Beneficiary(id: "BEN-0001", name: "MALLOW LUCIE", iban: "FR7630004000031234567890143", bic: "BNPAFRPP"),
                Beneficiary(
                    id: "BEN-0002", name: "SCI DES TILLEULS", iban: "FR7610107001011234567890129", bic: "BREDFRPP"),
            ]),
        Persona(
            id: "tech-n-co", login: "D0999993I0", displayName: "TECH-N CO",
            accounts: [
                Account(
                    resourceId: "038-CPT30019654091", iban: "FR7613807008043001965409135", name: "Tech-N Co",
                    product: "COMPTE COURANT", usage: "ORGA", bookedBalance: "15230.40", valueBalance: "15230.40",
                    otherBalance: "15230.40")
            ],
            beneficiaries: []),
        Persona(id: "nobody", login: "D0999999I0", displayName: "SANS COMPTE", accounts: [], beneficiaries: []),
    ]

    static func named(_ id: String) -> Persona? {
        let key = id.lowercased()
        return all.first { $0.id == key || $0.login.lowercased() == key || ($0.id == "tech-n-co" && key == "techn") }
    }

    func account(resourceId: String) -> Account? { accounts.first { $0.resourceId == resourceId } }
}

/// One generated transaction.
struct SimulatedTransaction: Sendable {
    var entryReference: String
    /// Amount in cents, positive for credits.
    var cents: Int64
    var bookingDay: Int64
    var label: String
    var pending: Bool

    var absoluteAmount: String {
        let a = abs(cents)
        return "\(a / 100).\(pad(Int(a % 100), 2))"
    }
}

/// Deterministic transactions: the same account and day always give the same list (a seeded generator), spread
/// over the last `historyDays` days, newest first; the most recent two are pending.
enum TransactionGenerator {
    private static let labels = [
        ("CARTE X1234 BOULANGERIE DU PORT", false), ("PRLV SEPA EDF", false), ("VIR SEPA SALAIRE", true),
        ("CARTE X1234 SUPERMARCHE", false), ("PRLV SEPA ORANGE", false), ("VIR SEPA REMBOURSEMENT", true),
        ("CARTE X1234 PHARMACIE", false), ("RETRAIT DAB NANTES", false), ("VIR INSTANTANE LUCIE", true),
        ("CHEQUE 0001234", false),
    ]

    static func transactions(for account: Persona.Account, today: Int64, count: Int, historyDays: Int)
        -> [SimulatedTransaction]
    {
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in account.resourceId.utf8 { seed = (seed ^ UInt64(b)) &* 0x100_0000_01b3 }
        func next() -> UInt64 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return seed >> 33
        }
        var out: [SimulatedTransaction] = []
        for i in 0..<count {
            let day = today - Int64(i * max(historyDays - 1, 1) / max(count, 1))
            let (label, credit) = labels[Int(next() % UInt64(labels.count))]
            let cents = Int64(next() % (credit ? 250_000 : 15_000)) + 100
            out.append(
                SimulatedTransaction(
                    entryReference: "\(account.resourceId.suffix(4))-\(pad(count - i, 5))",
                    cents: credit ? cents : -cents,
                    bookingDay: day, label: label, pending: i < 2))
        }
        return out
    }
}
