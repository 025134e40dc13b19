import Synchronization

/// A fixed set of reactors, one per core by default: the HTTP server spreads connections over them and the
/// outbound transport drives one libcurl multi handle on each.
public final class ReactorGroup: Sendable {
    /// The reactors, in order.
    public let reactors: [Reactor]
    private let cursor = Atomic<Int>(0)

    /// Starts `count` reactors named `name-0`, `name-1`, …
    public init(name: String, count: Int) {
        precondition(count > 0, "a ReactorGroup needs at least one reactor")
        reactors = (0..<count).map { Reactor(name: "\(name)-\($0)") }
    }

    /// The calling thread's reactor when it belongs to this group, else the next one in turn.
    public func next() -> Reactor {
        if let current = Reactor.current, reactors.contains(where: { $0 === current }) { return current }
        let index = cursor.add(1, ordering: .relaxed).oldValue
        return reactors[index % reactors.count]
    }

    /// The position of `reactor` in the group, if it belongs to it.
    public func index(of reactor: Reactor) -> Int? { reactors.firstIndex { $0 === reactor } }

    /// Stops every reactor after its queued work.
    public func shutdown() { reactors.forEach { $0.shutdown() } }

    /// Returns once every reactor's thread has stopped.
    public func waitUntilStopped() async {
        for reactor in reactors { await reactor.waitUntilStopped() }
    }
}
