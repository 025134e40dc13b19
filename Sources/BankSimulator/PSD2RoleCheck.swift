/// Registration scopes against the PSD2 roles of the certificates that ask for them (ETSI TS 119 495 §5.1): BPCE
/// serves its APIs only to a PSP "having a Account Information Service Providers (AISP) role" (seed
/// bpce-89c3-registration-api), and Euro-Information production checks the roles too, while its sandbox lets "a
/// qualified TPP … register scopes … that do not match their authorized role" (seed cmcic-becm-registration);
/// docs/simulator.md.
enum PSD2RoleCheck {
    /// The role each registration scope needs; other scopes (`extended_transaction_history`) need none.
    static let roleOfScope = ["aisp": "PSP_AI", "pisp": "PSP_PI", "cbpii": "PSP_IC"]

    /// The first scope a certificate does not grant, described for the bank's `error_description`, or nil.
    static func refusal(
        scopes: [String], certificates: [(name: String, info: SimulatorCertificateInfo)]
    ) -> String? {
        for scope in scopes {
            guard let role = roleOfScope[scope] else { continue }
            if let missing = certificates.first(where: { !$0.info.psd2Roles.contains(role) }) {
                return "scope \(scope) needs the PSD2 role \(role), which the \(missing.name) does not grant"
            }
        }
        return nil
    }
}
