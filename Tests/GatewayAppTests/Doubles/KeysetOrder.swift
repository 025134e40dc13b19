import Foundation

/// The newest-first keyset order of the PostgreSQL listings (`ORDER BY created_at DESC, id DESC`, a page strictly
/// after a `(created_at, id)` position), for the in-memory repositories.
enum KeysetOrder {
    typealias Position = (createdAt: Date, id: UUID)

    /// PostgreSQL orders uuids by their bytes, which is the order of their lowercase text.
    static func key(_ id: UUID) -> String { id.uuidString.lowercased() }

    /// Newest first: `createdAt` descending, then `id` descending.
    static func newerFirst(_ a: Position, before b: Position) -> Bool {
        if !sameInstant(a.createdAt, b.createdAt) { return a.createdAt > b.createdAt }
        return key(a.id) > key(b.id)
    }

    /// Whether `row` comes after the keyset position `after` in the newest-first order.
    static func isAfter(_ row: Position, _ after: Position) -> Bool {
        if !sameInstant(row.createdAt, after.createdAt) { return row.createdAt < after.createdAt }
        return key(row.id) < key(after.id)
    }

    /// Equal to the microsecond, as `timestamptz` keeps them (a cursor carries the instant as a double).
    static func sameInstant(_ a: Date, _ b: Date) -> Bool { abs(a.timeIntervalSince(b)) < 0.000_001 }

    /// `rows` in the newest-first order, strictly after `after`, at most `limit`.
    static func page<Row>(_ rows: [Row], after: Position?, limit: Int, position: (Row) -> Position) -> [Row] {
        Array(
            rows.sorted { newerFirst(position($0), before: position($1)) }
                .filter { row in after.map { isAfter(position(row), $0) } ?? true }
                .prefix(limit))
    }
}
