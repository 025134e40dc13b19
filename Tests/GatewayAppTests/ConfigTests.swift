import Foundation
import GatewayCore
import Testing
@testable import GatewayApp

@Suite struct ConfigTests {
    @Test func defaultsWhenOnlyTheDatabaseIsGiven() throws {
        let config = try Config(environment: ["PASSERELLE_DATABASE_URL": "postgresql://localhost/db"])
        #expect(config.http.port == 8080)
        #expect(config.http.host == "0.0.0.0")
        #expect(config.logLevel == .info)
        #expect(config.database.url?.reveal == "postgresql://localhost/db")
        #expect("\(config.database.url!)" == "<redacted>")
        #expect(config.http.eventLoops >= 1)
        #expect(config.outbound.maxConnectionsPerHost == 32)
    }

    @Test func eventLoopsAndPerHostConnectionsAreConfigurable() throws {
        let config = try Config(environment: [
            "PASSERELLE_DATABASE_URL": "postgresql://localhost/db", "PASSERELLE_EVENT_LOOPS": "3",
            "PASSERELLE_OUTBOUND_MAX_CONNECTIONS_PER_HOST": "4",
        ])
        #expect(config.http.eventLoops == 3)
        #expect(config.outbound.maxConnectionsPerHost == 4)
        #expect(throws: ConfigError.self) {
            try Config(environment: ["PASSERELLE_DATABASE_URL": "postgresql:///x", "PASSERELLE_EVENT_LOOPS": "0"])
        }
    }

    @Test func reportsEveryProblemTogether() {
        do {
            _ = try Config(environment: [
                "PASSERELLE_HTTP_PORT": "99999",
                "PASSERELLE_LOG_LEVEL": "loud",
                "PASSERELLE_MASTER_KEY": "short",
            ])
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.count == 4)
            let text = error.description
            #expect(text.contains("PASSERELLE_HTTP_PORT"))
            #expect(text.contains("PASSERELLE_LOG_LEVEL"))
            #expect(text.contains("PASSERELLE_MASTER_KEY"))
            #expect(text.contains("PASSERELLE_DATABASE_URL"))
            #expect(!text.contains("short"), "the value of a secret is never echoed")
        }
    }

    @Test func readsTheMasterKeyFromAFile() throws {
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
        let config = try Config(
            environment: ["PASSERELLE_DATABASE_URL": "postgresql:///x", "PASSERELLE_MASTER_KEY_FILE": "/k"],
            readFile: { $0 == "/k" ? key + "\n" : nil })
        #expect(config.masterKey?.reveal == key)
    }

    @Test func aMissingMasterKeyAMalformedURLAndABadBanksFileAreListedWithTheRest() {
        do {
            _ = try Config(
                environment: [
                    "PASSERELLE_DATABASE_URL": "postgresql://u:hunter2@db:5432/x?nonsense=1",
                    "PASSERELLE_BANKS_FILE": "/banks.json", "PASSERELLE_BANK_CA_FILE": "/missing-ca.pem",
                    "PASSERELLE_HTTP_PORT": "nope",
                ],
                requireMasterKey: true, readFile: { $0 == "/banks.json" ? #"{"banks": {"cmcic:cic": {"nam": "x"}}}"# : nil })
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.count == 5, "\(error)")
            let text = error.description
            for name in [
                "PASSERELLE_DATABASE_URL", "PASSERELLE_MASTER_KEY", "PASSERELLE_BANKS_FILE", "PASSERELLE_BANK_CA_FILE",
                "PASSERELLE_HTTP_PORT",
            ] {
                #expect(text.contains(name), "\(name) missing from \(text)")
            }
            #expect(text.contains("nam"), "the banks file's own problem is shown")
            #expect(!text.contains("hunter2"), "the database URL (and its password) is never echoed")
        }
    }

    @Test func anUnreadableBanksFileIsAConfigurationProblem() {
        #expect(throws: ConfigError.self) {
            try Config(
                environment: ["PASSERELLE_DATABASE_URL": "postgresql:///x", "PASSERELLE_BANKS_FILE": "/nowhere"],
                readFile: { _ in nil })
        }
    }

    @Test func theBanksFileIsAppliedToTheCatalog() throws {
        let config = try Config(
            environment: ["PASSERELLE_DATABASE_URL": "postgresql:///x", "PASSERELLE_BANKS_FILE": "/b"],
            readFile: { _ in #"{"banks": {"cmcic:cic": {"name": "Renamed CIC"}}}"# })
        #expect(config.catalog.profile(for: try #require(BankID("cmcic:cic")))?.name == "Renamed CIC")
    }

    @Test func readsTheDatabaseURLPasswordAndBootstrapKeyFromFiles() throws {
        let files = [
            "/run/secrets/db-url": "postgresql://passerelle@postgres:5432/passerelle\n",
            "/run/secrets/db-password": "  pg-s3cret\n",
            "/run/secrets/api-key": "pk_from_a_secret_file_0123\n",
        ]
        let config = try Config(
            environment: [
                "PASSERELLE_DATABASE_URL_FILE": "/run/secrets/db-url",
                "PASSERELLE_DATABASE_PASSWORD_FILE": "/run/secrets/db-password",
                "PASSERELLE_BOOTSTRAP_API_KEY_FILE": "/run/secrets/api-key",
            ],
            readFile: { files[$0] })
        #expect(config.database.url?.reveal == "postgresql://passerelle@postgres:5432/passerelle")
        #expect(config.database.password?.reveal == "pg-s3cret")
        #expect(config.bootstrapAPIKey?.reveal == "pk_from_a_secret_file_0123")
        #expect("\(config.database.password!)" == "<redacted>")

        let inline = try Config(environment: [
            "PASSERELLE_DATABASE_URL": "postgresql:///x", "PASSERELLE_DATABASE_PASSWORD": "inline-password",
        ])
        #expect(inline.database.password?.reveal == "inline-password")
        #expect(try Config(environment: ["PASSERELLE_DATABASE_URL": "postgresql:///x"]).database.password == nil)
    }

    @Test func secretFileProblemsAreReportedWithoutTheSecret() {
        do {
            _ = try Config(
                environment: [
                    "PASSERELLE_DATABASE_URL": "postgresql://u:leaked-inline@h/db",
                    "PASSERELLE_DATABASE_URL_FILE": "/run/secrets/db-url",
                    "PASSERELLE_DATABASE_PASSWORD_FILE": "/missing/file",
                    "PASSERELLE_BOOTSTRAP_API_KEY_FILE": "/run/secrets/empty",
                    "PASSERELLE_MASTER_KEY": "leaked-key", "PASSERELLE_MASTER_KEY_FILE": "/run/secrets/master",
                ],
                readFile: { $0 == "/run/secrets/empty" ? " \n" : ($0 == "/missing/file" ? nil : "leaked-file") })
            Issue.record("expected a ConfigError")
        } catch {
            #expect(error.problems.count == 5, "\(error.problems)")  // the URL is then also missing
            let text = error.description
            #expect(text.contains("PASSERELLE_DATABASE_URL and PASSERELLE_DATABASE_URL_FILE: set only one"))
            #expect(text.contains("PASSERELLE_DATABASE_PASSWORD_FILE: cannot read /missing/file"))
            #expect(text.contains("PASSERELLE_BOOTSTRAP_API_KEY_FILE: /run/secrets/empty is empty"))
            #expect(text.contains("PASSERELLE_MASTER_KEY and PASSERELLE_MASTER_KEY_FILE: set only one"))
            #expect(!text.contains("leaked"), "no secret value is echoed")
        }
    }

    @Test func startupWaitIsBoundedOrForever() throws {
        let url = "postgresql:///x"
        #expect(try Config(environment: ["PASSERELLE_DATABASE_URL": url]).database.startupWaitSeconds == 60)
        let forever = try Config(environment: [
            "PASSERELLE_DATABASE_URL": url, "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS": "forever",
        ])
        #expect(forever.database.startupWaitSeconds == .infinity)
        let bounded = try Config(environment: [
            "PASSERELLE_DATABASE_URL": url, "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS": "600",
        ])
        #expect(bounded.database.startupWaitSeconds == 600)
        #expect(throws: ConfigError.self) {
            try Config(environment: [
                "PASSERELLE_DATABASE_URL": url, "PASSERELLE_DATABASE_STARTUP_WAIT_SECONDS": "always",
            ])
        }
    }
}

