import CurlKit
import Synchronization

/// Keeps every record in memory, for tests.
public final class InMemoryOutboundAuditSink: OutboundAuditSink {
    private let storage = Mutex<[OutboundAuditRecord]>([])

    public init() {}

    public func record(_ record: OutboundAuditRecord) { storage.withLock { $0.append(record) } }

    /// All records so far, oldest first.
    public var records: [OutboundAuditRecord] { storage.withLock { $0 } }
}
