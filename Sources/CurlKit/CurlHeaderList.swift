internal import CCurl

/// A request's header lines as the `curl_slist` `CURLOPT_HTTPHEADER` reads, laid out in memory this object owns:
/// the nodes in one block, the NUL-terminated lines in another, both kept and reused across the transfers of one
/// easy handle. `curl_slist_append` would allocate a node and a copy of each line on every call (two `malloc`s
/// and two `free`s per header, per bank call). libcurl only reads the list while a transfer runs, and a handle
/// runs one transfer at a time, so the next `build` may overwrite it.
final class CurlHeaderList {
    private var nodes: UnsafeMutablePointer<curl_slist>
    private var nodeCapacity: Int
    private var text: UnsafeMutablePointer<CChar>
    private var textCapacity: Int

    init() {
        nodeCapacity = 16
        nodes = .allocate(capacity: nodeCapacity)
        textCapacity = 2048
        text = .allocate(capacity: textCapacity)
    }

    deinit {
        nodes.deallocate()
        text.deallocate()
    }

    /// The list for `headers` as `Name: value` lines (`Name;` for an empty value: libcurl drops a header written
    /// `Name:`), then `extra` lines as given. Valid until the next `build`.
    func build(_ headers: [(name: String, value: String)], extra: [StaticString]) -> UnsafeMutablePointer<curl_slist>? {
        let count = headers.count + extra.count
        guard count > 0 else { return nil }
        let bytes =
            headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 3 }
            + extra.reduce(0) { $0 + $1.utf8CodeUnitCount + 1 }
        if bytes > textCapacity {
            text.deallocate()
            textCapacity = max(bytes, textCapacity * 2)
            text = .allocate(capacity: textCapacity)
        }
        if count > nodeCapacity {
            nodes.deallocate()
            nodeCapacity = max(count, nodeCapacity * 2)
            nodes = .allocate(capacity: nodeCapacity)
        }
        var offset = 0
        var index = 0
        func line(_ write: (inout Int) -> Void) {
            let start = text + offset
            write(&offset)
            text[offset] = 0
            offset += 1
            nodes[index] = curl_slist(data: start, next: index + 1 < count ? nodes + index + 1 : nil)
            index += 1
        }
        func put(_ byte: UInt8, _ at: inout Int) {
            text[at] = CChar(bitPattern: byte)
            at += 1
        }
        func put(_ bytes: UnsafeBufferPointer<UInt8>, _ at: inout Int) {
            UnsafeMutableRawPointer(text + at).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            at += bytes.count
        }
        func put(_ string: String, _ at: inout Int) {
            if string.isEmpty { return }
            if string.utf8.withContiguousStorageIfAvailable({ put($0, &at) }) == nil {
                for byte in string.utf8 { put(byte, &at) }
            }
        }
        for (name, value) in headers {
            line { at in
                put(name, &at)
                if value.isEmpty {
                    put(UInt8(ascii: ";"), &at)
                } else {
                    put(UInt8(ascii: ":"), &at)
                    put(UInt8(ascii: " "), &at)
                    put(value, &at)
                }
            }
        }
        for fixed in extra {
            line { at in put(UnsafeBufferPointer(start: fixed.utf8Start, count: fixed.utf8CodeUnitCount), &at) }
        }
        return nodes
    }
}
