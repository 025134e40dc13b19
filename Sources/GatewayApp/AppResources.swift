import Foundation

/// The files `passerelle` needs beside its executable: the resource bundle SwiftPM builds for this module
/// (`Passerelle_GatewayApp.resources`, holding `Migrations/` and `OpenAPI/passerelle.yaml`). SwiftPM's generated
/// `Bundle.module` traps when the bundle is missing, so the commands that use it check first and refuse to start
/// with a message saying what to copy where (a container image that forgot the bundle fails at build time, when
/// its last stage runs `passerelle version`).
public enum AppResources {
    /// The bundle's folder name, as SwiftPM names it (`<package>_<target>.resources`).
    public static let bundleName = "Passerelle_GatewayApp.resources"
    /// What the bundle must hold, relative to its folder.
    static let requiredEntries = ["Migrations", "OpenAPI/passerelle.yaml"]

    /// Nil when the bundle beside the executable is complete; otherwise what is missing and where it was looked for.
    /// - Parameter executableDirectory: Where `Bundle.module` looks first (the main bundle, i.e. the executable's
    ///   folder on Linux).
    public static func problem(executableDirectory: URL = Bundle.main.bundleURL) -> String? {
        let bundle = executableDirectory.appendingPathComponent(bundleName)
        let missing = requiredEntries.filter {
            !FileManager.default.fileExists(atPath: bundle.appendingPathComponent($0).path)
        }
        guard !missing.isEmpty else { return nil }
        return "resources missing: \(missing.map { "\(bundle.path)/\($0)" }.joined(separator: ", ")) not found; "
            + "install the \(bundleName) folder of the build (swift build --show-bin-path) beside the executable"
    }
}
