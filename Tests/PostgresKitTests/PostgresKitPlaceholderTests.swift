import Testing
@testable import PostgresKit

@Suite struct PostgresKitPlaceholderTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
