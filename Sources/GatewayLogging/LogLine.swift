#if canImport(Glibc)
import Glibc
#endif

/// Renders one log record as a JSON object, straight into bytes:
/// `{"time":…,"level":…,"logger":…,"message":…, <metadata, keys in ascending order>}`.
///
/// One buffer per line and nothing else: the logger's metadata and the call's are read where they are (the
/// call's value wins for a key in both) instead of being merged into a new dictionary, the keys are ordered by
/// an insertion sort of a small array, the timestamp is computed from `clock_gettime` with integer arithmetic,
/// and values are escaped byte-wise (bulk-copied when nothing needs escaping).
enum LogLine {
    static func render(
        level: Logger.Level, label: String, message: String, metadata: [String: String], extra: [String: String]?
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(320)
        out.append(contentsOf: #"{"time":""#.utf8)
        appendTimestamp(to: &out)
        out.append(contentsOf: #"","level":""#.utf8)
        out.append(contentsOf: level.description.utf8)
        out.append(contentsOf: #"","logger":"#.utf8)
        JSONString.append(label, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONString.append(message, to: &out)
        for (key, value) in sortedMembers(metadata, extra) {
            out.append(UInt8(ascii: ","))
            JSONString.append(key, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONString.append(SecretKeys.isSecret(key) ? "<redacted>" : value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The members of `base` overridden by `extra`, by ascending key.
    private static func sortedMembers(_ base: [String: String], _ extra: [String: String]?) -> [(String, String)] {
        var members: [(String, String)] = []
        members.reserveCapacity(base.count + (extra?.count ?? 0))
        if let extra {
            for (key, value) in base where extra[key] == nil { members.append((key, value)) }
            for (key, value) in extra { members.append((key, value)) }
        } else {
            for (key, value) in base { members.append((key, value)) }
        }
        // Insertion sort: a line has a handful of keys.
        var i = 1
        while i < members.count {
            var j = i
            while j > 0 && members[j].0 < members[j - 1].0 {
                members.swapAt(j, j - 1)
                j -= 1
            }
            i += 1
        }
        return members
    }

    /// Appends the current time in RFC 3339 UTC with milliseconds, e.g. `2026-11-21T13:02:03.123Z`.
    static func appendTimestamp(to out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        UTCTimestamp.append(seconds: Int(ts.tv_sec), milliseconds: Int(ts.tv_nsec) / 1_000_000, offset: "Z", to: &out)
    }
}
