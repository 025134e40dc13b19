import Foundation
import GatewayCore
import OpenSSLKit
import PostgresKit
import TestSupport
import Testing

@testable import GatewayApp

/// The promises of `PaymentRepository`, checked on both implementations with the same steps: `PaymentStore` over a
/// fresh PostgreSQL database, and `InMemoryPaymentRepository`. A double that drifts from the store fails here.
@Suite struct PaymentRepositoryContractTests {
    typealias Implementation = RepositoryImplementation

    /// What each test gets: the repository, its clock, the registration payments refer to, and the events written.
    struct Bed {
        let repository: any PaymentRepository
        let clock: TestClock
        let registrationID: UUID
        let events: @Sendable () async throws -> [LifecycleEvent]

        /// A `submitting` payment of `psuReference`, created now, with fresh identifiers.
        func record(psuReference: String = "psu-1", key: String = UUID().uuidString) -> PaymentRecord {
            let now = clock.now()
            let order = PaymentOrder(
                paymentInformationID: PaymentService.identifier("P"), instructionID: PaymentService.identifier("I"),
                endToEndID: PaymentService.identifier("E"), createdAt: now, initiatingParty: "", debtorIBAN: nil,
                creditorName: "SCI DES TILLEULS", creditorIBAN: "FR7610107001011234567890129", creditorBIC: nil,
                amount: DecimalAmount("12.30")!, currency: "EUR", remittance: "Order 123",
                requestedExecutionDate: nil, instant: false, redirectURI: ConnectionsTestBed.redirect)
            return PaymentRecord(
                id: UUID(), principal: "key-1", idempotencyKey: key, registrationID: registrationID,
                bankID: BankID("cmcic:cic")!, environment: .sandbox, psuReference: psuReference,
                redirectURI: ConnectionsTestBed.redirect, status: .submitting, order: order,
                nextCheckAt: now.addingTimeInterval(60), createdAt: now, updatedAt: now)
        }
    }

    static func with(_ implementation: Implementation, _ body: (Bed) async throws -> Void) async throws {
        let clock = TestClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        switch implementation {
        case .memory:
            let repository = InMemoryPaymentRepository()
            try await body(
                Bed(repository: repository, clock: clock, registrationID: UUID(), events: { repository.events }))
        case .postgres:
            try await TestDatabases.withClient { db in
                let registration = try await ConnectionsTestBed.insertActiveRegistration(db: db, now: clock.now())
                let database = StoreDatabase(db)
                let feed = EventStore(db: database)
                try await body(
                    Bed(
                        repository: PaymentStore(db: database), clock: clock, registrationID: registration,
                        events: {
                            try await feed.events(after: 0, kinds: [.paymentStatusChanged], limit: 1000).map {
                                LifecycleEvent(kind: $0.kind, resourceID: $0.resourceID, data: $0.data)
                            }
                        }))
            }
        }
    }

    struct Refused: Error {}

