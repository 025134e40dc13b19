import CurlKit
import GatewayCore

/// Which adapter serves which provider (docs/adapters.md); built once by the application and immutable.
public struct AdapterRegistry: Sendable {
    private let adapters: [Provider: any BankAdapter]

    /// A registry of exactly these adapters; a later adapter for the same provider replaces an earlier one.
    public init(_ adapters: [any BankAdapter]) {
        var map: [Provider: any BankAdapter] = [:]
        for adapter in adapters { map[adapter.provider] = adapter }
        self.adapters = map
    }

    /// The Euro-Information and BPCE adapters over one set of dependencies.
    public static func standard(dependencies: AdapterDependencies) -> AdapterRegistry {
        AdapterRegistry([EuroInformationAdapter(dependencies: dependencies), BPCEAdapter(dependencies: dependencies)])
    }

    /// The production adapters over `transport` as the dictionary `Application(makeAdapters:)` wants:
    /// `makeAdapters: { AdapterRegistry.standard(transport: $0).byProvider }`.
    public static func standard(transport: any HTTPTransport) -> AdapterRegistry {
        standard(dependencies: AdapterDependencies(transport: transport))
    }

    /// Every adapter by provider.
    public var byProvider: [Provider: any BankAdapter] { adapters }

    /// The adapter of `provider`, if any.
    public subscript(provider: Provider) -> (any BankAdapter)? { adapters[provider] }

    /// The adapter of `provider`.
    /// - Throws: `AdapterError.internalFailure` when the registry has none (a wiring mistake).
    public func adapter(for provider: Provider) throws -> any BankAdapter {
        guard let adapter = adapters[provider] else { throw AdapterError.internalFailure(reason: "no adapter for \(provider)") }
        return adapter
    }

    /// The adapter of the bank's provider.
    public func adapter(for bank: BankProfile) throws -> any BankAdapter { try adapter(for: bank.provider) }

    /// The providers served.
    public var providers: [Provider] { Provider.allCases.filter { adapters[$0] != nil } }
}
