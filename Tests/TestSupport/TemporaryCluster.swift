import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A small PostgreSQL cluster of its own, for tests that restart or stop the server (doing that to the shared
/// cluster of scripts/test would break every suite running in parallel). initdb into a temporary folder owned by
/// the `postgres` user when running as root, a free port, sockets in the data folder, `stop()` removes it all.
public final class TemporaryCluster: Sendable {
    public let directory: String
    public let port: Int
    private let binDirectory: String
    private let runAs: String?
    private let frozen = Mutex<[Int32]>([])

    /// A libpq URL for the cluster (user `postgres`, no password: trust authentication unless the cluster was
    /// started with a password).
    public var url: String { "postgresql://postgres@127.0.0.1:\(port)/postgres" }

    private init(directory: String, port: Int, binDirectory: String, runAs: String?) {
        self.directory = directory
        self.port = port
        self.binDirectory = binDirectory
        self.runAs = runAs
    }

    /// Creates and starts a cluster; call `remove()` when done (also after failures).
    /// - Parameter password: When given, `postgres` has this password and every connection must prove it
    ///   (scram-sha-256); otherwise trust authentication.
    public static func start(password: String? = nil) async throws -> TemporaryCluster {
        let control = try TestEnvironment.postgresControl()
        let bin = (control.pgCtl as NSString).deletingLastPathComponent
        let runAs = (control.runAs?.isEmpty ?? true) ? nil : control.runAs
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("passerelle-pgkit-" + UUID().uuidString.prefix(8).lowercased()).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cluster = TemporaryCluster(directory: directory, port: try freePort(), binDirectory: bin, runAs: runAs)
        do {
            if let runAs { try await run("/bin/chown", [runAs, directory]) }
            try await run("/bin/chmod", ["700", directory])
            var authentication = ["-A", "trust"]
            if let password {
                let file = directory + "/pwfile"
                try Data((password + "\n").utf8).write(to: URL(fileURLWithPath: file))
                try await run("/bin/chmod", ["644", file])
                authentication = ["-A", "scram-sha-256", "--pwfile=" + file]
            }
            // --no-sync: a throwaway cluster need not reach the disk (initdb's final fsync took 2 of its 3.5 s).
            try await cluster.runPostgres(
                "initdb",
                ["-D", directory + "/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
                    + authentication)
            try await cluster.pgCtl([
                "-o", "-p \(cluster.port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off",
                "-l", directory + "/server.log", "start",
            ])
        } catch {
            await cluster.remove()
            throw error
        }
        return cluster
    }

    /// Runs `body` with a new cluster, removed afterwards whatever happens (thawed first if frozen).
    public static func with<T>(_ body: (TemporaryCluster) async throws -> T) async throws -> T {
        let cluster = try await start()
        do {
            let value = try await body(cluster)
            await cluster.remove()
            return value
        } catch {
            await cluster.remove()
            throw error
        }
    }

    /// `pg_ctl restart -m fast`: every session is terminated, the server comes back on the same port.
    public func restart() async throws { try await pgCtl(["-m", "fast", "-l", directory + "/server.log", "restart"]) }

    /// `pg_ctl stop -m fast`.
    public func stop() async throws { try await pgCtl(["-m", "fast", "stop"]) }

    /// `pg_ctl start` after `stop()` (the options are the ones `postmaster.opts` remembered).
    public func startAgain() async throws {
        try await pgCtl([
            "-o", "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off",
            "-l", directory + "/server.log", "start",
        ])
    }

    /// Stops the server (immediate mode) and deletes the folder.
    public func remove() async {
        thaw()
        if FileManager.default.fileExists(atPath: directory + "/data/postmaster.pid") {
            try? await pgCtl(["-m", "immediate", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Freezing (a server that accepts connections and never answers)

    /// Stops the postmaster and every backend with SIGSTOP: TCP connections are still accepted by the kernel and
    /// data is acknowledged, but nothing answers. Always `thaw()` afterwards (`remove()` does too).
    /// - Returns: the process ids stopped.
    @discardableResult
    public func freeze() throws -> [Int32] {
        let pids = try serverProcesses()
        for pid in pids { kill(pid, SIGSTOP) }
        frozen.withLock { $0 = pids }
        return pids
    }

    /// SIGCONT to every process `freeze()` stopped.
    public func thaw() {
        let pids = frozen.withLock { pids in
            defer { pids = [] }
            return pids
        }
        for pid in pids { kill(pid, SIGCONT) }
    }

    /// The postmaster (first line of `postmaster.pid`) and its children (from `/proc/*/stat`).
    private func serverProcesses() throws -> [Int32] {
        let pidFile = try String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8)
        guard let first = pidFile.split(separator: "\n").first, let postmaster = Int32(first) else {
            throw CommandFailed(command: "read postmaster.pid", status: -1)
        }
        var pids = [postmaster]
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // pid (comm) state ppid …: comm may hold spaces, so fields are counted after the last ')'.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, Int32(fields[1]) == postmaster { pids.append(pid) }
        }
        return pids
    }

    private func pgCtl(_ arguments: [String]) async throws {
        try await runPostgres("pg_ctl", ["-D", directory + "/data", "-w", "-t", "60"] + arguments)
    }

    private func runPostgres(_ tool: String, _ arguments: [String]) async throws {
        let path = binDirectory + "/" + tool
        if let runAs {
            try await Self.run("/usr/sbin/runuser", ["-u", runAs, "--", path] + arguments)
        } else {
            try await Self.run(path, arguments)
        }
    }

    struct CommandFailed: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        var description: String { "\(command) exited with status \(status)" }
    }

    /// Runs a program and waits for it on a thread of its own (not a cooperative one).
    ///
    /// Not `Foundation.Process`: on Linux it learns of the child's exit when a socket it hands the child closes,
    /// and the postmaster that `pg_ctl start` leaves running inherits that socket, so `start` would never "end".
    private static func run(_ executable: String, _ arguments: [String]) async throws {
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try spawnAndWait(executable, arguments) }) }.start()
        }
        guard status == 0 else {
            throw CommandFailed(command: ([executable] + arguments).joined(separator: " "), status: status)
        }
    }

    /// `posix_spawn` with stdout on /dev/null, then `waitpid`; returns the exit status (128 + signal if killed).
    private static func spawnAndWait(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard rc == 0 else { throw CommandFailed(command: "posix_spawn " + executable, status: rc) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw CommandFailed(command: "waitpid", status: errno) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CommandFailed(command: "socket", status: errno) }
        defer { close(fd) }
        guard let address = bindLoopback(fd) else { throw CommandFailed(command: "bind", status: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