    @Test(arguments: Implementation.allCases)
    func aPaymentIsFoundByIdAndByKeyAndItsIdentifiersAreUnique(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let payment = bed.record(key: "order-1")
            try await bed.repository.insert(payment)
            #expect(try await bed.repository.find(payment.id)?.order == payment.order)
            #expect(try await bed.repository.find(principal: "key-1", idempotencyKey: "order-1")?.id == payment.id)
            #expect(try await bed.repository.find(principal: "key-2", idempotencyKey: "order-1") == nil)
            #expect(try await bed.repository.find(UUID()) == nil)

            var sameEndToEnd = bed.record()
            sameEndToEnd.order.endToEndID = payment.order.endToEndID
            var sameKey = bed.record(key: "order-1")
            sameKey.order.endToEndID = PaymentService.identifier("E")
            for duplicate in [sameEndToEnd, sameKey] {
                await #expect(throws: GatewayError.self) { try await bed.repository.insert(duplicate) }
                #expect(try await bed.repository.find(duplicate.id) == nil)
            }
            #expect(try await bed.events().isEmpty)
        }
    }

    @Test(arguments: Implementation.allCases)
    func aStepWritesTheRowWithItsStatusEventOrNothing(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let payment = bed.record(psuReference: "customer-42")
            try await bed.repository.insert(payment)
            let id = payment.id.uuidString.lowercased()

            let created = try await bed.repository.modify(payment.id) { row in
                row.status = .authorizationRequired
                row.bankStatus = "RCVD"
                row.bankResourceID = "res-1"
            }
            #expect(created.status == .authorizationRequired)
            #expect(try await bed.repository.find(payment.id)?.bankResourceID == "res-1")
            #expect(
                try await bed.events() == [
                    LifecycleEvent(
                        kind: .paymentStatusChanged, resourceID: id,
                        data: [
                            "paymentId": id, "bank": "cmcic:cic", "psuReference": "customer-42",
                            "previousStatus": "created", "status": "authorization_required", "bankStatus": "RCVD",
                        ])
                ])

            // The same API status: the row changes, no event.
            _ = try await bed.repository.modify(payment.id) { row in row.bankStatus = "ACTC" }
            #expect(try await bed.repository.find(payment.id)?.bankStatus == "ACTC")
            #expect(try await bed.events().count == 1)

            // A step that throws writes nothing.
            await #expect(throws: Refused.self) {
                try await bed.repository.modify(payment.id) { row in
                    row.status = .rejected
                    throw Refused()
                }
            }
            #expect(try await bed.repository.find(payment.id)?.status == .authorizationRequired)
            #expect(try await bed.events().count == 1)

            do {
                _ = try await bed.repository.modify(UUID()) { _ in }
                Issue.record("a step on no payment was accepted")
            } catch GatewayError.notFound(let resource, _) {
                #expect(resource == "payment")
            }
        }
    }

    @Test(arguments: Implementation.allCases)
    func stepsOnOnePaymentNeverInterleave(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            let payment = bed.record()
            try await bed.repository.insert(payment)
            let repository = bed.repository
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask { _ = try await repository.modify(payment.id) { row in row.reconcileAttempts += 1 } }
                }
                try await group.waitForAll()
            }
            #expect(try await bed.repository.find(payment.id)?.reconcileAttempts == 20)
        }
    }

    @Test(arguments: Implementation.allCases)
    func aCustomersPaymentsArePagedNewestFirst(_ implementation: Implementation) async throws {
        try await Self.with(implementation) { bed in
            var inserted: [PaymentRecord] = []
            for _ in 0..<5 {
                let payment = bed.record(psuReference: "customer-42")
                try await bed.repository.insert(payment)
                inserted.append(payment)
                bed.clock.advance(1)
            }
            // Two in the same instant: ordered by id.
            let twins = [bed.record(psuReference: "customer-42"), bed.record(psuReference: "customer-42")]
            for twin in twins { try await bed.repository.insert(twin) }
            try await bed.repository.insert(bed.record(psuReference: "someone-else"))

            let expected = twins.sorted { $0.id.uuidString.lowercased() > $1.id.uuidString.lowercased() }.map(\.id)
                + inserted.reversed().map(\.id)
            var seen: [UUID] = []
            var after: (createdAt: Date, id: UUID)?
            while true {
                let page = try await bed.repository.list(psuReference: "customer-42", after: after, limit: 3)
                seen += page.map(\.id)
                guard page.count == 3, let last = page.last else { break }
                after = (last.createdAt, last.id)
            }
            #expect(seen == expected)
        }
    }

    @Test(arguments: Implementation.allCases)
    func theReconcilerIsHandedDueSubmittingAndUnknownPaymentsLongestDueFirst(_ implementation: Implementation)
        async throws
    {
        try await Self.with(implementation) { bed in
            let now = bed.clock.now()
            func insert(_ status: PaymentStatus, dueIn seconds: TimeInterval?) async throws -> UUID {
                var payment = bed.record()
                payment.status = status
                payment.nextCheckAt = seconds.map { now.addingTimeInterval($0) }
                try await bed.repository.insert(payment)
                return payment.id
            }
            let unknownLate = try await insert(.unknown, dueIn: -30)
            let submittingDue = try await insert(.submitting, dueIn: -10)
            let unknownNow = try await insert(.unknown, dueIn: 0)
            _ = try await insert(.unknown, dueIn: 10)
            _ = try await insert(.unknown, dueIn: nil)
            _ = try await insert(.authorizationRequired, dueIn: -60)
            _ = try await insert(.pending, dueIn: -60)

            #expect(
                try await bed.repository.dueForReconciliation(now: now, limit: 10) == [
                    unknownLate, submittingDue, unknownNow,
                ])
            #expect(try await bed.repository.dueForReconciliation(now: now, limit: 2) == [unknownLate, submittingDue])
        }
    }
}
