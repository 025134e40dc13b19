import FoundationEssentials
import GatewayCore

/// Where registrations are kept: the narrow surface `RegistrationService` needs. `RegistrationStore` keeps them in
/// PostgreSQL (table `registrations`); tests of the HTTP contract use `InMemoryRegistrationRepository`
/// (GatewayAppTests), which keeps the same promises. Errors are already the API's (`GatewayError`).
///
/// Every read answers a registration as in effect at the repository's clock (`RegistrationRecord.inEffect(at:)`):
/// a BPCE change applies exactly at its activation time.
public protocol RegistrationRepository: Sendable {
    // MARK: - Reads

    /// Registration `id`, deleted ones included, if stored.
    func find(_ id: UUID) async throws -> RegistrationRecord?

    /// Every registration not deleted, newest first.
    func list() async throws -> [RegistrationRecord]

    /// Registrations usable or soon usable for `provider` in `environment` (and at `bankID` when given): `active`
    /// and `pending` ones, newest first.
    func candidates(provider: Provider, environment: Environment, bankID: BankID?) async throws -> [RegistrationRecord]

    // MARK: - The intent (docs/operations.md, "Failure modes")

    /// Stores `record` before the bank is called (status `registering`, version 0).
    /// - Throws: `GatewayError.conflict` when a registration with the same id is already stored.
    func insert(_ record: RegistrationRecord) async throws

    /// Completes intent `record` with the bank's answer: every mutable member, the version bumped.
    func complete(_ record: RegistrationRecord) async throws

    /// Turns intent `id` (still `registering`) `failed` with the bank's client id and URI, and nothing else of the
    /// bank's answer, so that `DELETE` can remove the client at the bank; `registration.failed` goes with it.
    func markFailed(_ id: UUID, clientID: String, registrationClientURI: String?) async throws

    /// Removes intent `id` (still `registering`) after the bank refused it.
    func removeIntent(_ id: UUID) async throws

    // MARK: - The bank-call lease (one change of a registration at a time, across replicas)

    /// Claims registration `id` for a change that calls the bank, for `duration` seconds, holding no connection
    /// or lock once it returns. A claim is exclusive until it is committed, released or expires.
    func claimBankCall(_ id: UUID, for duration: TimeInterval) async throws -> BankCallClaim

    /// Stores `record` (every mutable member, the version bumped) and ends the claim `lease` on it.
    /// - Throws: `GatewayError.conflict`, storing nothing, when `lease` is no longer the registration's claim (it
    ///   expired and another caller claimed it).
    func commitBankCall(_ record: RegistrationRecord, lease: UUID) async throws

    /// Ends the claim `lease` on registration `id` if it is still the registration's claim; stores nothing.
    func releaseBankCall(_ id: UUID, lease: UUID) async throws
}

/// The answer to `RegistrationRepository.claimBankCall`.
public enum BankCallClaim: Sendable, Equatable {
    /// No registration has that id.
    case noSuchRegistration
    /// Another caller's claim runs until `until`.
    case held(until: Date)
    /// The caller holds the claim `lease` (each claim a new id) on `record`, as it is now.
    case claimed(RegistrationRecord, lease: UUID)
}
