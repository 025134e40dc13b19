import HTTPServerKit

/// `/__simulator/…`: a path no bank has, for tests and demos in other processes.
///
/// - `GET  /__simulator/counters` — requests, rejections, token issuances per client, refreshes per refresh-token
///   generation and per client, reuse attempts of one-time refresh tokens, registration operations per client.
/// - `GET  /__simulator/tokens?client_id=…` — every access and refresh token issued to a client (tests look for them
///   where they must never appear: the gateway's logs and audit rows).
/// - `POST /__simulator/reset` — forget every registration, token, consent, payment and counter.
/// - `POST /__simulator/clock/advance?seconds=N` — move the simulator clock; `GET /__simulator/clock` reads it.
/// - `POST /__simulator/refresh-tokens/expire?client_id=…[&persona=…]` (or `refresh_token=…`) — expire refresh tokens.
/// - `POST /__simulator/registrations/activate?client_id=…` — make a pending BPCE registration active now.
/// - `POST /__simulator/faults?bank=bpce:13807&fault=503[&count=N][&path=payment-requests][&method=POST]` — inject
///   faults into the next N requests of a bank (`*`, `cmcic`, `bpce`, `cmcic:<segment>`, `bpce:<codetab>`), only
///   those whose path contains `path` and whose method is `method` when given, or until `DELETE /__simulator/faults`.
/// - the counters include `paymentsByInformationId` and `paymentsByEndToEndId` (payment requests accepted per id).
extension BankSimulator {
    func introspection(_ request: HTTPRequest, rest: [String]) -> HTTPResponse {
        func json(_ status: Int, _ v: JSON) -> HTTPResponse { .json(status, v.bytes) }
        let now = clock.now()
        switch (request.method, rest) {
        case (.get, ["counters"]):
            let c = store.state.withLock { $0.counters }
            func dict(_ d: [String: Int]) -> JSON {
                .object(d.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })
            }
            return json(
                200,
                .object([
                    ("requests", .number(Double(c.requests))), ("requestsByBank", dict(c.requestsByBank)),
                    ("rejections", .number(Double(c.rejections))),
                    ("tokenIssuancesByClient", dict(c.tokenIssuancesByClient)),
                    (
                        "refreshesByGeneration",
                        dict(
                            Dictionary(uniqueKeysWithValues: c.refreshesByGeneration.map { (String($0.key), $0.value) })
                        )
                    ),
                    ("refreshesByClient", dict(c.refreshesByClient)),
                    ("refreshReuseAttempts", .number(Double(c.refreshReuseAttempts))),
                    ("paymentsByInformationId", dict(c.paymentsByInformationId)),
                    ("paymentsByEndToEndId", dict(c.paymentsByEndToEndId)),
                    (
                        "registrationsByClient",
                        .object(c.registrationsByClient.sorted { $0.key < $1.key }.map { ($0.key, dict($0.value)) })
                    ),
                ]))
        case (.get, ["tokens"]):
            guard let clientID = request.queryValue("client_id") else { return .text(400, "client_id is required") }
            let (access, refresh) = store.state.withLock { s -> ([String], [String]) in
                let families = s.families.values.filter { $0.clientID == clientID }
                return (
                    families.flatMap(\.accessTokens).sorted(),
                    families.flatMap { [$0.currentRefreshToken] + $0.oldRefreshTokens }.sorted())
            }
            return json(
                200,
                .object([
                    ("accessTokens", .array(access.map { .string($0) })),
                    ("refreshTokens", .array(refresh.map { .string($0) })),
                ]))
        case (.post, ["reset"]):
            store.reset()
            return HTTPResponse(status: 204)
        case (.get, ["clock"]):
            return json(
                200, .object([("now", .string(ParisCalendar.timestamp(now))), ("epochSeconds", .number(Double(now)))]))
        case (.post, ["clock", "advance"]):
            guard let s = request.queryValue("seconds").flatMap(Int64.init) else {
                return .text(400, "seconds=N is required")
            }
            clock.advance(by: s)
            return json(200, .object([("now", .string(ParisCalendar.timestamp(clock.now())))]))
        case (.post, ["refresh-tokens", "expire"]):
            let clientID = request.queryValue("client_id")
            let persona = request.queryValue("persona").flatMap(Persona.named)?.id
            let token = request.queryValue("refresh_token")
            guard clientID != nil || token != nil else { return .text(400, "client_id or refresh_token is required") }
            let n = store.state.withLock { s -> Int in
                var count = 0
                for (id, var f) in s.families {
                    let hit =
                        (token != nil && (f.currentRefreshToken == token || f.oldRefreshTokens.contains(token!)))
                        || (clientID != nil && f.clientID == clientID && (persona == nil || f.persona == persona))
                    if hit {
                        f.refreshExpiresAt = now
                        s.families[id] = f
                        count += 1
                    }
                }
                return count
            }
            return json(200, .object([("expired", .number(Double(n)))]))
        case (.post, ["registrations", "activate"]):
            guard let id = request.queryValue("client_id") else { return .text(400, "client_id is required") }
            let found = store.state.withLock { s -> Bool in
                guard var c = s.clients[id] else { return false }
                c.activeAt = min(c.activeAt, now)
                c.applyPendingChange()
                s.clients[id] = c
                return true
            }
            return found ? HTTPResponse(status: 204) : .text(404, "unknown client_id")
        case (.post, ["faults"]):
            guard let bank = request.queryValue("bank"), let text = request.queryValue("fault"),
                let faults = SimulatorFault.parseList(text), !faults.isEmpty
            else { return .text(400, "bank=… and fault=… (a known fault list) are required") }
            var remaining: Int?
            if let c = request.queryValue("count") {
                guard let n = Int(c), n > 0 else { return .text(400, "count must be a positive integer") }
                remaining = n
            }
            store.state.withLock {
                $0.runtimeFaults[bank] = RuntimeFault(
                    faults: faults, remaining: remaining, path: request.queryValue("path"),
                    method: request.queryValue("method")?.uppercased())
            }
            return HTTPResponse(status: 204)
        case (.delete, ["faults"]):
            store.state.withLock { $0.runtimeFaults = [:] }
            return HTTPResponse(status: 204)
        default:
            return .text(404, "unknown simulator endpoint")
        }
    }
}
