/// The version of this Kura build.
public enum KuraVersion {
    public static let current = "0.1.0"
}
