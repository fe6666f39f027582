import Foundation

/// S3 credentials as the AWS tools take them: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`, else the `[AWS_PROFILE or default]` section of `~/.aws/credentials`
/// (`AWS_SHARED_CREDENTIALS_FILE`). Never printed, stored, or given to a child process's
/// command line.
public struct S3Credentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        (self.accessKeyID, self.secretAccessKey, self.sessionToken) = (accessKeyID, secretAccessKey, sessionToken)
    }

    /// The credentials the environment gives; nil when there are none.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> S3Credentials? {
        if let id = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !id.isEmpty {
            return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        let file = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? ((environment["HOME"] ?? "") + "/.aws/credentials")
        guard let bytes = try? FileSystem.readFile(file, limit: 1 << 20) else { return nil }
        let profile = environment["AWS_PROFILE"] ?? "default"
        var section = ""
        var values: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("[") && text.hasSuffix("]") {
                section = String(text.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            } else if section == profile, let equals = text.firstIndex(of: "=") {
                values[text[..<equals].trimmingCharacters(in: .whitespaces)] = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            }
        }
        guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else { return nil }
        return S3Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: values["aws_session_token"])
    }
}
