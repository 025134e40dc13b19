import Testing

/// The two implementations a `*RepositoryContractTests` suite runs its steps on: the PostgreSQL store over a fresh
/// database, and the in-memory double of `Tests/TestSupport/Doubles`.
enum RepositoryImplementation: String, CaseIterable, CustomTestStringConvertible {
    case postgres, memory
    var testDescription: String { rawValue }
}