@Suite struct BPCERegistrationBankConfigTests {
    static let base = ["PASSERELLE_DATABASE_URL": "postgresql://x@127.0.0.1/x", "PASSERELLE_MASTER_KEY": AppHarness.masterKey]

    @Test func sandboxDefaultsToTheAISBankAndIsConfigurablePerEnvironment() throws {
        #expect(try Config(environment: Self.base).bpceRegistrationBank[.sandbox] == "13807")
        let chosen = try Config(
            environment: Self.base.merging(
                ["PASSERELLE_BPCE_REGISTRATION_BANK_SANDBOX": "17515", "PASSERELLE_BPCE_REGISTRATION_BANK_PRODUCTION": "13807"]
            ) { _, new in new })
        #expect(chosen.bpceRegistrationBank[.sandbox] == "17515")
        #expect(chosen.bpceRegistrationBank[.production] == "13807")
        #expect(throws: ConfigError.self) {
            _ = try Config(environment: Self.base.merging(["PASSERELLE_BPCE_REGISTRATION_BANK_SANDBOX": "99999"]) { _, new in new })
        }
    }

    @Test func sandboxActivationFollowsTheBankRuleUnlessImmediateIsAsked() throws {
        #expect(try Config(environment: Self.base).sandboxActivationImmediate == false)
        let immediate = Self.base.merging(["PASSERELLE_SANDBOX_ACTIVATION": "immediate"]) { _, new in new }
        #expect(try Config(environment: immediate).sandboxActivationImmediate == true)
        #expect(throws: ConfigError.self) {
            _ = try Config(environment: Self.base.merging(["PASSERELLE_SANDBOX_ACTIVATION": "now"]) { _, new in new })
        }
    }

    @Test func euroInformationReauthorizationLifetimeIsConfigurable() throws {
        #expect(try Config(environment: Self.base).connections.euroInformationReauthorizeDays == 180)
        let set = try Config(environment: Self.base.merging(["PASSERELLE_EI_REAUTHORIZE_DAYS": "0"]) { _, n in n })
        #expect(set.connections.euroInformationReauthorizeDays == 0)
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(ConnectionService.configuredReauthorizeBy(provider: .euroInformation, authorizedAt: at, settings: set.connections) == nil)
        #expect(
            ConnectionService.configuredReauthorizeBy(
                provider: .euroInformation, authorizedAt: at, settings: Config.Connections())
                == at.addingTimeInterval(180 * 86_400))
        #expect(ConnectionService.configuredReauthorizeBy(provider: .bpce, authorizedAt: at, settings: Config.Connections()) == nil)
        #expect(throws: ConfigError.self) {
            _ = try Config(environment: Self.base.merging(["PASSERELLE_EI_REAUTHORIZE_DAYS": "-1"]) { _, n in n })
        }
    }

    /// BPCE's activation calendar: extra days off move an activation to the next working day.
    @Test func bpceHolidaysAreConfigurable() throws {
        // Tuesday 2027-05-04 at 10:00 Paris (after the cutoff): Wednesday 14:00 by default.
        let submitted = RFC3339.date("2027-05-04T08:00:00Z")!
        let standard = try Config(environment: Self.base).bpceActivationCalendar
        #expect(standard.activatesAt(submittedAt: submitted) == RFC3339.date("2027-05-05T12:00:00Z"))
        let closed = try Config(
            environment: Self.base.merging(["PASSERELLE_BPCE_EXTRA_HOLIDAYS": "2027-05-05, 2027-12-24"]) { _, n in n }
        ).bpceActivationCalendar
        // Wednesday is closed, Thursday 6 May 2027 is Ascension: Friday.
        #expect(closed.activatesAt(submittedAt: submitted) == RFC3339.date("2027-05-07T12:00:00Z"))
        let noPublic = try Config(
            environment: Self.base.merging([
                "PASSERELLE_BPCE_EXTRA_HOLIDAYS": "2027-05-05", "PASSERELLE_BPCE_FRENCH_PUBLIC_HOLIDAYS": "false",
            ]) { _, n in n }
        ).bpceActivationCalendar
        #expect(noPublic.activatesAt(submittedAt: submitted) == RFC3339.date("2027-05-06T12:00:00Z"))
        #expect(throws: ConfigError.self) {
            _ = try Config(environment: Self.base.merging(["PASSERELLE_BPCE_EXTRA_HOLIDAYS": "5 May"]) { _, n in n })
        }
    }

    /// `"bank": "bpce"` registers through the bank the operator chose, not the first of the catalog.
    @Test func aGroupRegistrationGoesThroughTheChosenBank() async throws {
        for code in ["13807", "17515"] {
            let sim = try await SimulatorHarness.start()
            let h = try await sim.startGateway(environment: ["PASSERELLE_BPCE_REGISTRATION_BANK_SANDBOX": code])
            let (qwac, qseal) = try await RegistrationsAPITests.uploadCertificates(h)
            let created = try await h.request(
                "POST", "/v1/registrations", json: RegistrationsAPITests.body(bank: "bpce", qwac: qwac, qseal: qseal))
            #expect(created.status == 201, "\(created.text)")
            let rows = try await h.app.db.query("SELECT bank_id FROM registrations")
            #expect(try rows.first?.decode("bank_id", as: String.self) == "bpce:\(code)")
            await h.stop()
            await sim.stop()
        }
    }
}
