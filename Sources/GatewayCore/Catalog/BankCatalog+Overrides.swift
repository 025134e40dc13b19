import FoundationEssentials
import GatewayLogging
import JSONKit

/// Everything wrong with a banks file, reported together (like `ConfigError`). Safe to print.
public struct BankCatalogError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Each problem, with the JSON path it concerns.
    public let problems: [String]

    /// Memberwise initializer.
    public init(problems: [String]) { self.problems = problems }

    public var description: String { "invalid banks file: " + problems.joined(separator: "; ") }
}

extension BankCatalog {
    /// Returns the catalog with the overrides of a `PASSERELLE_BANKS_FILE` document applied (format: docs/core.md).
    ///
    /// Each entry of `banks` names a bank id; its fields replace the built-in ones, and `sandbox`/`production` replace
    /// single URLs (`apiRoot`, `token`, `registration`, `authorize`) or, with `origin`, the scheme and authority of
    /// all four at once. An unknown id adds a bank built from its provider's URL template (it needs `name`). An
    /// environment set to `null` removes it. Unknown fields are errors, so typos do not pass silently.
    /// - Parameter data: The file's bytes (UTF-8 JSON).
    /// - Throws: `BankCatalogError` listing every problem found.
    public func applying(overrides data: Data) throws -> BankCatalog {
        let root: JSONNode
        do {
            // A UTF-8 byte order mark is skipped, as Foundation's reader skips it.
            root = try JSONParser.parse(Array(data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data))
        } catch {
            throw BankCatalogError(problems: ["not valid JSON"])
        }
        guard let document = root.membersByName else { throw BankCatalogError(problems: ["expected a JSON object"]) }
        var problems: [String] = []
        for key in document.keys where key != "banks" && key != "$comment" {
            problems.append("unknown top-level field \(JSONString.quoted(key))")
        }
        guard let banks = document["banks"]?.membersByName else {
            throw BankCatalogError(problems: problems + ["missing object \"banks\""])
        }
        var profiles = byIDSnapshot
        for key in banks.keys.sorted() {
            var reader = OverrideReader(path: key, problems: [])
            guard let id = BankID(key) else {
                problems.append("\(key): not a bank id (cmcic:<segment> or bpce:<5 digits>)")
                continue
            }
            guard let fields = banks[key]?.membersByName else {
                problems.append("\(key): expected an object")
                continue
            }
            var profile: BankProfile
            if let existing = profiles[id] {
                profile = existing
            } else if case .string(let name)? = fields["name"] {
                profile = Self.template(for: id, name: name)
            } else {
                problems.append("\(key): not a built-in bank, so \"name\" is required to add it")
                continue
            }
            reader.apply(fields, to: &profile)
            problems += reader.problems
            profiles[id] = profile
        }
        guard problems.isEmpty else { throw BankCatalogError(problems: problems) }
        return BankCatalog(profiles: Array(profiles.values))
    }

    private var byIDSnapshot: [BankID: BankProfile] {
        Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })
    }

    /// A new bank from its provider's URL pattern (Euro-Information brands default to `oauth2-apiii.e-i.com`).
    static func template(for id: BankID, name: String) -> BankProfile {
        switch id.provider {
        case .euroInformation:
            .euroInformation(
                id.code, name: name, apiHost: "oauth2-apiii.e-i.com", webDomain: "www.\(id.code).fr",
                languages: ["fr"], evidence: "banks file")
        case .bpce: .bpce(id.code, name: name, evidence: "banks file")
        }
    }
}

/// Applies one bank's override object, collecting problems with their JSON path.
struct OverrideReader {
    let path: String
    var problems: [String]

