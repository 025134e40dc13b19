/// The version printed by `passerelle version` and served in `/health`.
public enum PasserelleVersion {
    public static let current = "0.1.0"
}
