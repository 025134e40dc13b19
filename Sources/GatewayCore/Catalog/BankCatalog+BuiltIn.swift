// The built-in catalog: every ASPSP of docs/protocol.md §8. Facts tagged [?] (§0) are marked in `evidence` and
// can be corrected per deployment through PASSERELLE_BANKS_FILE without a release.

extension BankCatalog {
    /// Every bank of docs/protocol.md §8 with its URLs and quirks.
    public static let builtIn = BankCatalog(profiles: euroInformationBrands + bpceBanks)

    // MARK: - Euro-Information (docs/protocol.md §8.1)

    static let euroInformationBrands: [BankProfile] = [
        .euroInformation(
            "cm", name: "Crédit Mutuel", apiHost: "oauth2-apisi.e-i.com", webDomain: "www.creditmutuel.fr",
            languages: ["fr", "en", "de", "es"], evidence: "[P][C]"),
        .euroInformation(
            "becm", name: "Banque Européenne du Crédit Mutuel", shortName: "BECM", apiHost: "oauth2-apisi.e-i.com",
            webDomain: "www.becm.fr", languages: ["fr"], evidence: "[S][P]; web domain and languages [?]"),
        .euroInformation(
            "cic", name: "CIC", apiHost: "oauth2-apiii.e-i.com", webDomain: "www.cic.fr",
            languages: ["fr", "en", "de", "es"], evidence: "[P][C]"),
        .euroInformation(
            "cic-banqueprivee", name: "CIC Banque Privée", apiHost: "oauth2-apiii.e-i.com", webDomain: "www.cic.fr",
            languages: ["fr"], evidence: "[S]; web domain unknown, www.cic.fr assumed [?]"),
        .euroInformation(
            "banquetransatlantique", name: "Banque Transatlantique", apiHost: "oauth2-apiii.e-i.com",
            webDomain: "www.banquetransatlantique.com", languages: ["fr", "en"], evidence: "[P]; web domain [?]"),
        .euroInformation(
            "monabanq", name: "Monabanq", apiHost: "oauth2-apiii.e-i.com", webDomain: "www.monabanq.fr",
            languages: ["fr"], evidence: "[P][C]; older clients used oauth2-apisi"),
        .euroInformation(
            "beobank", name: "Beobank", country: "BE", apiHost: "oauth2-apiii.e-i.com",
            webDomain: "online.beobank.be", languages: ["en", "fr", "nl"], evidence: "[C]"),
        .euroInformation(
            "targobank-es", name: "TARGOBANK Spain", country: "ES", apiHost: "oauth2-apiii.e-i.com",
            webDomain: "www.targobank.es", languages: ["es", "cat", "fr", "en"], evidence: "[C]; languages [?]"),
    ]

    // MARK: - BPCE (docs/protocol.md §8.2)

