/// Identifies one ASPSP of the catalog: `cmcic:<segment>` for a Euro-Information brand (`cmcic:cic`,
/// `cmcic:becm`) or `bpce:<codetab>` for a BPCE bank (`bpce:13807`). See docs/protocol.md §6 and §8.
///
/// The string form is the identifier used on the API, in storage and in the banks file.
public struct BankID: Hashable, Sendable, Comparable, Codable, CustomStringConvertible, LosslessStringConvertible {
    /// Which platform serves this bank.
    public let provider: Provider
    /// The brand path segment (Euro-Information) or the 5-digit bank code (BPCE).
    public let code: String

    /// Validates and builds an id from its parts.
    /// - Throws: `GatewayError.validation` when `code` does not fit the provider's syntax.
    public init(provider: Provider, code: String) throws {
        guard Self.isValid(code: code, for: provider) else {
            throw GatewayError.validation([FieldIssue(field: "bank", message: Self.syntaxHint(for: provider))])
        }
        self.provider = provider
        self.code = code
    }

    /// Parses `cmcic:<segment>` or `bpce:<codetab>`; `nil` for anything else (including the bare group `bpce`).
    public init?(_ description: String) {
        guard let colon = description.firstIndex(of: ":") else { return nil }
        guard let provider = Provider(idPrefix: String(description[..<colon])) else { return nil }
        let code = String(description[description.index(after: colon)...])
        guard Self.isValid(code: code, for: provider) else { return nil }
        self.provider = provider
        self.code = code
    }

    /// Parses like `init?(_:)` but throws a validation error naming `field`.
    /// - Throws: `GatewayError.validation` with one issue for `field`.
    public static func parse(_ text: String, field: String = "bank") throws -> BankID {
        guard let id = BankID(text) else {
            throw GatewayError.validation([
                FieldIssue(
                    field: field, message: "unknown bank id syntax: expected cmcic:<segment> or bpce:<5-digit code>")
            ])
        }
        return id
    }

    /// `cmcic:cic`, `bpce:13807`.
    public var description: String { "\(provider.idPrefix):\(code)" }

    public static func < (lhs: BankID, rhs: BankID) -> Bool { lhs.description < rhs.description }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = BankID(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid bank id")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Syntax

    static func isValid(code: String, for provider: Provider) -> Bool {
        switch provider {
        case .euroInformation:
            // Brand path segments seen: cm, becm, cic-banqueprivee, targobank-es (docs/protocol.md §8.1).
            guard (1...40).contains(code.utf8.count), code.first != "-", code.last != "-" else { return false }
            return code.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        case .bpce:
            // The codetab is a 5-digit bank code (docs/protocol.md §8.2).
            return code.utf8.count == 5 && code.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
        }
    }

    static func syntaxHint(for provider: Provider) -> String {
        switch provider {
        case .euroInformation: "expected cmcic:<segment> with lowercase letters, digits and '-'"
        case .bpce: "expected bpce:<5-digit bank code>"
        }
    }
}

/// The target of a registration: BPCE registrations are group-wide, so `bpce` alone is accepted there and means
/// the same as any `bpce:<code>` (`POST /v1/registrations`, `openapi/passerelle.yaml`).
public enum RegistrationTarget: Hashable, Sendable {
    /// One Euro-Information brand (each brand has its own clients).
    case bank(BankID)
    /// The whole BPCE group; `via` is the bank whose host the calls go through, when the caller named one.
    case bpceGroup(via: BankID?)

    /// Parses `cmcic:<segment>`, `bpce` or `bpce:<code>`.
    /// - Throws: `GatewayError.validation` for anything else.
    public static func parse(_ text: String, field: String = "bank") throws -> RegistrationTarget {
        if text == Provider.bpce.idPrefix { return .bpceGroup(via: nil) }
        let id = try BankID.parse(text, field: field)
        return id.provider == .bpce ? .bpceGroup(via: id) : .bank(id)
    }

    /// The provider whose adapter handles this registration.
    public var provider: Provider {
        switch self {
        case .bank(let id): id.provider
        case .bpceGroup: .bpce
        }
    }
}
