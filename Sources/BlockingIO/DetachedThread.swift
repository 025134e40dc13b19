#if canImport(Glibc)
    import Glibc
#endif

/// Starts a detached, named POSIX thread running `body`: the one way this code base starts a thread (reactors, the
/// blocking executors' workers, the log writer, the signal reader, PostgreSQL cancel requests). Foundation's
/// `Thread` is not used: it is the only reason a module would load the whole of Foundation (and ICU) rather than
/// FoundationEssentials — about 7 MB of resident memory.
/// - Parameters:
///   - name: shown by `top -H` and `perf --sort comm`; cut to the kernel's 15 bytes.
///   - stackSize: bytes of stack; nil: the system's default (8 MiB of address space, touched as used).
public func startDetachedThread(name: String, stackSize: Int? = nil, _ body: @escaping () -> Void) {
    final class Start {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
    let start = Unmanaged.passRetained(Start(name, body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(
        &thread, &attributes,
        { argument in
            let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
            nameCurrentThread(start.name)
            start.body()
            return nil
        }, start)
    precondition(rc == 0, "pthread_create failed: \(rc)")
    pthread_detach(thread)
}

/// Names the calling thread through procfs: `pthread_setname_np` is not imported by Glibc's module.
private func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}
