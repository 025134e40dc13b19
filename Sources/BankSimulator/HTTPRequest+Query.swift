import HTTPServerKit

extension HTTPRequest {
    /// The first value of query parameter `name`, others ignored: the simulator reads a query as a bank's lenient
    /// front end does. The gateway's own routes read theirs strictly, through `queryParameters(allowed:into:)`
    /// (docs/api-input.md), so this lookup lives here and not in HTTPServerKit.
    func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }
}
