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
