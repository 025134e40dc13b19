import GatewayCore

/// The one translation of adapter errors at the service boundary (docs/architecture.md): an `AdapterError`
/// becomes `GatewayError.upstream(bank, …)` (a refused refresh token keeps the bank's code and is sent as
/// `reauthorization-required`) — except a timeout (`.upstreamTimeout`) and the errors no bank took part in
/// (`notCallable` → 422, `internalFailure` → 500); anything else — a `GatewayError`, a cancellation — passes
/// unchanged.
func translateBankError(_ error: any Error, bank: BankID) -> any Error {
    guard let error = error as? AdapterError else { return error }
    switch error {
    case .timeout: return GatewayError.upstreamTimeout(bank: bank)
    case .notCallable(let reason): return GatewayError.unprocessable("\(bank): \(reason)")
    case .internalFailure(let reason): return GatewayError.internal("\(bank): \(reason)")
    default: return GatewayError.upstream(bank: bank, error)
    }
}

/// Runs one bank exchange, its errors translated by `translateBankError`.
func bankCall<T>(_ bank: BankID, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        throw translateBankError(error, bank: bank)
    }
}
