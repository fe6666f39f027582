import Foundation

/// Where a repository lives, as `--repo` / `KURA_REPO` name it (README, "Where a repository can
/// live"): a local path, an S3 bucket (`s3:https://HOST[:PORT]/BUCKET[/PREFIX]`, or
/// `s3:BUCKET[/PREFIX]` on AWS), or an rclone remote (`rclone:REMOTE:PATH`).
public enum RepositoryLocation: Equatable, Sendable, CustomStringConvertible {
    case local(path: String)
    case s3(S3Location)
    case rclone(remote: String)

    /// Parses a `--repo` value. Anything not starting with `s3:` or `rclone:` is a path.
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if text.hasPrefix("s3:") {
            self = .s3(try S3Location(parsing: String(text.dropFirst(3)), environment: environment))
        } else if text.hasPrefix("rclone:") {
            let remote = String(text.dropFirst("rclone:".count))
            // REMOTE:PATH, or an on-the-fly backend such as :local:/path or :sftp,host=…:path.
            guard remote.dropFirst().contains(":"), !remote.hasPrefix("-") else {
                throw KuraError.invalidArgument("\(text) is not an rclone repository: write rclone:REMOTE:PATH, with REMOTE a remote of 'rclone listremotes'")
            }
            self = .rclone(remote: remote)
        } else {
            self = .local(path: text)
        }
    }

    /// True for a folder of this machine's filesystem.
    public var isLocal: Bool {
        if case .local = self { return true }
        return false
    }

    /// The location as the user wrote it, without credentials (there are none in it).
    public var description: String {
        switch self {
        case .local(let path): return path
        case .s3(let location): return location.description
        case .rclone(let remote): return "rclone:" + remote
        }
    }

    /// The object store at this location. S3 needs credentials (the environment, then
    /// `~/.aws/credentials`); rclone needs the `rclone` command.
    public func makeStore(permissions: FilePermissions = .ownerOnly,
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ObjectStore {
        switch self {
        case .local(let path):
            return LocalObjectStore(root: path, permissions: permissions)
        case .s3(let location):
            guard let credentials = S3Credentials.fromEnvironment(environment) else {
                throw KuraError.missingCredentials(location: location.description)
            }
            return S3ObjectStore(location, credentials: credentials,
                                 connections: environment["KURA_S3_CONNECTIONS"].flatMap(Int.init) ?? S3ObjectStore.defaultConnections)
        case .rclone(let remote):
            return try RcloneObjectStore(remote: remote, environment: environment)
        }
    }
}

/// An S3 bucket and prefix on an endpoint, with the signing region and the URL style.
public struct S3Location: Equatable, Sendable, CustomStringConvertible {
    public var endpoint: URL
    public var bucket: String
    public var prefix: String
    public var region: String
    /// `https://BUCKET.HOST/KEY` instead of `https://HOST/BUCKET/KEY` (`KURA_S3_VIRTUAL_HOST=1`).
    public var virtualHost: Bool

    public init(endpoint: URL, bucket: String, prefix: String, region: String, virtualHost: Bool = false) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix.split(separator: "/").joined(separator: "/")
        self.region = region
        self.virtualHost = virtualHost
    }

    /// Parses what follows `s3:`: `https://HOST[:PORT]/BUCKET[/PREFIX]` (also `http://`), or
    /// `BUCKET[/PREFIX]` meaning AWS in `AWS_DEFAULT_REGION` / `AWS_REGION` (default us-east-1).
    init(parsing text: String, environment: [String: String]) throws {
        let region = [environment["AWS_DEFAULT_REGION"], environment["AWS_REGION"]].compactMap { $0 }.first { !$0.isEmpty } ?? "us-east-1"
        let virtualHost = environment["KURA_S3_VIRTUAL_HOST"] == "1"
        let usage = "write s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX] (AWS)"
        var endpoint: URL
        var path: Substring
        if text.hasPrefix("https://") || text.hasPrefix("http://") {
            guard let url = URL(string: text), let host = url.host, !host.isEmpty,
                  url.query == nil, url.user == nil, url.password == nil,
                  var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else {
                throw KuraError.invalidArgument("s3:\(text) is not an S3 repository URL: \(usage) (no credentials in it)")
            }
            path = Substring(components.path)
            components.path = ""
            guard let base = components.url else { throw KuraError.invalidArgument("s3:\(text): \(usage)") }
            endpoint = base
        } else {
            guard let base = URL(string: "https://s3.\(region).amazonaws.com") else { throw KuraError.invalidArgument("s3:\(text): \(usage)") }
            endpoint = base
            path = Substring(text)
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let bucket = parts.first, Self.isValidBucket(bucket) else {
            throw KuraError.invalidArgument("s3:\(text) names no valid bucket: \(usage)")
        }
        guard !parts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw KuraError.invalidArgument("s3:\(text): a prefix may not hold '.' or '..' components")
        }
        self.init(endpoint: endpoint, bucket: String(bucket), prefix: parts.dropFirst().joined(separator: "/"),
                  region: region, virtualHost: virtualHost)
    }

    /// S3's bucket naming rules (3–63 characters of a–z, 0–9, '.', '-'; letters or digits at both ends).
    static func isValidBucket(_ name: Substring) -> Bool {
        guard (3...63).contains(name.count), let first = name.first, let last = name.last,
              first.isLetter || first.isNumber, last.isLetter || last.isNumber else { return false }
        return name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
    }

    public var description: String {
        "s3:" + endpoint.absoluteString.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/" + bucket
            + (prefix.isEmpty ? "" : "/" + prefix)
    }
}
