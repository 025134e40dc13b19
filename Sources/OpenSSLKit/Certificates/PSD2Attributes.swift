/// A PSD2 role of a payment service provider (ETSI TS 119 495 §5.1, `id-psd2-role-*`).
public enum PSD2Role: String, Sendable, Codable, CaseIterable {
    /// Account servicing (0.4.0.19495.1.1).
    case accountServicing = "PSP_AS"
    /// Payment initiation (0.4.0.19495.1.2).
    case paymentInitiation = "PSP_PI"
    /// Account information (0.4.0.19495.1.3).
    case accountInformation = "PSP_AI"
    /// Issuing of card-based payment instruments (0.4.0.19495.1.4).
    case cardIssuing = "PSP_IC"

    /// The role's object identifier.
    public var objectIdentifier: String {
        switch self {
        case .accountServicing: "0.4.0.19495.1.1"
        case .paymentInitiation: "0.4.0.19495.1.2"
        case .accountInformation: "0.4.0.19495.1.3"
        case .cardIssuing: "0.4.0.19495.1.4"
        }
    }

    init?(objectIdentifier: String) {
        guard let role = Self.allCases.first(where: { $0.objectIdentifier == objectIdentifier }) else { return nil }
        self = role
    }
}

/// The PSD2 QCStatement of an eIDAS certificate (ETSI TS 119 495 §5.1, `PSD2QcType`, OID 0.4.0.19495.2).
public struct PSD2Attributes: Sendable, Equatable {
    /// Roles granted by the NCA, in certificate order (unknown role OIDs are skipped).
    public var roles: [PSD2Role]
    /// Name of the national competent authority, e.g. `Autorite de Controle Prudentiel et de Resolution`.
    public var ncaName: String
    /// NCA identifier, e.g. `FR-ACPR`.
    public var ncaId: String
}

/// The eIDAS QcType statement (ETSI EN 319 412-5 §4.2.3, OID 0.4.0.1862.1.6).
public enum QcType: String, Sendable, Equatable {
    /// `id-etsi-qct-esign` (0.4.0.1862.1.6.1).
    case esign
    /// `id-etsi-qct-eseal` (0.4.0.1862.1.6.2): a QSealC.
    case eseal
    /// `id-etsi-qct-web` (0.4.0.1862.1.6.3): a QWAC.
    case web
}

/// What the parsed QCStatements extension says.
struct QCStatements: Equatable {
    var psd2: PSD2Attributes?
    var qcTypes: [QcType] = []
    var isQcCompliant = false

    /// Parses the extension value: `QCStatements ::= SEQUENCE OF QCStatement`,
    /// `QCStatement ::= SEQUENCE { statementId OBJECT IDENTIFIER, statementInfo ANY OPTIONAL }`.
    init(der: [UInt8]) throws(DERError) {
        var outer = DERReader(der)
        var statements = try outer.next(tag: DERReader.sequence).reader
        while !statements.isAtEnd {
            var statement = try statements.next(tag: DERReader.sequence).reader
            let id = try DERReader.objectIdentifier(statement.next(tag: DERReader.objectIdentifier).content)
            switch id {
            case "0.4.0.1862.1.1":
                isQcCompliant = true
            case "0.4.0.1862.1.6":
                // QcType ::= SEQUENCE OF OBJECT IDENTIFIER
                var types = try statement.next(tag: DERReader.sequence).reader
                while !types.isAtEnd {
                    switch try DERReader.objectIdentifier(types.next(tag: DERReader.objectIdentifier).content) {
                    case "0.4.0.1862.1.6.1": qcTypes.append(.esign)
                    case "0.4.0.1862.1.6.2": qcTypes.append(.eseal)
                    case "0.4.0.1862.1.6.3": qcTypes.append(.web)
                    default: break
                    }
                }
            case "0.4.0.19495.2":
                psd2 = try Self.parsePSD2(&statement)
            default:
                break  // other statements (QcSSCD, QcPDS, QcRetentionPeriod, …) are not needed
            }
        }
    }

    /// `PSD2QcType ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName NCAName, nCAId NCAId }`,
    /// `RoleOfPSP ::= SEQUENCE { roleOfPspOid OBJECT IDENTIFIER, roleOfPspName UTF8String }`.
    private static func parsePSD2(_ reader: inout DERReader) throws(DERError) -> PSD2Attributes {
        var info = try reader.next(tag: DERReader.sequence).reader
        var rolesReader = try info.next(tag: DERReader.sequence).reader
        var roles: [PSD2Role] = []
        while !rolesReader.isAtEnd {
            var role = try rolesReader.next(tag: DERReader.sequence).reader
            let oid = try DERReader.objectIdentifier(role.next(tag: DERReader.objectIdentifier).content)
            let name = try DERReader.string(role.next())
            if let known = PSD2Role(objectIdentifier: oid) ?? name.flatMap(PSD2Role.init(rawValue:)) {
                roles.append(known)
            }
        }
        let ncaName = try DERReader.string(info.next()) ?? ""
        let ncaId = try DERReader.string(info.next()) ?? ""
        return PSD2Attributes(roles: roles, ncaName: ncaName, ncaId: ncaId)
    }
}
