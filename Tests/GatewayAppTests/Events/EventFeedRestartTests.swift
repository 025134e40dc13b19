import Foundation
import Synchronization
import Testing
import TestSupport

@testable import GatewayApp

/// The pull feed resumes from a cursor after a restart, without gaps or duplicates (docs/events.md, "Pull"):
/// two replicas keep writing events while a reader takes small pages, restarting its application — a new
/// `Application` on the same database — between every two pages, and keeps nothing but the cursor.
@Suite struct EventFeedRestartTests {
    // A feed that handed out a position the database does not keep (an offset counted per application, say),
    // or events numbered before they commit without the writers' lock, loses or repeats events here.
    @Test(.timeLimit(.minutes(3)))
    func theFeedResumesAcrossRestartsWithoutGapsOrDuplicatesWhileEventsKeepComing() async throws {
        let bank = FakeBankAdapter(provider: .euroInformation)
        let writerA = try await AppHarness.start(adapters: [.euroInformation: bank])
        let writers = [writerA, try await AppHarness.start(adapters: [.euroInformation: bank], databaseURL: writerA.databaseURL)]
        let cycles = 15
        let writing = Mutex(true)
        do {
            try await writerA.register(bank: "cmcic:cic")
            // Each writer: connections authorized then revoked, two events each, all the while the reader reads.
            let written = Task {
                defer { writing.withLock { $0 = false } }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (w, writer) in writers.enumerated() {
                        group.addTask {
                            for i in 0..<cycles {
                                let pending = try await writer.createConnection(bank: "cmcic:cic", psuReference: "feed-\(w)-\(i)")
                                let authorized = try await writer.request(
                                    "POST", "/v1/connections/\(pending.id)/authorization", json: ["code": "c", "state": pending.state])
                                #expect(authorized.status == 200, "\(authorized.text)")
                                #expect(try await writer.request("DELETE", "/v1/connections/\(pending.id)").status == 204)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }

            var collected: [String] = []  // seq of every event read, in reading order
            var cursor = "0"
            var pagesWhileWriting = 0
            var restarts = 0
            while true {
                let stillWriting = writing.withLock { $0 }
                let reader = try await AppHarness.start(databaseURL: writerA.databaseURL)
                let page = try await reader.request("GET", "/v1/events?after=\(cursor)&limit=4")
                await reader.stop()
                restarts += 1
                try #require(page.status == 200, "\(page.text)")
                let events = try #require(page.json["events"] as? [[String: Any]])
                collected += events.compactMap { $0["seq"] as? String }
                cursor = try #require(page.json["next"] as? String)
                if stillWriting { pagesWhileWriting += 1 } else if events.isEmpty { break }
            }
            try await written.value

            let all = try await EventsTests.feed(writerA, "?limit=1000").events
            #expect(all.count == writers.count * cycles * 2)
            #expect(collected == all.compactMap { $0["seq"] as? String }, "every event once, in feed order")
            #expect(Set(collected).count == collected.count)
            #expect(pagesWhileWriting >= 1 && restarts > pagesWhileWriting, "pages read while events were written")
        } catch {
            for writer in writers { await writer.stop() }
            throw error
        }
        for writer in writers { await writer.stop() }
    }
}
