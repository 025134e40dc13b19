import GatewayCore

/// Runs one bank exchange and translates adapter errors at the service boundary (style.md §5): an `AdapterError`
/// becomes `GatewayError.upstream(bank, …)` (a timeout becomes `.upstreamTimeout`), other errors pass unchanged.
func bankCall<T>(_ bank: BankID, _ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as AdapterError {
        if case .timeout = error { throw GatewayError.upstreamTimeout(bank: bank) }
        throw GatewayError.upstream(bank: bank, error)
    }
}
