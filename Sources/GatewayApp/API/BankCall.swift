import GatewayCore

/// The one translation of adapter errors at the service boundary (style.md §5, docs/core.md): an `AdapterError`
/// becomes `GatewayError.upstream(bank, …)` (a timeout becomes `.upstreamTimeout`); anything else — a
/// `GatewayError`, a cancellation — passes unchanged.
func translateBankError(_ error: any Error, bank: BankID) -> any Error {
    guard let error = error as? AdapterError else { return error }
    if case .timeout = error { return GatewayError.upstreamTimeout(bank: bank) }
    return GatewayError.upstream(bank: bank, error)
}

/// Runs one bank exchange, its errors translated by `translateBankError`.
func bankCall<T>(_ bank: BankID, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw translateBankError(error, bank: bank)
    }
}
