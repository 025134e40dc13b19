import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Binds `fd` to 127.0.0.1 on a port the kernel picks (and listens with `listenBacklog` when given).
/// - Returns: the bound address (its `sin_port` is the port, in network byte order), nil when a call failed.
public func bindLoopback(_ fd: Int32, listenBacklog: Int32? = nil) -> sockaddr_in? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            if let listenBacklog, listen(fd, listenBacklog) != 0 { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    return bound == 0 ? address : nil
}

/// Connects `fd` to 127.0.0.1:`port`, from the loopback address `source` when given (any 127.0.0.0/8 address is
/// local on Linux, so one test can play several peers).
/// - Returns: 0, or the `errno` of the failed `bind` or `connect`.
public func connectLoopback(_ fd: Int32, port: Int, from source: String? = nil) -> Int32 {
    func withAddress(_ text: String, port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(text)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
    if let source, withAddress(source, port: 0, { bind(fd, $0, $1) }) != 0 { return errno }
    return withAddress("127.0.0.1", port: port, { connect(fd, $0, $1) }) == 0 ? 0 : errno
}
