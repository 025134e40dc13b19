import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The files `passerelle` reads at run time: `Migrations/` and `OpenAPI/passerelle.yaml`. An installed executable
/// reads them from the folder `Passerelle_GatewayApp.resources` beside it (the container image copies
/// `Sources/GatewayApp/Migrations` and `Sources/GatewayApp/OpenAPI` there); an executable built inside this
/// checkout's `.build` (development, tests) reads them from `Sources/GatewayApp` itself, which has the same layout.
/// Not SwiftPM resources: their generated `Bundle.module` imports Foundation, and loading Foundation (with ICU)
/// costs every process about 7 MB of resident memory that nothing else needs (FoundationEssentials is enough).
/// The commands that need the files check first and refuse to start with a message saying what to copy where
/// (a container image that forgot them fails at build time, when its last stage runs `passerelle version`).
public enum AppResources {
    /// The folder an installed executable reads its files from, beside it.
    public static let bundleName = "Passerelle_GatewayApp.resources"
    /// What the folder must hold, relative to it.
    static let requiredEntries = ["Migrations", "OpenAPI/passerelle.yaml"]

    /// Nil when the files are found; otherwise what is missing and where it was looked for.
    /// - Parameter executableDirectory: The running executable's folder.
    public static func problem(executableDirectory: URL = executableDirectory) -> String? {
        guard folder(executableDirectory: executableDirectory) == nil else { return nil }
        let bundle = executableDirectory.appendingPathComponent(bundleName)
        let missing = requiredEntries.filter { !exists(bundle.appendingPathComponent($0)) }
        return "resources missing: \(missing.map { "\(bundle.path)/\($0)" }.joined(separator: ", ")) not found; "
            + "install Sources/GatewayApp/Migrations and Sources/GatewayApp/OpenAPI as the folder \(bundleName) "
            + "beside the executable"
    }

    /// `Migrations/`, or nil when the files are not found (see `problem`).
    static var migrations: URL? { folder(executableDirectory: executableDirectory)?.appendingPathComponent("Migrations") }

    /// `OpenAPI/passerelle.yaml`, or nil when the files are not found (see `problem`).
    static var openAPIDocument: URL? {
        folder(executableDirectory: executableDirectory)?.appendingPathComponent("OpenAPI/passerelle.yaml")
    }

    /// The folder holding `requiredEntries`: the bundle beside the executable, else this checkout's
    /// `Sources/GatewayApp` when the executable was built inside the checkout.
    static func folder(executableDirectory: URL) -> URL? {
        let bundle = executableDirectory.appendingPathComponent(bundleName)
        if requiredEntries.allSatisfy({ exists(bundle.appendingPathComponent($0)) }) { return bundle }
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()  // …/Sources/GatewayApp
        let checkout = sources.deletingLastPathComponent().deletingLastPathComponent()
        let builtHere = executableDirectory.standardizedFileURL.path.hasPrefix(checkout.standardizedFileURL.path + "/.build/")
        if builtHere, requiredEntries.allSatisfy({ exists(sources.appendingPathComponent($0)) }) { return sources }
        return nil
    }

    /// The running executable's folder (`/proc/self/exe`; for the test runner, the `.xctest` binary's).
    public static let executableDirectory: URL = {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = count > 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        return URL(fileURLWithPath: path).deletingLastPathComponent()
    }()

    private static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }
}
