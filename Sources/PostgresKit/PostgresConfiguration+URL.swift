internal import CLibPQ
import GatewayLogging

extension PostgresConfiguration {
    /// True when libpq accepts `url`'s syntax (`PQconninfoParse`): a `postgresql://` URL or a `key=value`
    /// connection string with known keywords. Says nothing about whether the server is reachable. The
    /// configuration reader checks this at start-up, so that a malformed URL is reported at once, never retried.
    /// - SeeAlso: `PQconninfoParse`
    public static func isWellFormed(url: Secret<String>) -> Bool {
        // libpq's parse error text quotes the offending part of the URL, which may be the password: dropped.
        var parseError: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url.reveal, &parseError) else {
            if let parseError { PQfreemem(parseError) }
            return false
        }
        PQconninfoFree(options)
        return true
    }
}
