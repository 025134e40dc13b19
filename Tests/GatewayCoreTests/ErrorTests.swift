import Foundation
import GatewayLogging
import Testing

@testable import GatewayCore

@Suite struct ErrorTests {
    let bank = BankID("bpce:13807")!

    @Test func mapsEveryGatewayErrorToAProblemTypeWithTheContractStatus() {
        let cases: [(GatewayError, Int)] = [
            (.notFound(resource: "connection", id: "c1"), 404), (.conflict("pending"), 409),
            (.validation([FieldIssue(field: "bank", message: "required")]), 400), (.unprocessable("expired"), 422),
            (.unauthorized, 401), (.budgetExhausted(retryAfter: 60), 429),
            (.unsupportedByBank(bank: bank, feature: "identity"), 501),
            (.upstream(bank: bank, .notImplemented(code: "NIMP", message: nil)), 501),
            (.upstream(bank: bank, .rateLimited(retryAfter: nil, code: "TMRQ", message: nil)), 429),
            (.upstream(bank: bank, .unavailable(status: 500, code: "INTE", message: nil)), 502),
            (.upstream(bank: bank, .rejected(status: 400, code: "invalid_request", message: "bad")), 502),
            (.upstream(bank: bank, .timeout), 504), (.upstreamTimeout(bank: bank), 504),
            (.internal("boom"), 500),
        ]
        for (error, status) in cases {
            #expect(error.problemType.status == status, "\(error)")
            #expect(error.problemType.uri.hasPrefix("/problems/"))
        }
    }

    @Test func carriesTheBanksOwnCodeAndMessage() throws {
        let error = GatewayError.upstream(
            bank: bank, .rejected(status: 400, code: "invalid_client", message: "Unknown client"))
        let details = try #require(error.bankDetails)
        #expect(
            details == BankErrorDetails(id: bank, httpStatus: 400, code: "invalid_client", message: "Unknown client"))
        #expect(GatewayError.upstream(bank: bank, .noAccounts).bankDetails?.code == "NAAC")
        #expect(GatewayError.notFound(resource: "x", id: "y").bankDetails == nil)
    }

    @Test func internalErrorsKeepTheirDetailOutOfTheResponse() {
        let error = GatewayError.internal("SELECT secret FROM x")
        #expect(!error.publicDetail.contains("SELECT"))
        #expect(error.description.contains("SELECT"))  // for the log line, which the edge writes once
    }

    @Test func sanitizesBankTextForDescriptions() {
        #expect(AdapterError.sanitize("line1\nline2\u{7F}") == "line1 line2")
        #expect(AdapterError.sanitize(String(repeating: "a", count: 1000))?.count == 300)
        #expect(AdapterError.sanitize("  \n ") == nil)
        let description = AdapterError.unavailable(status: 503, code: "INTE", message: "ERREUR Technique").description
        #expect(description == #"bank unavailable (HTTP 503, code INTE, "ERREUR Technique")"#)
    }

    @Test func problemTypesAreUniqueAndDocumentedInTheOpenAPIFile() throws {
        #expect(Set(ProblemType.allCases.map(\.uri)).count == ProblemType.allCases.count)
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("openapi/passerelle.yaml")
        // x-problem-types lists `- type: <uri>` followed by `status: <code>` and `title: <title>`.
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var documented: [String: (Int, String)] = [:]
        for (index, line) in lines.enumerated() where line.hasPrefix("- type: /problems/") && index + 2 < lines.count {
            documented[String(line.dropFirst("- type: ".count))] = (
                Int(lines[index + 1].dropFirst("status: ".count)) ?? 0,
                String(lines[index + 2].dropFirst("title: ".count))
            )
        }
        #expect(documented.count == ProblemType.allCases.count)
        for type in ProblemType.allCases {
            #expect(documented[type.uri]?.0 == type.status, "\(type.uri) status")
            #expect(documented[type.uri]?.1 == type.title, "\(type.uri) title")
        }
    }

    @Test func psuContextKeepsOnlyPSUHeadersInSTETOrder() {
        let psu = PSUContext(headers: [
            (name: "psu-user-agent", value: "Mozilla"), (name: "Authorization", value: "Bearer x"),
            (name: "PSU-IP-Address", value: " 192.0.2.1 "), (name: "psu-ip-address", value: "198.51.100.1"),
            (name: "PSU-Device-ID", value: ""),
        ])
        #expect(psu.headers.map(\.name) == ["PSU-IP-Address", "PSU-User-Agent"])
        #expect(psu["psu-ip-address"] == "192.0.2.1")
        #expect(psu.isAttended)
        #expect(!PSUContext().isAttended)
    }

    @Test func tokenMergeKeepsTheOldRefreshTokenAndItsWindow() {
        let sca = Date(timeIntervalSince1970: 1_000_000)
        let first = TokenSet(
            accessToken: Secret("a1"), refreshToken: Secret("r1"), expiresAt: sca.addingTimeInterval(3600),
            refreshExpiresAt: sca.addingTimeInterval(90 * 86_400))
        let refreshed = TokenSet(
            accessToken: Secret("a2"), refreshToken: nil, expiresAt: sca.addingTimeInterval(7200), refreshExpiresAt: nil
        )
        let merged = refreshed.merged(keepingRefreshOf: first, rotates: false)
        #expect(merged.refreshToken == Secret("r1"))
        #expect(merged.refreshExpiresAt == first.refreshExpiresAt)
        #expect(merged.accessToken == Secret("a2"))
        let sameToken = TokenSet(
            accessToken: Secret("a3"), refreshToken: Secret("r1"), expiresAt: sca,
            refreshExpiresAt: sca.addingTimeInterval(1e9))
        #expect(sameToken.merged(keepingRefreshOf: first, rotates: false).refreshExpiresAt == first.refreshExpiresAt)
    }
}
