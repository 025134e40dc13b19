/// The regular expressions the API enforces on input, each written exactly as in `openapi/passerelle.yaml`
/// (`InputPatternTests` finds every one of them there, so the document and the server cannot drift).
enum InputPattern: String, CaseIterable, Sendable {
    case uuid = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    case bankId = "^(cmcic:[a-z0-9]([a-z0-9-]*[a-z0-9])?|bpce:[0-9]{5})$"
    case registrationBank = "^(cmcic:[a-z0-9]([a-z0-9-]*[a-z0-9])?|bpce(:[0-9]{5})?)$"
    /// https anywhere, http only on the loopback host (a developer's callback); ASCII, no fragment.
    case redirectURI =
        "^(https://[A-Za-z0-9.-]+|http://(localhost|127\\.0\\.0\\.1))(:[0-9]{1,5})?([/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?$"
    case httpsURL = "^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?$"
    /// https anywhere, plain http only to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`): webhook receivers.
    case webhookURL =
        "^(https://[A-Za-z0-9.-]+|http://(localhost|127(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}|\\[::1\\]))(:[0-9]{1,5})?([/?][A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?$"
    case email = "^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+$"
    case phone = "^\\+[0-9]{6,15}$"
    case languageTag = "^[a-z]{2}(-[A-Z]{2})?$"
    case iban = "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"
    case psuIPAddress = "^[0-9A-Fa-f:.]{2,45}$"
    case psuIPPort = "^[0-9]{1,5}$"
    case psuHeaderText = "^[ -~]{1,512}$"
    case accountId = "^[A-Za-z0-9._~-]{1,64}$"
    /// A positive amount as a decimal string: digits, at most two fraction digits, no sign or exponent.
    case amount = "^[0-9]{1,12}(\\.[0-9]{1,2})?$"
    /// ISO 9362 BIC: 8 or 11 characters.
    case bic = "^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$"
    /// The SEPA character set (EPC guidelines: Latin letters, digits, / - ? : ( ) . , ' + and space).
    case sepaText = "^[A-Za-z0-9/?:().,'+ -]{1,140}$"
    /// An ISO 20022 identifier in the SEPA set without spaces, at most 35 characters.
    case sepaIdentifier = "^[A-Za-z0-9/?:().,'+-]{1,35}$"
    /// An OAuth error code (RFC 6749 §4.1.2.1: NQSCHAR, no quote or backslash), at most 100 characters.
    case oauthError = "^[ !#-\\[\\]-~]{1,100}$"
    case pemCertificate = "^[ \\t\\r\\n]*-----BEGIN CERTIFICATE-----"
    case pemPrivateKey = "^[ \\t\\r\\n]*-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----"

    /// What the field must look like, for the problem's `errors[].message`.
    var hint: String {
        switch self {
        case .uuid: "not a UUID"
        case .bankId: "expected cmcic:<segment> or bpce:<5-digit code>"
        case .registrationBank: "expected cmcic:<segment>, bpce or bpce:<5-digit code>"
        case .redirectURI: "expected an absolute https URL (http only for localhost), ASCII, without fragment"
        case .httpsURL: "expected an absolute https URL, ASCII, without fragment"
        case .webhookURL: "expected an absolute https URL (plain http only to localhost, 127.0.0.0/8 or [::1]), ASCII, without fragment"
        case .email: "not an email address"
        case .phone: "expected + and 6 to 15 digits"
        case .languageTag: "expected a language tag such as fr or en-GB"
        case .iban: "not an IBAN (upper case, no spaces)"
        case .psuIPAddress: "expected an IPv4 or IPv6 address"
        case .psuIPPort: "expected a port number"
        case .psuHeaderText: "1 to 512 visible ASCII characters or spaces"
        case .accountId: "not an account id"
        case .amount: "expected a decimal string such as 12.30 (no sign, at most two fraction digits)"
        case .bic: "expected a BIC of 8 or 11 upper-case characters"
        case .sepaText: "letters, digits, spaces and / - ? : ( ) . , ' + only (the SEPA character set)"
        case .sepaIdentifier: "1 to 35 letters, digits and / - ? : ( ) . , ' + (no spaces)"
        case .oauthError: "expected an OAuth error code such as access_denied"
        case .pemCertificate: "expected a PEM certificate (-----BEGIN CERTIFICATE-----)"
        case .pemPrivateKey: "expected a PEM private key (-----BEGIN [RSA |ENCRYPTED ]PRIVATE KEY-----)"
        }
    }

    func matches(_ value: String) -> Bool {
        // The PSU headers come with every account read: byte checks equal to their patterns, no regex engine.
        switch self {
        case .psuIPAddress:
            return (2...45).contains(value.utf8.count)
                && value.utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
        case .psuIPPort:
            return (1...5).contains(value.utf8.count) && value.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
        case .psuHeaderText:
            return (1...512).contains(value.utf8.count) && value.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
        default:
            // `^…$` patterns match whole; the PEM ones only anchor the start (the rest is free text).
            guard let regex = Self.compiled[self] else { return false }
            return (try? regex.firstMatch(in: value)) != nil
        }
    }

    /// Every pattern compiled once, at first use (a pattern that would not compile is missing: it matches nothing,
    /// and `InputContractTests` fails). Scalar semantics, as JSON Schema's regular expressions: "\r\n" is two
    /// characters, not one.
    // `Regex<AnyRegexOutput>` is not `Sendable` (its output type-erases captures), but the dictionary is immutable
    // once built and each regex has been matched once here, so the program it compiles lazily on first use is built
    // before any sharing: concurrent matches only read it.
    nonisolated(unsafe) static let compiled: [InputPattern: Regex<AnyRegexOutput>] = Dictionary(
        uniqueKeysWithValues: allCases.compactMap { pattern in
            guard let regex = try? Regex(pattern.rawValue).matchingSemantics(.unicodeScalar) else { return nil }
            _ = try? regex.firstMatch(in: "")
            return (pattern, regex)
        })

    private func isHexDigit(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102)
    }
}
