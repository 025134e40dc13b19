import FoundationEssentials
import GatewayLogging

/// A TPP certificate with its key, as loaded from storage for one bank call. The adapter turns it into an mTLS
/// identity (QWAC) or a signer (QSealC) with OpenSSLKit; nothing here parses it.
public struct CertificateMaterial: Sendable {
    /// The certificate's id in Passerelle.
    public var id: String
    /// PEM, leaf first, then the chain.
    public var certificatePEM: String
    /// PEM private key (decrypted), never logged.
    public var privateKeyPEM: Secret<String>

    /// Memberwise initializer.
    public init(id: String, certificatePEM: String, privateKeyPEM: Secret<String>) {
        self.id = id
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }
}

/// Who Passerelle is at one bank for one call: the catalog entry and environment, the TPP's certificates, and the
/// client it registered (absent while registering).
public struct BankClient: Sendable {
    /// The catalog entry whose URLs and rules apply.
    public var bank: BankProfile
    /// Sandbox or production.
    public var environment: Environment
    /// QWAC for mutual TLS.
    public var qwac: CertificateMaterial
    /// QSealC for Cavage signatures.
    public var qseal: CertificateMaterial
    /// The registration's `client_id`.
    public var clientID: String?
    /// The `keyId` to sign with, already resolved for the bank's `keyIdMode` (bank `kid`, `x5u`, `client_id`, URL).
    public var keyID: String?

    /// Memberwise initializer.
    public init(
        bank: BankProfile, environment: Environment, qwac: CertificateMaterial, qseal: CertificateMaterial,
        clientID: String? = nil, keyID: String? = nil
    ) {
        self.bank = bank
        self.environment = environment
        self.qwac = qwac
        self.qseal = qseal
        self.clientID = clientID
        self.keyID = keyID
    }

    /// The URLs of this environment.
    /// - Throws: `AdapterError.notCallable` when the bank has no such environment in the catalog.
    public func endpoints() throws -> BankProfile.Endpoints {
        guard let endpoints = bank.endpoints(for: environment) else {
            throw AdapterError.notCallable(reason: "environment: \(bank.id) has no \(environment) environment")
        }
        return endpoints
    }
}

/// What the TPP asks a bank to register (`POST /v1/registrations`, `openapi/passerelle.yaml`), resolved by the service.
public struct RegistrationRequest: Sendable, Hashable {
    /// Contact person for the bank.
    public struct Contact: Sendable, Hashable, Codable {
        /// Display name.
        public var name: String
        /// Email address.
        public var email: String
        /// Phone number, international format.
        public var phone: String?
    }

    /// Name shown to customers (unique at BPCE).
    public var clientName: String
    /// Every redirect URI later used in authorization flows.
    public var redirectURIs: [String]
    /// The TPP roles.
    public var roles: [Role]
    /// Ask for `extended_transaction_history` with `aisp` (Euro-Information).
    public var extendedTransactionHistory: Bool
    /// Who the bank may contact.
    public var contact: Contact
    /// Shown to the PSU during SCA (BPCE `software_id`).
    public var softwareID: String?
    /// Logo shown to customers (`logo_uri`, may be a `data:` URI).
    public var logoURI: String?
    /// Agent id (BPCE `client_legal_id`).
    public var clientLegalID: String?
    /// The TPP's organisation identifier from the QSealC (`PSDFR-ACPR-12345`).
    public var providerLegalID: String
    /// The key id the TPP chooses for its JWK where the bank lets it (BPCE `kid`).
    public var keyID: String
    /// A URL serving the QSealC (JWK `x5u` at Euro-Information, `keyId` of BPCE registration calls), when configured.
    public var certificateURL: String?

    /// Memberwise initializer.
    public init(
        clientName: String, redirectURIs: [String], roles: [Role], extendedTransactionHistory: Bool = false,
        contact: Contact, softwareID: String? = nil, logoURI: String? = nil, clientLegalID: String? = nil,
        providerLegalID: String, keyID: String, certificateURL: String? = nil
    ) {
        self.clientName = clientName
        self.redirectURIs = redirectURIs
        self.roles = roles
        self.extendedTransactionHistory = extendedTransactionHistory
        self.contact = contact
        self.softwareID = softwareID
        self.logoURI = logoURI
        self.clientLegalID = clientLegalID
        self.providerLegalID = providerLegalID
        self.keyID = keyID
        self.certificateURL = certificateURL
    }
}

/// What a bank answered to a registration call, to store.
public struct RegistrationResult: Sendable, Hashable {
    /// One key the bank knows for the client.
    public struct Key: Sendable, Hashable, Codable {
        /// The Passerelle certificate (QSealC) this key belongs to, when the adapter could match it.
        public var certificateID: String?
        /// The JWK `kid` (bank-generated at Euro-Information, ours at BPCE).
        public var kid: String?
        /// SHA-256 fingerprint (hex) of the leaf certificate, to match keys (docs/protocol.md §4.2).
        public var sha256Fingerprint: String?

        /// Memberwise initializer.
        public init(certificateID: String? = nil, kid: String?, sha256Fingerprint: String?) {
            self.certificateID = certificateID
            self.kid = kid
            self.sha256Fingerprint = sha256Fingerprint
        }
    }

    /// The `client_id` the bank assigned.
    public var clientID: String
    /// RFC 7592 `registration_client_uri` (Euro-Information); use verbatim for read, update, delete.
    public var registrationClientURI: String?
    /// The `keyId` to sign PSD2 calls with, resolved for the bank's `keyIdMode`.
    public var keyID: String?
    /// The keys the bank knows for the client.
    public var keys: [Key]
    /// `active` (Euro-Information) or `pending` (BPCE, until `activatesAt`).
    public var status: RegistrationStatus
    /// When a pending registration becomes usable (BPCE).
    public var activatesAt: Date?
    /// The request body as sent and the response as received, secrets excluded, for support.
    public var requestBody: String
    /// The bank's response body, secrets excluded, for support.
    public var responseBody: String
    /// The bank's HTTP status.
    public var httpStatus: Int

    /// Memberwise initializer.
    public init(
        clientID: String, registrationClientURI: String? = nil, keyID: String?, keys: [Key], status: RegistrationStatus,
        activatesAt: Date? = nil, requestBody: String, responseBody: String, httpStatus: Int
    ) {
        self.clientID = clientID
        self.registrationClientURI = registrationClientURI
        self.keyID = keyID
        self.keys = keys
        self.status = status
        self.activatesAt = activatesAt
        self.requestBody = requestBody
        self.responseBody = responseBody
        self.httpStatus = httpStatus
    }
}

/// A registration as stored, enough to read, update or delete it at the bank.
public struct RegistrationReference: Sendable, Hashable {
    /// The `client_id` the bank assigned.
    public var clientID: String
    /// RFC 7592 `registration_client_uri`, when the bank returned one.
    public var registrationClientURI: String?
    /// The keys currently registered (kept side by side during a Euro-Information rotation).
    public var keys: [RegistrationResult.Key]

    /// Memberwise initializer.
    public init(clientID: String, registrationClientURI: String? = nil, keys: [RegistrationResult.Key] = []) {
        self.clientID = clientID
        self.registrationClientURI = registrationClientURI
        self.keys = keys
    }
}
