import Foundation
import Glibc
import Testing

@testable import GatewayLogging

/// The stdout writer, against a pipe: what reaches the descriptor, in which order, and what is dropped.
@Suite struct BufferedLogWriterTests {
    /// A pipe whose read end the test drains; the writer gets the write end.
    final class TestPipe: @unchecked Sendable {
        let readEnd: Int32
        let writeEnd: Int32

        init() throws {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(.EIO) }
            (readEnd, writeEnd) = (fds[0], fds[1])
        }

        /// Reads until end of file (the write end closed); call it on a thread of its own.
        func readToEnd() -> [UInt8] {
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16 << 10)
            while true {
                let n = Glibc.read(readEnd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return out }
                out += chunk[0..<n]
            }
        }

        /// Reads at least `count` bytes, waiting up to 10 s for each read (a liveness bound, not a timing check).
        func read(atLeast count: Int) -> [UInt8] {
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16 << 10)
            while out.count < count {
                var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 10_000) == 1 else { return out }
                let n = Glibc.read(readEnd, &chunk, chunk.count)
                if n <= 0 { return out }
                out += chunk[0..<n]
            }
            return out
        }

        /// What is readable now, without waiting.
        func readAvailable() -> [UInt8] {
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 16 << 10)
            while true {
                var poller = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 0) == 1 else { return out }
                let n = Glibc.read(readEnd, &chunk, chunk.count)
                if n <= 0 { return out }
                out += chunk[0..<n]
            }
        }

        deinit {
            Glibc.close(readEnd)
            Glibc.close(writeEnd)
        }
    }

    static func line(_ i: Int, padding: Int = 0) -> [UInt8] {
        Array(#"{"n":\#(i),"pad":"\#(String(repeating: "x", count: padding))"}"#.utf8)
    }

    static func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func flushWritesEveryBufferedLineInOrder() throws {
        let pipe = try TestPipe()
        // An hour-long flush interval: after the first batch, only flush() writes anything.
        let writer = BufferedLogWriter(fd: pipe.writeEnd, flushInterval: .seconds(3600))
        defer { writer.close() }
        for i in 0..<500 { writer.write(Self.line(i)) }
        writer.flush()
        let received = Self.lines(pipe.readAvailable())
        #expect(received.count == 501)  // 500 lines and the empty string after the last newline
        #expect(received.last == "")
        #expect(Array(received.dropLast()) == (0..<500).map { String(decoding: Self.line($0), as: UTF8.self) })
        #expect(writer.droppedLines == 0)
    }

    @Test func closeFlushesWhatIsBuffered() throws {
        let pipe = try TestPipe()
        let writer = BufferedLogWriter(fd: pipe.writeEnd, flushInterval: .seconds(3600))
        for i in 0..<100 { writer.write(Self.line(i, padding: 50)) }
        writer.close()
        let received = Self.lines(pipe.readAvailable()).dropLast()
        #expect(received.count == 100)
        #expect(received.first == String(decoding: Self.line(0, padding: 50), as: UTF8.self))
        #expect(received.last == String(decoding: Self.line(99, padding: 50), as: UTF8.self))
    }

    @Test func aLineIsWrittenWithoutAFlush() throws {
        let pipe = try TestPipe()
        let writer = BufferedLogWriter(fd: pipe.writeEnd)
        defer { writer.close() }
        let line = Self.line(7)
        writer.write(line)
        // Nobody flushes: the writer thread writes it on its own (the 10 s wait only bounds a failing test).
        #expect(pipe.read(atLeast: line.count + 1) == line + [0x0A])
    }

    @Test func dropsAndCountsLinesWhenTheDescriptorDoesNotKeepUp() async throws {
        let pipe = try TestPipe()
        // Nobody reads the pipe yet: the writer thread blocks once the pipe's buffer (64 KiB) is full. At most that,
        // one batch in flight and `capacityBytes` waiting can be accepted, so 400 KB of lines must drop some,
        // whatever the scheduling.
        let writer = BufferedLogWriter(fd: pipe.writeEnd, bufferBytes: 1024, capacityBytes: 8 << 10)
        let total = 4000
        for i in 0..<total { writer.write(Self.line(i, padding: 80)) }
        let dropped = writer.droppedLines
        #expect(dropped > 0)
        #expect(dropped < total)

        // Drain: a reader thread reads to the end while close() flushes what was accepted.
        let received = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8], any Error>) in
            Thread { continuation.resume(returning: pipe.readToEnd()) }.start()
            writer.close()
            let devNull = open("/dev/null", O_WRONLY)
            dup2(devNull, pipe.writeEnd)  // closes the pipe's write end: the reader sees end of file
            Glibc.close(devNull)
        }
        let lines = Self.lines(received).dropLast()
        #expect(lines.count + dropped == total, "received \(lines.count), dropped \(dropped)")
        // Whole lines only, in the order written: the accepted ones are a subsequence of 0..<total.
        let numbers = lines.compactMap { line -> Int? in
            guard line.hasPrefix(#"{"n":"#), line.hasSuffix(#""}"#) else { return nil }
            return Int(line.dropFirst(5).prefix { $0 != "," })
        }
        #expect(numbers.count == lines.count)
        #expect(numbers == numbers.sorted())
        #expect(numbers.first == 0)
    }

    @Test func theDroppedCountIsAMetric() {
        let registry = MetricsRegistry()
        let writer = BufferedLogWriter(fd: -1, bufferBytes: 1, capacityBytes: 1)  // nothing fits: all dropped
        defer { writer.close() }
        registry.counter("log_lines_dropped_total", help: "t") { writer.droppedLines }
        writer.write(Self.line(1))
        writer.write(Self.line(2))
        #expect(registry.render().contains("# TYPE log_lines_dropped_total counter\nlog_lines_dropped_total 2\n"))
    }
}
