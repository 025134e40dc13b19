import BlockingIO
import CShims

#if canImport(Glibc)
import Glibc
#endif

/// Bounds what glibc's allocator keeps from the system, before any thread starts.
///
/// glibc gives each thread that allocates under contention an arena of its own, up to 8 per core, and an arena
/// keeps what was freed in it for later. `serve` runs a dozen threads (event loops, the cooperative pool, the
/// database and log writers), so after a benchmark most of the resident memory was free space spread over 16
/// arenas. Two arenas serve two event loops without contention; a fixed mmap threshold (128 KiB, glibc's initial
/// one) keeps large transient buffers — audit batches, log bursts — out of the arenas and gives them back on free,
/// where glibc otherwise raises the threshold after the first such free and keeps them. `MALLOC_ARENA_MAX` or
/// `MALLOC_MMAP_THRESHOLD_` in the environment take precedence (glibc reads them itself).
enum MallocTuning {
    static func apply() {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(M_ARENA_MAX, 2) }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(M_MMAP_THRESHOLD, 128 << 10) }
    }

    /// For the long-running commands: every `interval`, gives the pages freed since back to the system
    /// (`malloc_trim(0)`). glibc trims only the top of the main arena by itself; free chunks inside an arena stay
    /// resident, so after a burst of traffic a server otherwise keeps its peak footprint. A trim walks the arenas'
    /// free lists under their locks: tens of microseconds at this heap's size, once per interval.
    static func startTrimming(every interval: Duration = .seconds(10)) {
        let (seconds, attoseconds) = interval.components
        let period = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        startDetachedThread(name: "malloc-trim") {
            while true {
                var pause = period
                var rest = timespec()
                while nanosleep(&pause, &rest) != 0 && errno == EINTR { pause = rest }
                _ = malloc_trim(0)
            }
        }
    }
}
