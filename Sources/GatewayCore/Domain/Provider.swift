/// The two bank platforms Passerelle speaks to. Everything bank-specific lives in the adapter for a provider and
/// in the catalog (docs/protocol.md §6).
public enum Provider: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Crédit Mutuel / CIC brands on the Euro-Information STET platform (`*.e-i.com`).
    case euroInformation = "euro-information"
    /// Groupe BPCE (Banques Populaires, Caisses d'Epargne) on the 89C3 portal.
    case bpce = "bpce"

    /// The prefix of bank ids of this provider: `cmcic` or `bpce`.
    public var idPrefix: String {
        switch self {
        case .euroInformation: "cmcic"
        case .bpce: "bpce"
        }
    }

    /// Parses a bank-id prefix (`cmcic`, `bpce`).
    public init?(idPrefix: String) {
        switch idPrefix {
        case "cmcic": self = .euroInformation
        case "bpce": self = .bpce
        default: return nil
        }
    }

    /// `euro-information` or `bpce`, as on the API.
    public var description: String { rawValue }
}

/// Sandbox or production: each registration, and so each connection, belongs to one environment.
public enum Environment: String, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case sandbox
    case production

    public var description: String { rawValue }
}

/// The TPP roles a registration may request (PSD2 / STET scopes).
public enum Role: String, Hashable, Sendable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// Account information (`aisp`).
    case aisp
    /// Payment initiation (`pisp`).
    case pisp
    /// Funds confirmation (`cbpii`).
    case cbpii

    public var description: String { rawValue }

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
