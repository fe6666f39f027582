import Foundation

/// The places a test repository can live: a folder, the SeaweedFS server `tools/test` starts
/// (`KURA_TEST_S3`…), and an rclone `local` remote defined in the environment (Debian's rclone).
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case local, s3, rclone

    /// The backends this machine can run now: S3 when the server is up, rclone when installed.
    public static var available: [TestBackend] {
        allCases.filter(\.isAvailable)
    }

    public var description: String { rawValue }

    public var isAvailable: Bool {
        switch self {
        case .local: return true
        case .s3: return Self.s3Endpoint != nil
        case .rclone: return FileManager.default.isExecutableFile(atPath: "/usr/bin/rclone")
        }
    }

    /// `KURA_TEST_S3`, `KURA_TEST_S3_BUCKET`: the S3 endpoint and bucket of tools/test.
    public static var s3Endpoint: (url: String, bucket: String)? {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["KURA_TEST_S3"], let bucket = environment["KURA_TEST_S3_BUCKET"] else { return nil }
        return (url, bucket)
    }

    /// The credentials of an identity of the test server's config: `ADMIN` (every right) or
    /// `SITE` (no deletes on the bucket), as the AWS variables.
    public static func s3Credentials(_ identity: String) -> [String: String] {
        let environment = ProcessInfo.processInfo.environment
        return ["AWS_ACCESS_KEY_ID": environment["KURA_TEST_S3_\(identity)_KEY"] ?? "",
                "AWS_SECRET_ACCESS_KEY": environment["KURA_TEST_S3_\(identity)_SECRET"] ?? ""]
    }

    /// A `--repo` for a new repository of this kind; `folder` is the test's scratch folder.
    public func repository(in folder: String) -> String {
        switch self {
        case .local: return folder + "/repo"
        case .s3: return "s3:\(Self.s3Endpoint?.url ?? "")/\(Self.s3Endpoint?.bucket ?? "")/tests/\(UUID().uuidString)"
        case .rclone: return "rclone:kuratest:" + folder + "/rclone-repo"
        }
    }

    /// What `kura` needs in its environment for such a repository.
    public var environment: [String: String] {
        switch self {
        case .local: return [:]
        case .s3: return Self.s3Credentials("ADMIN")
        case .rclone: return ["RCLONE_CONFIG_KURATEST_TYPE": "local", "RCLONE_CONFIG": "/dev/null"]
        }
    }
}
