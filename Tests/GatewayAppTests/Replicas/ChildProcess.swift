import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A long-running program (`passerelle serve`, `passerelle simulator`) started by a test with `posix_spawn`:
/// stdin from /dev/null, stdout and stderr appended to a log file (never a pipe, so nothing can block on it), the
/// signal mask emptied and SIGTERM/SIGINT/SIGPIPE reset to their defaults (test processes inherit blocked signals).
/// `kill()` sends SIGKILL and reaps it; `deinit` sends SIGKILL if a test forgot, so no daemon outlives its test.
final class ChildProcess: Sendable {
    let name: String
    let pid: pid_t
    let logPath: String
    /// The exit status once reaped (128 + signal when killed by one).
    private let exitStatus = Mutex<Int32?>(nil)

    private init(name: String, pid: pid_t, logPath: String) {
        self.name = name
        self.pid = pid
        self.logPath = logPath
    }

    /// Starts `executable arguments…` with exactly `environment` (plus PATH and HOME).
    /// - Throws: `ProcessFailure` when posix_spawn fails.
    static func spawn(name: String, executable: String, arguments: [String], environment: [String: String])
        throws -> ChildProcess
    {
        let logPath = NSTemporaryDirectory() + "passerelle-\(name)-\(UUID().uuidString.prefix(8)).log"
        var env = environment
        let inherited = ProcessInfo.processInfo.environment
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] where env[key] == nil { env[key] = inherited[key] }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let envp: [UnsafeMutablePointer<CChar>?] = env.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for entry in envp { free(entry) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw ProcessFailure(description: "posix_spawn \(executable) failed (\(rc))") }
        return ChildProcess(name: name, pid: pid, logPath: logPath)
    }

    /// Everything the process wrote so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The last lines of the log, for failure messages.
    func logTail(_ lines: Int = 15) -> String {
        log.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Whether it has exited (reaps it without waiting).
    var hasExited: Bool { reap(blocking: false) != nil }

    /// Waits (bounded) until a line of the log contains `needle` and returns that line.
    /// - Throws: `ProcessFailure` when the process exits first or the time runs out.
    func waitForLine(containing needle: String, timeout: Duration = .seconds(60)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = log.split(separator: "\n").first(where: { $0.contains(needle) }) { return String(line) }
            if hasExited {
                throw ProcessFailure(description: "\(name) exited before logging \"\(needle)\":\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ProcessFailure(description: "\(name) did not log \"\(needle)\" within \(timeout):\n\(logTail())")
    }

    /// SIGKILL, then reaps it (bounded wait, polling; never blocks a cooperative thread).
    /// - Returns: the exit status, nil if it could not be reaped in time.
    @discardableResult
    func kill() async -> Int32? {
        if let status = exitStatus.withLock({ $0 }) { return status }
        _ = Glibc.kill(pid, SIGKILL)
        for _ in 0..<200 {
            if let status = reap(blocking: false) { return status }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }

    /// SIGTERM, then waits (polling) for the process to exit on its own.
    /// - Returns: the exit status, nil if it had not exited within `timeout` (it is left running: call `kill()`).
    func terminate(within timeout: Duration) async -> Int32? {
        if let status = exitStatus.withLock({ $0 }) { return status }
        _ = Glibc.kill(pid, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reap(blocking: false) { return status }
            try? await Task.sleep(for: .milliseconds(25))
        }
        return reap(blocking: false)
    }

    /// Removes the log file.
    func removeLog() { try? FileManager.default.removeItem(atPath: logPath) }

    private func reap(blocking: Bool) -> Int32? {
        exitStatus.withLock { known in
            if let known { return known }
            var status: Int32 = 0
            let rc = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            guard rc == pid else { return nil }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift cannot import.
            let code = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
            known = code
            return code
        }
    }

    deinit {
        if exitStatus.withLock({ $0 }) == nil {
            _ = Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)  // the process is gone after SIGKILL: this returns at once
        }
    }
}