    static let bpceBanks: [BankProfile] = [
        // Banques Populaires
        .bpce("10207", name: "Banque Populaire Rives de Paris", shortName: "BPRI", evidence: "host [C]; name [L]"),
        .bpce(
            "10807", name: "Banque Populaire Bourgogne Franche-Comté", shortName: "BPBFC",
            evidence: "host [C]; name [L]"),
        .bpce(
            "10907", name: "Banque Populaire Aquitaine Centre Atlantique", shortName: "BPACA",
            evidence: "host [C]; name [?]"),
        .bpce("13507", name: "Banque Populaire du Nord", shortName: "BPN", evidence: "host [C]; name [L]"),
        // 13807 is also Crédit Maritime Mutuel Grand Ouest (CMMGO), same codetab [S].
        .bpce("13807", name: "Banque Populaire Grand Ouest", shortName: "BPGO", evidence: "[S]"),
        .bpce("14607", name: "Banque Populaire Méditerranée", shortName: "BPMED", evidence: "host [C]; name [?]"),
        .bpce(
            "14707", name: "Banque Populaire Alsace Lorraine Champagne", shortName: "BPALC",
            evidence: "host [C]; name [?]"),
        .bpce("16607", name: "Banque Populaire du Sud", shortName: "BPS", evidence: "host [C]; name [L]"),
        .bpce(
            "16807", name: "Banque Populaire Auvergne Rhône Alpes", shortName: "BPAURA", evidence: "host [C]; name [L]"),
        .bpce("17807", name: "Banque Populaire Occitane", shortName: "BPOC", evidence: "host [C]; name [L]"),
        .bpce("18707", name: "Banque Populaire Val de France", shortName: "BPVF", evidence: "host [C]; name [L]"),
        .bpce("10548", name: "Banque de Savoie", shortName: "BDS", evidence: "host [C]; name [?]"),
        // Caisses d'Epargne (identity not offered by some CE products [P])
        .bpce(
            "11315", name: "Caisse d'Epargne CEPAC", shortName: "CEPAC", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "11425", name: "Caisse d'Epargne Normandie", shortName: "CEN", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "12135", name: "Caisse d'Epargne Bourgogne Franche-Comté", shortName: "CEBFC", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "13135", name: "Caisse d'Epargne Midi-Pyrénées", shortName: "CEMP", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "13335", name: "Caisse d'Epargne Aquitaine Poitou-Charentes", shortName: "CEAPC", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "13485", name: "Caisse d'Epargne Languedoc-Roussillon", shortName: "CELR", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "13825", name: "Caisse d'Epargne Rhône Alpes", shortName: "CERA", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "14265", name: "Caisse d'Epargne Loire Drôme Ardèche", shortName: "CELDA", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "14445", name: "Caisse d'Epargne Bretagne Pays de Loire", shortName: "CEBPL", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "14505", name: "Caisse d'Epargne Loire-Centre", shortName: "CELC", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "15135", name: "Caisse d'Epargne Grand Est Europe", shortName: "CEGEE", caisseEpargne: true,
            evidence: "host [C]; name [?]"),
        .bpce(
            "16275", name: "Caisse d'Epargne Hauts de France", shortName: "CEHF", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "17515", name: "Caisse d'Epargne Ile-de-France", shortName: "CEIDF", caisseEpargne: true,
            evidence: "[S]; host [C]; name [L]"),
        .bpce(
            "18315", name: "Caisse d'Epargne Côte d'Azur", shortName: "CECAZ", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        .bpce(
            "18715", name: "Caisse d'Epargne Auvergne et Limousin", shortName: "CEAL", caisseEpargne: true,
            evidence: "host [C]; name [L]"),
        // Other institutions: products exist [P], 89C3 codetab unconfirmed (interbank code) [?]. Natixis Wealth
        // Management, BTP Banque and Banque BCP have no known code and are left out.
        .bpce("10107", name: "BRED Banque Populaire", shortName: "BRED", evidence: "product [P][C]; codetab [L][?]"),
        .bpce("42559", name: "Crédit Coopératif", evidence: "product [P]; codetab [L][?]"),
        .bpce("40978", name: "Banque Palatine", evidence: "product [P]; codetab [L][?]"),
        .bpce("30007", name: "Natixis", evidence: "product [P]; codetab [L][?]"),
    ]
}

// MARK: - Templates

extension BankProfile {
    /// A Euro-Information brand following the platform's URL patterns (docs/protocol.md §4.1, §8.1).
    /// - Parameters:
    ///   - segment: The brand path segment (`cic`); the id becomes `cmcic:<segment>`.
    ///   - apiHost: `oauth2-apisi.e-i.com` or `oauth2-apiii.e-i.com`.
    ///   - webDomain: Host of the brand's authorization pages.
    static func euroInformation(
        _ segment: String, name: String, shortName: String? = nil, country: String = "FR", apiHost: String,
        webDomain: String, languages: [String], evidence: String
    ) -> BankProfile {
        let version = "v2.0"  // clients use v2.0; portals publish v2.1 (docs/protocol.md §4.1, §7.2) [?]
        func endpoints(_ environment: Environment) -> Endpoints {
            let root = "https://\(apiHost)/" + (environment == .sandbox ? "sandbox/" : "") + "\(segment)/"
            let authorizePath = environment == .sandbox ? "sandbox/signin.html" : "banque/oauth2_authorization.aspx"
            return Endpoints(
                apiRoot: root + "stet-psd2-api/" + version, token: root + "oauth2/token",
                registration: root + "oauth2/registrations",
                authorize: "https://\(webDomain)/oauth2/{lang}/" + authorizePath)
        }
        return BankProfile(
            id: try! BankID(provider: .euroInformation, code: segment), name: name, shortName: shortName,
            country: country, sandbox: endpoints(.sandbox), production: endpoints(.production), apiVersion: version,
            languages: languages, roles: Role.allCases, keyIdMode: .kid, registrationKeyIdMode: nil,
            // docs/protocol.md §4.4: production clients' order; PSU-* headers are appended when present.
            signedHeaders: ["(request-target)", "host", "date", "x-request-id"],
            signedHeadersWithBody: ["(request-target)", "host", "date", "x-request-id", "digest", "content-type"],
            digestWithoutBody: false, supportsPKCE: true, requiresPutConsents: false, supportsPutConsents: false,
            supportsTrustedBeneficiaries: true, supportsIdentity: true, registrationScopeSeparator: " ",
            tokenDefaults: TokenDefaults(accessTokenSeconds: 3600, refreshTokenSeconds: nil, refreshTokenRotates: true),
            evidence: evidence)
    }

