import GatewayLogging

/// The master keys that wrap per-secret data keys, by version (`PASSERELLE_MASTER_KEY`).
///
/// Rotation: add a new key with a higher version, run `passerelle rotate-master-key` (which calls
/// ``EnvelopeCipher/rewrap(_:)`` on every stored secret), then drop the old version. Until then, secrets
/// sealed under older versions still open.
public struct MasterKeyring: Sendable {
    /// The version new secrets are sealed (and re-wrapped) under: the highest version.
    public let currentVersion: UInt32
    private let keys: [UInt32: [UInt8]]

    /// The versions held, ascending.
    public var versions: [UInt32] { keys.keys.sorted() }

    /// - Parameter keys: 32-byte keys by version; the highest version is current.
    /// - Throws: `MasterKeyError` when empty or a key is not 32 bytes.
    public init(keys: [UInt32: [UInt8]]) throws(MasterKeyError) {
        guard let current = keys.keys.max() else { throw .empty }
        for (version, key) in keys where key.count != AESGCM.keySize { throw .wrongLength(version: version) }
        self.keys = keys
        currentVersion = current
    }

    /// Parses the configuration value: either one base64 key (version 1), or comma-separated
    /// `version:base64` entries (e.g. `2:NEWKEY…,1:OLDKEY…`); the highest version is current.
    /// - Throws: `MasterKeyError` (`.invalid`, `.wrongLength`, `.duplicateVersion`), never echoing key text.
    public init(parsing text: String) throws(MasterKeyError) {
        let entries = text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        guard !entries.isEmpty else { throw .empty }
        var keys: [UInt32: [UInt8]] = [:]
        for entry in entries {
            let version: UInt32
            let encoded: Substring
            if let colon = entry.firstIndex(of: ":") {
                guard let v = UInt32(entry[..<colon]), v > 0 else { throw .invalid }
                version = v
                encoded = entry[entry.index(after: colon)...]
            } else {
                guard entries.count == 1 else { throw .invalid }
                version = 1
                encoded = Substring(entry)
            }
            guard let bytes = Base64.decode(String(encoded)) else { throw .invalid }
            guard keys[version] == nil else { throw .duplicateVersion(version) }
            keys[version] = bytes
        }
        try self.init(keys: keys)
    }

    /// The key of `version`, if held.
    func key(version: UInt32) -> [UInt8]? { keys[version] }
}

/// A master-key configuration problem. Descriptions never contain key material.
public enum MasterKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No key at all.
    case empty
    /// Not base64, or not `version:base64` entries (versions are positive integers).
    case invalid
    /// A key that does not decode to exactly 32 bytes.
    case wrongLength(version: UInt32)
    /// Two entries with the same version.
    case duplicateVersion(UInt32)

    public var description: String {
        switch self {
        case .empty: "no master key given"
        case .invalid: "master key: expected base64 of 32 bytes, or comma-separated version:base64 entries"
        case .wrongLength(let v): "master key version \(v) is not 32 bytes"
        case .duplicateVersion(let v): "master key version \(v) is given twice"
        }
    }
}
