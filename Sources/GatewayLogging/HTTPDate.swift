import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 9110 §5.6.7 IMF-fixdate (`Tue, 07 Jun 2022 20:51:35 GMT`): the `Date` header of the server's responses,
/// of every bank call and of `passerelle sign-request`. UTC from `gmtime_r`, English names written here (no
/// locale), and the text of the last second asked kept, since most calls within a second share it.
public enum HTTPDate {
    private static let last = Mutex<(second: Int, text: String)>((Int.min, ""))
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The IMF-fixdate of `seconds` since 1970-01-01T00:00:00Z.
    public static func imfFixdate(secondsSince1970 seconds: Int) -> String {
        if let hit = last.withLock({ $0.second == seconds ? $0.text : nil }) { return hit }
        var t = time_t(seconds)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        var year = String(tm.tm_year + 1900)
        while year.utf8.count < 4 { year = "0" + year }
        let text =
            "\(weekdays[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(year) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
        last.withLock { $0 = (seconds, text) }
        return text
    }

    /// The IMF-fixdate of the current second.
    public static func now() -> String { imfFixdate(secondsSince1970: time(nil)) }
}
