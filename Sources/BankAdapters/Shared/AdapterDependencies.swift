import CurlKit
import FoundationEssentials
import GatewayCore
import GatewayLogging

/// What every bank adapter is built from (injected, no global state, so tests replace any): the outbound
/// transport, the cache of parsed certificates and keys, the clock, the `X-Request-ID` generator and the BPCE
/// activation calendar. Tests inject a recording transport, a fixed clock and fixed request ids.
public struct AdapterDependencies: Sendable {
    /// Sends the requests (libcurl `CurlTransport` in production).
    public var transport: any HTTPTransport
    /// Parsed certificates, mTLS identities and signing keys, shared by all adapters.
    public var credentials: SignerCache
    /// "Now" for `Date` headers, token expiries and activation times.
    public var now: @Sendable () -> Date
    /// A fresh `X-Request-ID` per outbound call (UUID v4, lowercase, by default).
    public var newRequestID: @Sendable () -> String
    /// When a BPCE registration becomes active (14:00 Paris rule, French holidays).
    public var activationCalendar: ActivationCalendar

    /// - Parameters:
    ///   - transport: The outbound HTTPS transport.
    ///   - credentials: The shared certificate and key cache.
    ///   - now: The wall clock.
    ///   - newRequestID: The request-id generator (`X-Request-Id` of each bank call).
    ///   - activationCalendar: BPCE's working-day calendar.
    public init(
        transport: any HTTPTransport, credentials: SignerCache = SignerCache(),
        now: @escaping @Sendable () -> Date = { Date() },
        newRequestID: @escaping @Sendable () -> String = { CorrelationID.generate() },
        activationCalendar: ActivationCalendar = ActivationCalendar()
    ) {
        self.transport = transport
        self.credentials = credentials
        self.now = now
        self.newRequestID = newRequestID
        self.activationCalendar = activationCalendar
    }
}
