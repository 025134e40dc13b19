/// Default lists of headers to sign. Adapters normally pass the list as per-bank data; these implement the
/// documented rules so that the adapters, the CLI and tests agree.
public enum DefaultSignedHeaders {
    /// Euro-Information (seed cmcic-becm-request-signing, protocol-reference §4.4):
    /// `(request-target) host date x-request-id`, then `digest content-type` with a body, then every `psu-*`
    /// header present (lower-cased, in message order, once each). `authorization` is never listed.
    /// - Parameters:
    ///   - hasBody: whether the request carries a body.
    ///   - presentHeaders: names of the headers the request carries (any case).
    public static func euroInformation(hasBody: Bool, presentHeaders: [String]) -> [String] {
        var names = ["(request-target)", "host", "date", "x-request-id"]
        if hasBody { names += ["digest", "content-type"] }
        return names + psuHeaders(presentHeaders, excluding: names)
    }

    /// BPCE (protocol-reference §5.6, a superset of observed practice): `(request-target) date x-request-id
    /// digest` always (an empty-body digest on GET), `content-type` with a body, every `psu-*` present.
    public static func bpce(hasBody: Bool, presentHeaders: [String]) -> [String] {
        var names = ["(request-target)", "date", "x-request-id", "digest"]
        if hasBody { names.append("content-type") }
        return names + psuHeaders(presentHeaders, excluding: names)
    }

    private static func psuHeaders(_ present: [String], excluding: [String]) -> [String] {
        var seen = Set(excluding)
        var result: [String] = []
        for name in present.map({ $0.lowercased() }) where name.hasPrefix("psu-") && seen.insert(name).inserted {
            result.append(name)
        }
        return result
    }
}
