import Foundation

/// The places a test repository can live: a folder, the SeaweedFS server `tools/test` starts
/// (`KURA_TEST_S3`…), an rclone `local` remote defined in the environment (Debian's rclone), and
/// an rclone `sftp` remote on the loopback sshd `tools/test` starts (`KURA_TEST_SFTP_…`).
public enum TestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case local, s3, rclone, sftp

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
        case .sftp: return Self.rclone.isAvailable && ProcessInfo.processInfo.environment["KURA_TEST_SFTP_PORT"] != nil
        }
    }

    /// The rclone remote (`kuratest:`, `kurasftp:`) and a folder in it for a test, for the two
    /// rclone kinds.
    public func rcloneRemote(in folder: String) -> String {
        self == .sftp ? "kurasftp:" + folder + "/sftp-repo" : "kuratest:" + folder + "/rclone-repo"
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
        case .rclone, .sftp: return "rclone:" + rcloneRemote(in: folder)
        }
    }

    /// What `kura` needs in its environment for such a repository.
    public var environment: [String: String] {
        switch self {
        case .local: return [:]
        case .s3: return Self.s3Credentials("ADMIN")
        case .rclone: return ["RCLONE_CONFIG_KURATEST_TYPE": "local", "RCLONE_CONFIG": "/dev/null"]
        case .sftp:
            let environment = ProcessInfo.processInfo.environment
            return ["RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_KURASFTP_TYPE": "sftp", "RCLONE_CONFIG_KURASFTP_HOST": "127.0.0.1",
                    "RCLONE_CONFIG_KURASFTP_PORT": environment["KURA_TEST_SFTP_PORT"] ?? "",
                    "RCLONE_CONFIG_KURASFTP_USER": environment["KURA_TEST_SFTP_USER"] ?? "",
                    "RCLONE_CONFIG_KURASFTP_KEY_FILE": environment["KURA_TEST_SFTP_KEY"] ?? "",
                    // No probing of the server's shell and hash commands on every connection
                    // (Kura runs rclone once per operation): 0.6 s → 0.15 s an operation here.
                    "RCLONE_CONFIG_KURASFTP_SHELL_TYPE": "none", "RCLONE_CONFIG_KURASFTP_MD5SUM_COMMAND": "none",
                    "RCLONE_CONFIG_KURASFTP_SHA1SUM_COMMAND": "none"]
        }
    }
}
