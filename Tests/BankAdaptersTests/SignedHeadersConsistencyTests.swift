import GatewayCore
import OpenSSLKit
import Testing

/// The catalog's per-bank signed-header data and OpenSSLKit's documented defaults must agree for the built-in banks,
/// so the adapters (which read the catalog) sign what the simulator's verifier expects.
@Suite struct SignedHeadersConsistencyTests {
    @Test(arguments: [true, false])
    func catalogMatchesOpenSSLKitDefaults(hasBody: Bool) {
        let present = ["Host", "Date", "X-Request-ID", "Digest", "Content-Type", "PSU-IP-Address", "PSU-Device-ID"]
        for profile in BankCatalog.builtIn.all {
            let expected =
                switch profile.provider {
                case .euroInformation: DefaultSignedHeaders.euroInformation(hasBody: hasBody, presentHeaders: present)
                case .bpce: DefaultSignedHeaders.bpce(hasBody: hasBody, presentHeaders: present)
                }
            #expect(profile.headersToSign(hasBody: hasBody, presentHeaders: present) == expected, "\(profile.id)")
        }
    }
}
