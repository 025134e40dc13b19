import FoundationEssentials
import GatewayCore
import OpenSSLKit

/// The checks a registration passes before any bank is called (docs/adapters.md "Pre-flight checks"): what the
/// banks are known to refuse, each answered with a 422 that names the field and the fix, so that nothing is sent
/// that the bank would turn down after the fact (and, at BPCE, after a registration token was spent).
struct RegistrationPreflight: Sendable {
    let store: any RegistrationRepository

    /// The PSD2 role (ETSI TS 119 495 `rolesOfPSP`) each registration role needs in the certificates.
    static let requiredPSD2Role: [Role: String] = [.aisp: "PSP_AI", .pisp: "PSP_PI", .cbpii: "PSP_IC"]

    /// - Parameters:
    ///   - record: The registration as it would be sent (its id excluded from the reuse check).
    ///   - qwac, qseal: Its certificates.
    /// - Throws: `GatewayError.refusedFields` naming every problem found.
    func check(_ record: RegistrationRecord, qwac: StoredCertificate, qseal: StoredCertificate) async throws {
        var issues: [FieldIssue] = []
        // Both certificates' PSD2 QCStatement must grant each role (BPCE seed: "The API resources can only be used
        // by Payment Service Providers (PSP) having a Account Information Service Providers (AISP) role"), except in
        // the Euro-Information sandbox, where "a qualified TPP may also register scopes and then use APIs that do
        // not match their authorized role" (seed cmcic-becm-registration).
        let rolesChecked = !(record.provider == .euroInformation && record.environment == .sandbox)
        for role in record.roles where rolesChecked {
            guard let needed = Self.requiredPSD2Role[role] else { continue }
            for (field, certificate) in [("qwacCertificateId", qwac), ("qsealCertificateId", qseal)]
            where !certificate.roles.contains(needed) {
                issues.append(
                    FieldIssue(
                        field: field,
                        message: "its PSD2 QCStatement does not grant \(needed), which role \(role.rawValue) needs: "
                            + "drop the role or use a certificate that grants it"))
            }
        }
        // ETSI TS 119 495 organisation identifier (BPCE seed: "PSDXX-YYYYYYYY-ZZZZZZZZ"); both banks send it.
        if !Self.isOrganizationIdentifier(qseal.organizationIdentifier, prefix: "PSD") {
            issues.append(
                FieldIssue(
                    field: "qsealCertificateId",
                    message: "its organizationIdentifier \(qseal.organizationIdentifier) is not PSDXX-YYYY-ZZZZ: "
                        + "the bank takes it as provider_legal_id; use a PSD2 QSealC"))
        }
        switch record.provider {
        case .euroInformation:
            // Seed cmcic-becm-registration: "specifying, for each key object, the full certificate chain".
            if !Self.isCompleteChain(qseal.chainPEM) {
                issues.append(
                    FieldIssue(
                        field: "qsealCertificateId",
                        message: "its uploaded chain is incomplete: Euro-Information wants the full chain; upload "
                            + "the QSealC again with every intermediate certificate after it"))
            }
        case .bpce:
            // Seed bpce-89c3-registration-api: "eIDAS certificates signed with “rsassaPss” cryptographic algorihtm
            // are not accepted".
            for (field, certificate) in [("qwacCertificateId", qwac), ("qsealCertificateId", qseal)]
            where Self.isSignedWithPSS(certificate.certificatePEM) {
                issues.append(
                    FieldIssue(
                        field: field,
                        message: "it is signed with RSASSA-PSS, which BPCE refuses: use a certificate signed with "
                            + "RSASSA-PKCS1-v1_5"))
            }
            if let agent = record.clientLegalID, !Self.isOrganizationIdentifier(agent, prefix: "AGT") {
                issues.append(
                    FieldIssue(
                        field: "clientLegalId",
                        message: "BPCE wants an agent identifier like AGTFR-ACPR-12345001 (AGTXX-YYYY-ZZZZ)"))
            }
            // Seed: "if a TPP requires a new profile (= new cliend_ID), it has to use another set of eIDAS
            // certifciates".
            let others = try await store.candidates(provider: .bpce, environment: record.environment, bankID: nil)
                .filter { $0.id != record.id }
            for (field, id) in [("qwacCertificateId", qwac.id), ("qsealCertificateId", qseal.id)] {
                if let other = others.first(where: { $0.qwacCertificateID == id || $0.qsealCertificateID == id }) {
                    issues.append(
                        FieldIssue(
                            field: field,
                            message: "already used by BPCE registration \(other.id.uuidString.lowercased()): BPCE "
                                + "wants another set of certificates for another client; update or delete that one"))
                }
            }
        }
        guard issues.isEmpty else { throw GatewayError.refusedFields(issues) }
    }

    /// `<prefix>XX-YYYY-ZZZZ` (ETSI TS 119 495 §5.2.1): the prefix and an ISO country in capitals, `-`, the NCA id
    /// (2–8 capitals), `-`, an identifier of letters and digits.
    static func isOrganizationIdentifier(_ s: String, prefix: String) -> Bool {
        let parts = s.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == prefix.count + 2, parts[0].hasPrefix(prefix) else { return false }
        let capitals = { (t: Substring) in t.allSatisfy { $0.isASCII && $0.isUppercase } }
        return capitals(parts[0].dropFirst(prefix.count)) && (2...8).contains(parts[1].count) && capitals(parts[1])
            && !parts[2].isEmpty && parts[2].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }

    /// The leaf followed by its issuer and each next issuer: at least two certificates, each issued by the next.
    static func isCompleteChain(_ pem: String) -> Bool {
        guard let chain = try? Certificate.chain(pem: pem), chain.count >= 2 else { return false }
        return zip(chain, chain.dropFirst()).allSatisfy { $0.issuer == $1.subject }
    }

    static func isSignedWithPSS(_ pem: String) -> Bool {
        (try? Certificate(pem: pem))?.isRSASSAPSS ?? false
    }
}
