/// Every setting of the simulator. Defaults follow the strict reading of the documentation (docs/simulator.md,
/// docs/protocol.md §7); `init(environment:)` reads `PASSERELLE_SIMULATOR_*` for `passerelle simulator`.
public struct SimulatorConfiguration: Sendable {
    /// When a BPCE registration (or a change) takes effect.
    public enum ActivationMode: String, Sendable { case strict, immediate }
    /// What `GET /trusted-beneficiaries` answers.
    public enum TrustedBeneficiariesMode: String, Sendable {
        /// A list for Marc, 204 for personas without beneficiaries.
        case list
        /// Always 204.
        case empty204 = "204"
        /// Always 404.
        case empty404 = "404"
        /// Always `501 NIMP` (Banques Populaires / Caisses d'Epargne).
        case notImplemented = "501"
    }
    /// What the fifth unattended call of a day answers at BPCE.
    public enum RateLimitAnswer: String, Sendable {
        case tooManyRequests = "429"
        case forbiddenTMRQ = "403"
    }

    // MARK: Server (used by `passerelle simulator` only)
    public var host = "127.0.0.1"
    /// Where browsers reach the simulator (`https://host:port`) when not at the origin of the calls it gets: its
    /// payment consent approval links use it (`PUBLIC_ORIGIN`; nil: the origin each call came to).
    public var publicOrigin: String?
    public var port = 8443
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// The CA bundle client certificates (QWACs) must chain to.
    public var clientCAFile: String?

    // MARK: Tokens
    public var accessTokenLifetime: Int64 = 3600
    /// Refresh tokens live this long from the authorization and are not extended by refreshing.
    public var refreshTokenLifetime: Int64 = 90 * 86400
    public var authorizationCodeLifetime: Int64 = 600
    /// BPCE `manageRegistration` token lifetime.
    public var registrationTokenLifetime: Int64 = 3600
    /// When true, every refresh returns a new refresh token and reusing an old one revokes the whole family.
    public var oneTimeRefreshTokens = false

    // MARK: Checks
    /// Largest accepted difference between `Date` and the simulator clock, in seconds.
    public var dateSkew: Int64 = 300
    public var activationMode = ActivationMode.strict
    /// The STET version segments served at Euro-Information (`{root}stet-psd2-api/{version}/`); the portals publish
    /// v2.1, production clients call v2.0 (docs/protocol.md §7.2).
    public var euroInformationAPIVersions: Set<String> = ["v2.0", "v2.1"]
    /// BPCE activation deadline in seconds after local midnight: a registration answered before it on a working day
    /// is active the same day at 14:00 Paris time. The seed says "the 09:59 am deadline" (strict default, 09:59:00);
    /// 36000 (10:00) is the lenient reading GatewayCore's `ActivationCalendar` uses (docs/protocol.md §5.2).
    public var activationCutoff: Int64 = 9 * 3600 + 59 * 60
    /// BPCE: days without activation besides weekends and French public holidays (`EXTRA_HOLIDAYS`, `YYYY-MM-DD`
    /// separated by commas), as the gateway's `PASSERELLE_BPCE_EXTRA_HOLIDAYS`.
    var extraHolidays: Set<ParisCalendar.CivilDate> = []
    public var trustedBeneficiariesMode = TrustedBeneficiariesMode.list
    public var rateLimitAnswer = RateLimitAnswer.tooManyRequests
    /// Unattended calls (no `PSU-IP-Address`) per 24 h per client × PSU × account × resource at BPCE.
    public var unattendedCallsPerDay = 4
    /// The Euro-Information path segments served (docs/protocol.md §8.1).
    public var euroInformationSegments: Set<String> = [
        "cm", "becm", "cic", "cic-banqueprivee", "banquetransatlantique", "monabanq", "beobank", "targobank-es",
    ]
    /// BPCE bank codes served; empty means any five-digit code.
    public var bpceBankCodes: Set<String> = []
    /// BPCE `grant_types` must be exactly `["client_credentials"]` (the seed's strict reading, docs/protocol.md §7.4);
    /// false also accepts `authorization_code` and `refresh_token` beside it.
    public var bpceStrictGrantTypes = true
    /// The path prefix that selects BPCE when the Host header cannot: `/{prefix}/{codetab}/…`.
    public var bpcePathPrefix = "bpce"

    // MARK: Data
    public var pageSize = 50
    public var transactionsPerAccount = 120
    public var historyDays = 90

    // MARK: Faults
    /// Faults applied to every request of a bank, keyed `cmcic:<segment>`, `bpce:<codetab>`, `cmcic`, `bpce` or `*`.
    public var faults: [String: [SimulatorFault]] = [:]
    /// Whether `/__simulator/…` answers (on by default: the simulator is a test tool).
    public var introspectionEnabled = true

    public init() {}