    /// A BPCE bank following the 89C3 URL patterns (docs/protocol.md §5.1, §8.2).
    /// - Parameters:
    ///   - codetab: The 5-digit bank code; the id becomes `bpce:<codetab>`.
    ///   - caisseEpargne: Caisses d'Epargne do not offer identity on some products [P].
    static func bpce(
        _ codetab: String, name: String, shortName: String? = nil, caisseEpargne: Bool = false, evidence: String
    ) -> BankProfile {
        func endpoints(_ environment: Environment) -> Endpoints {
            let host = "https://www.\(codetab).\(environment == .sandbox ? "sandbox" : "live").api.89c3.com"
            return Endpoints(
                apiRoot: host + "/stet/psd2/v1", token: host + "/stet/psd2/oauth/token",
                registration: host + "/stet/setting/v1/register", authorize: host + "/stet/psd2/oauth/authorize")
        }
        var profile = BankProfile(
            id: try! BankID(provider: .bpce, code: codetab), name: name, shortName: shortName, country: "FR",
            sandbox: endpoints(.sandbox), production: endpoints(.production), apiVersion: "v1", languages: ["fr"],
            roles: Role.allCases, keyIdMode: .clientId, registrationKeyIdMode: .url,
            // docs/protocol.md §5.5: a superset of observed practice; digest always, content-type with a body.
            signedHeaders: ["(request-target)", "date", "x-request-id", "digest"],
            signedHeadersWithBody: ["(request-target)", "date", "x-request-id", "digest", "content-type"],
            digestWithoutBody: true, supportsPKCE: false, requiresPutConsents: true, supportsPutConsents: true,
            // Trusted beneficiaries are not offered by BP/CE [P] (override per bank where they are).
            supportsTrustedBeneficiaries: false, supportsIdentity: !caisseEpargne, registrationScopeSeparator: ", ",
            // Access 3600 s, refresh 90 days from the SCA, refresh token not rotated [S] (docs/protocol.md §5.3).
            tokenDefaults: TokenDefaults(
                accessTokenSeconds: 3600, refreshTokenSeconds: 90 * 86_400, refreshTokenRotates: false),
            evidence: evidence)
        profile.lenientJSON = true
        return profile
    }
}