    mutating func apply(_ fields: [String: JSONNode], to profile: inout BankProfile) {
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            let at = "\(path).\(key)"
            switch key {
            case "name": string(value, at) { profile.name = $0 }
            case "shortName": string(value, at) { profile.shortName = $0 }
            case "country": string(value, at) { profile.country = $0 }
            case "apiVersion": string(value, at) { profile.apiVersion = $0 }
            case "evidence": string(value, at) { profile.evidence = $0 }
            case "registrationScopeSeparator": string(value, at) { profile.registrationScopeSeparator = $0 }
            case "languages": strings(value, at) { profile.languages = $0 }
            case "signedHeaders": headerList(value, at) { profile.signedHeaders = $0 }
            case "signedHeadersWithBody": headerList(value, at) { profile.signedHeadersWithBody = $0 }
            case "roles":
                let names = value.stringArray ?? []
                let roles = names.compactMap(Role.init(rawValue:))
                if !names.isEmpty, roles.count == names.count {
                    profile.roles = roles
                } else {
                    problems.append("\(at): expected a non-empty array of aisp, pisp, cbpii")
                }
            case "keyIdMode":
                keyIDMode(value, at) { profile.keyIdMode = $0 }
            case "registrationKeyIdMode":
                if value == .null {
                    profile.registrationKeyIdMode = nil
                } else {
                    keyIDMode(value, at) { profile.registrationKeyIdMode = $0 }
                }
            case "digestWithoutBody": bool(value, at) { profile.digestWithoutBody = $0 }
            case "lenientJSON": bool(value, at) { profile.lenientJSON = $0 }
            case "supportsPKCE": bool(value, at) { profile.supportsPKCE = $0 }
            case "requiresPutConsents": bool(value, at) { profile.requiresPutConsents = $0 }
            case "supportsPutConsents": bool(value, at) { profile.supportsPutConsents = $0 }
            case "supportsTrustedBeneficiaries": bool(value, at) { profile.supportsTrustedBeneficiaries = $0 }
            case "supportsIdentity": bool(value, at) { profile.supportsIdentity = $0 }
            case "accessTokenSeconds": int(value, at) { profile.tokenDefaults.accessTokenSeconds = $0 }
            case "refreshTokenSeconds":
                if value == .null {
                    profile.tokenDefaults.refreshTokenSeconds = nil
                } else {
                    int(value, at) { profile.tokenDefaults.refreshTokenSeconds = $0 }
                }
            case "refreshTokenRotates": bool(value, at) { profile.tokenDefaults.refreshTokenRotates = $0 }
            case "sandbox": profile.sandbox = endpoints(value, current: profile.sandbox, at)
            case "production": profile.production = endpoints(value, current: profile.production, at)
            case "$comment": break
            default: problems.append("\(at): unknown field")
            }
        }
    }

    private mutating func endpoints(_ value: JSONNode, current: BankProfile.Endpoints?, _ at: String) -> BankProfile
        .Endpoints?
    {
        if value == .null { return nil }
        guard let fields = value.membersByName else {
            problems.append("\(at): expected an object or null")
            return current
        }
        guard var result = current ?? Self.partial(fields) else {
            problems.append(
                "\(at): this bank has no such environment built in; give apiRoot, token, registration and authorize")
            return current
        }
        if let origin = fields["origin"] {
            if case .string(let text) = origin, let parsed = URLParts(text), parsed.path.isEmpty || parsed.path == "/" {
                result = BankProfile.Endpoints(
                    apiRoot: parsed.replacingOrigin(of: result.apiRoot),
                    token: parsed.replacingOrigin(of: result.token),
                    registration: parsed.replacingOrigin(of: result.registration),
                    authorize: parsed.replacingOrigin(of: result.authorize))
            } else {
                problems.append("\(at).origin: expected https://host[:port] without a path")
            }
        }
        for (key, value) in fields where key != "origin" && key != "$comment" {
            guard ["apiRoot", "token", "registration", "authorize"].contains(key) else {
                problems.append("\(at).\(key): unknown field")
                continue
            }
            guard case .string(let text) = value, URLParts(text) != nil else {
                problems.append("\(at).\(key): expected an absolute https URL")
                continue
            }
            let url = key == "apiRoot" && text.hasSuffix("/") ? String(text.dropLast()) : text
            switch key {
            case "apiRoot": result.apiRoot = url
            case "token": result.token = url
            case "registration": result.registration = url
            default: result.authorize = url
            }
        }
        return result
    }

    private static func partial(_ fields: [String: JSONNode]) -> BankProfile.Endpoints? {
        guard case .string(let apiRoot)? = fields["apiRoot"], case .string(let token)? = fields["token"],
            case .string(let registration)? = fields["registration"], case .string(let authorize)? = fields["authorize"]
        else { return nil }
        return BankProfile.Endpoints(apiRoot: apiRoot, token: token, registration: registration, authorize: authorize)
    }

    private mutating func string(_ value: JSONNode, _ at: String, _ set: (String) -> Void) {
        if case .string(let text) = value, !text.isEmpty {
            set(text)
        } else {
            problems.append("\(at): expected a non-empty string")
        }
    }

    private mutating func strings(_ value: JSONNode, _ at: String, _ set: ([String]) -> Void) {
        if let list = value.stringArray, !list.isEmpty {
            set(list)
        } else {
            problems.append("\(at): expected a non-empty array of strings")
        }
    }

    private mutating func headerList(_ value: JSONNode, _ at: String, _ set: ([String]) -> Void) {
        guard let list = value.stringArray, !list.isEmpty else {
            problems.append("\(at): expected a non-empty array of header names")
            return
        }
        let lowered = list.map { $0.lowercased() }
        if lowered.contains("authorization") {
            problems.append("\(at): authorization must never be signed")  // docs/protocol.md §4.4
        } else if !lowered.contains("(request-target)") {
            problems.append("\(at): must contain (request-target)")
        } else {
            set(lowered)
        }
    }

    private mutating func bool(_ value: JSONNode, _ at: String, _ set: (Bool) -> Void) {
        if case .bool(let flag) = value { set(flag) } else { problems.append("\(at): expected true or false") }
    }

    private mutating func int(_ value: JSONNode, _ at: String, _ set: (Int) -> Void) {
        if case .number(let text) = value, let int = Double(text).flatMap({ Int(exactly: $0) }), int > 0 {
            set(int)
        } else {
            problems.append("\(at): expected a positive integer")
        }
    }

    private mutating func keyIDMode(_ value: JSONNode, _ at: String, _ set: (BankProfile.KeyIDMode) -> Void) {
        if case .string(let text) = value, let mode = BankProfile.KeyIDMode(rawValue: text) {
            set(mode)
        } else {
            problems.append("\(at): expected kid, x5u, clientId or url")
        }
    }
}

extension JSONNode {
    /// An object's members by name (a name written twice keeps its first value, as `JSONNodeDecoder` reads it);
    /// nil when this is not an object.
    fileprivate var membersByName: [String: JSONNode]? {
        guard case .object(let members) = self else { return nil }
        return Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}

/// The origin and path of an absolute `https` URL, split by hand (no Foundation URL quirks).
struct URLParts {
    /// `https://host[:port]`.
    let origin: String
    /// Everything from the first `/` after the authority (may be empty).
    let path: String

    init?(_ text: String) {
        let prefix = "https://"
        guard text.lowercased().hasPrefix(prefix) else { return nil }
        let rest = text.dropFirst(prefix.count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains(" ") else { return nil }
        origin = prefix + authority
        path = String(rest[authorityEnd...])
    }

    /// `url` with its scheme and authority replaced by this origin.
    func replacingOrigin(of url: String) -> String {
        guard let parts = URLParts(url) else { return url }
        return origin + parts.path
    }
}
