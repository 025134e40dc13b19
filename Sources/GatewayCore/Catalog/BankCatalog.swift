/// The ASPSPs Passerelle can talk to: the built-in list (`builtIn`, protocol.md §8), optionally changed by the JSON of
/// `PASSERELLE_BANKS_FILE` (`applying(overrides:)`, format in docs/core.md). Immutable once built.
public struct BankCatalog: Sendable {
    private let byID: [BankID: BankProfile]

    /// A catalog of exactly these profiles; a later duplicate id replaces an earlier one.
    public init(profiles: [BankProfile]) {
        var map: [BankID: BankProfile] = [:]
        for profile in profiles { map[profile.id] = profile }
        byID = map
    }

    /// The profile of `id`, or `nil` for a bank the catalog does not have.
    public func profile(for id: BankID) -> BankProfile? { byID[id] }

    /// The profile of `id`.
    /// - Throws: `GatewayError.notFound` for a bank the catalog does not have.
    public func require(_ id: BankID) throws -> BankProfile {
        guard let profile = byID[id] else { throw GatewayError.notFound(resource: "bank", id: id.description) }
        return profile
    }

    /// Every profile, sorted by id.
    public var all: [BankProfile] { byID.values.sorted { $0.id < $1.id } }

    /// The banks of one provider, sorted by id.
    public func profiles(of provider: Provider) -> [BankProfile] { all.filter { $0.provider == provider } }

    /// The `GET /v1/banks` list.
    public var summaries: [BankSummary] { all.map(\.summary) }

    /// The bank whose host a BPCE group-wide registration (`"bank": "bpce"`) goes through: the one the operator
    /// chose for `environment` (`PASSERELLE_BPCE_REGISTRATION_BANK_SANDBOX` / `_PRODUCTION`), nil when the catalog
    /// has no such bank with URLs for that environment.
    /// - Parameter code: The bank code the operator chose for this environment; nil: the first BPCE bank of the
    ///   catalog that offers the environment.
    public func bpceRegistrationBank(code: String?, for environment: Environment) -> BankProfile? {
        if let code {
            guard let id = BankID("bpce:\(code)"), let profile = byID[id], profile.endpoints(for: environment) != nil
            else { return nil }
            return profile
        }
        return profiles(of: .bpce).first { $0.endpoints(for: environment) != nil }
    }
}
