import GatewayCore
import Testing

/// The catalog's per-bank signed-header data is the one rule the adapters and `passerelle sign-request` sign by;
/// here it is held to the banks' documented lists (docs/crypto.md): Euro-Information `(request-target) host date
/// x-request-id` (+ `digest content-type` with a body), BPCE `(request-target) date x-request-id digest`
/// (+ `content-type`), then every `psu-*` header present, lower-cased, once, in message order.
@Suite struct SignedHeadersConsistencyTests {
    @Test(arguments: [true, false])
    func everyBuiltInBankSignsItsDocumentedHeaders(hasBody: Bool) {
        let present = [
            "Host", "Date", "X-Request-ID", "Digest", "Content-Type", "PSU-IP-Address", "Authorization",
            "psu-ip-address", "PSU-Device-ID",
        ]
        for profile in BankCatalog.builtIn.all {
            let base: [String] =
                switch profile.provider {
                case .euroInformation:
                    ["(request-target)", "host", "date", "x-request-id"] + (hasBody ? ["digest", "content-type"] : [])
                case .bpce: ["(request-target)", "date", "x-request-id", "digest"] + (hasBody ? ["content-type"] : [])
                }
            #expect(
                profile.headersToSign(hasBody: hasBody, presentHeaders: present) == base + ["psu-ip-address", "psu-device-id"],
                "\(profile.id)")
        }
    }
}