    /// A configuration error listing every bad variable.
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public var problems: [String]
        public var description: String { "invalid simulator configuration: " + problems.joined(separator: "; ") }
    }

    /// Reads `PASSERELLE_SIMULATOR_*` variables (see docs/simulator.md); unset ones keep their defaults.
    /// - Throws: `SimulatorConfiguration.Error` listing every invalid value.
    public init(environment env: [String: String]) throws {
        self.init()
        var problems: [String] = []
        func value(_ key: String) -> String? {
            guard let v = env["PASSERELLE_SIMULATOR_" + key], !v.isEmpty else { return nil }
            return v
        }
        func int(_ key: String, _ range: ClosedRange<Int64>, _ apply: (Int64) -> Void) {
            guard let raw = value(key) else { return }
            if let v = Int64(raw), range.contains(v) {
                apply(v)
            } else {
                problems.append("PASSERELLE_SIMULATOR_\(key) must be an integer in \(range)")
            }
        }
        func oneOf<T: RawRepresentable<String>>(_ key: String, _ type: T.Type, _ apply: (T) -> Void) {
            guard let raw = value(key) else { return }
            if let v = T(rawValue: raw.lowercased()) {
                apply(v)
            } else {
                problems.append("PASSERELLE_SIMULATOR_\(key) has an unknown value '\(raw)'")
            }
        }
        host = value("HOST") ?? host
        int("PORT", 0...65535) { port = Int($0) }
        tlsCertificateFile = value("TLS_CERT")
        tlsKeyFile = value("TLS_KEY")
        clientCAFile = value("CLIENT_CA")
        int("ACCESS_TOKEN_SECONDS", 1...31_536_000) { accessTokenLifetime = $0 }
        int("REFRESH_TOKEN_SECONDS", 1...157_680_000) { refreshTokenLifetime = $0 }
        int("CODE_SECONDS", 1...86400) { authorizationCodeLifetime = $0 }
        int("REGISTRATION_TOKEN_SECONDS", 1...86400) { registrationTokenLifetime = $0 }
        int("DATE_SKEW_SECONDS", 0...86400) { dateSkew = $0 }
        int("UNATTENDED_CALLS_PER_DAY", 1...1000) { unattendedCallsPerDay = Int($0) }
        int("PAGE_SIZE", 1...1000) { pageSize = Int($0) }
        int("TRANSACTIONS_PER_ACCOUNT", 0...5000) { transactionsPerAccount = Int($0) }
        int("HISTORY_DAYS", 1...3650) { historyDays = Int($0) }
        oneOf("ACTIVATION", ActivationMode.self) { activationMode = $0 }
        oneOf("TRUSTED_BENEFICIARIES", TrustedBeneficiariesMode.self) { trustedBeneficiariesMode = $0 }
        oneOf("RATE_LIMIT_STATUS", RateLimitAnswer.self) { rateLimitAnswer = $0 }
        if let v = value("EI_API_VERSION") {
            let versions = v.split(separator: ",").map { $0.trimmingSpaces }
            if !versions.isEmpty, versions.allSatisfy({ $0.hasPrefix("v") && !$0.contains("/") }) {
                euroInformationAPIVersions = Set(versions)
            } else {
                problems.append("PASSERELLE_SIMULATOR_EI_API_VERSION must look like v2.1 (or v2.0,v2.1)")
            }
        }
        if let v = value("ACTIVATION_CUTOFF") {
            let hm = v.split(separator: ":")
            if hm.count == 2, let h = Int64(hm[0]), let m = Int64(hm[1]), (0..<24).contains(h), (0..<60).contains(m) {
                activationCutoff = h * 3600 + m * 60
            } else {
                problems.append("PASSERELLE_SIMULATOR_ACTIVATION_CUTOFF must be HH:MM")
            }
        }
        if let v = value("EXTRA_HOLIDAYS") {
            var days: Set<ParisCalendar.CivilDate> = []
            for item in v.split(whereSeparator: { $0 == "," || $0 == " " }) {
                let parts = item.split(separator: "-").compactMap { Int($0) }
                if parts.count == 3, item.count == 10, (1...12).contains(parts[1]), (1...31).contains(parts[2]) {
                    days.insert(ParisCalendar.CivilDate(year: parts[0], month: parts[1], day: parts[2]))
                } else {
                    problems.append("PASSERELLE_SIMULATOR_EXTRA_HOLIDAYS: \(item) is not a date YYYY-MM-DD")
                }
            }
            extraHolidays = days
        }
        if let v = value("ONE_TIME_REFRESH_TOKENS") {
            switch v.lowercased() {
            case "1", "true", "on", "yes": oneTimeRefreshTokens = true
            case "0", "false", "off", "no": oneTimeRefreshTokens = false
            default: problems.append("PASSERELLE_SIMULATOR_ONE_TIME_REFRESH_TOKENS must be true or false")
            }
        }
        if let v = value("BPCE_STRICT_GRANT_TYPES") {
            bpceStrictGrantTypes = !["0", "false", "off", "no"].contains(v.lowercased())
        }
        if let v = value("INTROSPECTION") {
            introspectionEnabled = !["0", "false", "off", "no"].contains(v.lowercased())
        }
        if let v = value("EI_SEGMENTS") {
            euroInformationSegments = Set(v.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty })
        }
        if let v = value("BPCE_BANK_CODES") {
            bpceBankCodes = Set(v.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty })
        }
        if let v = value("PUBLIC_ORIGIN") {
            let origin = v.trimmingCharacters(inSet: "/")
            let rest = origin.dropFirst("https://".count)
            if origin.hasPrefix("https://"), !rest.isEmpty, !rest.contains("/"), !rest.contains("?") {
                publicOrigin = origin
            } else {
                problems.append("PASSERELLE_SIMULATOR_PUBLIC_ORIGIN must be https://host[:port]")
            }
        }
        if let v = value("BPCE_PATH_PREFIX") { bpcePathPrefix = v.trimmingCharacters(inSet: "/") }
        if let v = value("FAULTS") {
            // "bpce:13807=503;cmcic:cic=latency=200,html"
            for entry in v.split(separator: ";") {
                let kv = entry.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, let faults = SimulatorFault.parseList(String(kv[1])), !faults.isEmpty else {
                    problems.append("PASSERELLE_SIMULATOR_FAULTS entry '\(entry)' is not bank=fault[,fault]")
                    continue
                }
                self.faults[kv[0].trimmingSpaces, default: []] += faults
            }
        }
        if !problems.isEmpty { throw Error(problems: problems) }
    }
}

extension String {
    func trimmingCharacters(inSet set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
