import GatewayLogging

/// Everything Passerelle knows about one ASPSP, as data (docs/protocol.md §4, §5, §6, §8): its URLs per
/// environment, the API version, how it wants requests signed, and its quirks. Built in for every bank of
/// docs/protocol.md §8 (`BankCatalog.builtIn`) and overridable per bank and environment from `PASSERELLE_BANKS_FILE`.
public struct BankProfile: Hashable, Sendable, Codable {
    /// How the `keyId` of a Cavage signature is chosen (docs/protocol.md §4.6, §5.5).
    public enum KeyIDMode: String, Hashable, Sendable, Codable, CaseIterable {
        /// The `kid` the bank generated for the registered JWK (Euro-Information).
        case kid
        /// The `x5u` URL registered in the JWK (Euro-Information alternative).
        case x5u
        /// The registration's `client_id` (BPCE PSD2 calls).
        case clientId
        /// A URL, served by the TPP, that returns the QSealC (BPCE registration calls).
        case url
    }

    /// The URLs of one environment. All absolute `https` URLs.
    public struct Endpoints: Hashable, Sendable, Codable {
        /// Base of the STET resources, without a trailing slash: `https://oauth2-apiii.e-i.com/sandbox/cic/stet-psd2-api/v2.0`,
        /// `https://www.13807.sandbox.api.89c3.com/stet/psd2/v1`. `_links` are resolved against its *host* only.
        public var apiRoot: String
        /// The OAuth token endpoint.
        public var token: String
        /// Registration endpoint: RFC 7591 `…/oauth2/registrations` (EI) or `…/stet/setting/v1/register` (BPCE).
        public var registration: String
        /// The browser authorization endpoint. For Euro-Information, `{lang}` is replaced by the chosen language.
        public var authorize: String
    }

    /// Token lifetimes used when the bank omits them (docs/protocol.md §2.3: trust `expires_in` when present).
    public struct TokenDefaults: Hashable, Sendable, Codable {
        /// Access-token lifetime in seconds when the token response has no `expires_in`.
        public var accessTokenSeconds: Int
        /// Refresh-token lifetime in seconds from the SCA, or `nil` when unknown (Euro-Information).
        public var refreshTokenSeconds: Int?
        /// Whether a refresh returns a new refresh token (BPCE: no, the same one comes back).
        public var refreshTokenRotates: Bool
    }

    /// Identifier.
    public var id: BankID
    /// The provider.
    public var provider: Provider { id.provider }
    /// Display name (`CIC`, `Banque Populaire Grand Ouest`).
    public var name: String
    /// Abbreviation for display (`BPGO`); display only.
    public var shortName: String?
    /// ISO 3166 country.
    public var country: String
    /// Sandbox URLs, when the bank has a sandbox.
    public var sandbox: Endpoints?
    /// Production URLs.
    public var production: Endpoints?
    /// STET API version segment (`v2.0`, `v1`), informational: `apiRoot` already contains it.
    public var apiVersion: String
    /// Languages of the authorization pages, first is the default (Euro-Information `{lang}`).
    public var languages: [String]
    /// Roles the bank offers.
    public var roles: [Role]
    /// `keyId` rule for PSD2 calls.
    public var keyIdMode: KeyIDMode
    /// `keyId` rule for registration calls, or `nil` when they are not signed (Euro-Information: mTLS only).
    public var registrationKeyIdMode: KeyIDMode?
    /// Signed headers for a request without a body, in order (lowercase; `(request-target)` included).
    public var signedHeaders: [String]
    /// Signed headers for a request with a body, in order.
    public var signedHeadersWithBody: [String]
    /// Whether a `Digest` of the empty body is sent (and signed) on requests without a body (BPCE).
    public var digestWithoutBody: Bool
    /// A quirk: the bank's bodies may be JSON5 rather than RFC 8259 JSON (trailing commas appear in BPCE's
    /// published samples), so a body the strict reader refuses is read again with JSON5 syntax accepted. Off, a
    /// non-JSON body is an invalid response.
    public var lenientJSON = false
    /// Whether PKCE S256 is sent on the authorize URL and `code_verifier` on the code exchange.
    public var supportsPKCE: Bool
    /// Whether `PUT /consents` is required before balances and transactions (BPCE).
    public var requiresPutConsents: Bool
    /// Whether `PUT /consents` is called at all (Euro-Information: accepted as a no-op).
    public var supportsPutConsents: Bool
    /// Whether `GET /trusted-beneficiaries` is offered.
    public var supportsTrustedBeneficiaries: Bool
    /// Whether `GET /end-user-identity` is offered.
    public var supportsIdentity: Bool
    /// Separator of the registration `scope` (Euro-Information `" "`, BPCE `", "`).
    public var registrationScopeSeparator: String
    /// Token lifetimes used when the bank omits them.
    public var tokenDefaults: TokenDefaults
    /// Where the facts come from: the evidence tags of docs/protocol.md §0 (`[S]`, `[P]`, `[C]`, `[L]`, `[?]`).
    public var evidence: String

    /// The URLs of `environment`, if the bank has it.
    public func endpoints(for environment: Environment) -> Endpoints? {
        switch environment {
        case .sandbox: sandbox
        case .production: production
        }
    }

    /// The header names to sign for one request, in order: `signedHeaders` or `signedHeadersWithBody`, then every
    /// `psu-*` header the request carries (lowercased, in message order, once each), which Euro-Information requires
    /// to be signed when present (docs/protocol.md §4.4). The one rule: the adapters and `passerelle sign-request --bank`
    /// sign by it.
    /// - Parameters:
    ///   - hasBody: Whether the request carries a body.
    ///   - presentHeaders: Names of the headers the request carries (any case).
    public func headersToSign(hasBody: Bool, presentHeaders: [String]) -> [String] {
        var names = hasBody ? signedHeadersWithBody : signedHeaders
        names.reserveCapacity(names.count + presentHeaders.count)
        for header in presentHeaders where ASCII.hasPrefixIgnoringCase(header, "psu-") {
            let name = ASCII.lowercased(header)
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// The environments this bank has URLs for.
    public var environments: [Environment] { Environment.allCases.filter { endpoints(for: $0) != nil } }

    /// The `GET /v1/banks` entry.
    public var summary: BankSummary {
        BankSummary(
            id: id, provider: provider, name: name, shortName: shortName, country: country,
            environments: environments, roles: roles,
            features: BankSummary.Features(
                trustedBeneficiaries: supportsTrustedBeneficiaries, identity: supportsIdentity,
                consentsRequired: requiresPutConsents))
    }
}

/// One entry of `GET /v1/banks` and the body of `GET /v1/banks/{bankId}`.
public struct BankSummary: Hashable, Sendable, Codable {
    /// Optional AIS features, so a TPP knows before asking.
    public struct Features: Hashable, Sendable, Codable {
        /// Whether trusted beneficiaries may be read.
        public var trustedBeneficiaries: Bool
        /// Whether the customer's identity may be read.
        public var identity: Bool
        /// `PUT /v1/connections/{id}/consents` must be called before balances and transactions.
        public var consentsRequired: Bool
    }

    /// Identifier.
    public var id: BankID
    /// The provider.
    public var provider: Provider
    /// Display name.
    public var name: String
    /// Abbreviation for display.
    public var shortName: String?
    /// ISO 3166-1 alpha-2 country.
    public var country: String
    /// The environments the bank has URLs for.
    public var environments: [Environment]
    /// The TPP roles.
    public var roles: [Role]
    /// Optional AIS features.
    public var features: Features
}
