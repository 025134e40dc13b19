import GatewayCore

/// The bank adapters the application talks through, one per provider. Built once in the composition root (from the
/// real adapters, or TestSupport's `FakeBankAdapter`s in tests); services never construct adapters themselves.
public struct AdapterDirectory: Sendable {
    let adapters: [Provider: any BankAdapter]

    /// - Parameter adapters: One adapter per provider; a provider left out answers 501 on use.
    public init(_ adapters: [any BankAdapter]) {
        var byProvider: [Provider: any BankAdapter] = [:]
        for adapter in adapters { byProvider[adapter.provider] = adapter }
        self.adapters = byProvider
    }

    /// - Parameter adapters: The adapters by provider, as the composition root holds them.
    public init(byProvider adapters: [Provider: any BankAdapter]) { self.adapters = adapters }

    /// The adapter for `bank`'s provider.
    /// - Throws: `GatewayError.unsupportedByBank` when no adapter serves that provider.
    func adapter(for bank: BankID) throws -> any BankAdapter {
        guard let adapter = adapters[bank.provider] else {
            throw GatewayError.unsupportedByBank(bank: bank, feature: "bank calls (no adapter configured)")
        }
        return adapter
    }
}
