import ArgumentParser
import Foundation
import KuraCore

/// `--repo` and the password of an encrypted repository, shared by every command that works on
/// a repository.
struct RepositoryOptions: ParsableArguments {
    @Option(name: [.customLong("repo"), .customShort("r")],
            help: ArgumentHelp("Repository: a path, s3:https://HOST[:PORT]/BUCKET[/PREFIX], s3:BUCKET[/PREFIX] (AWS) or rclone:REMOTE:PATH (default: $KURA_REPO).",
                               valueName: "REPO"))
    var repo: String?

    var path: String {
        get throws {
            if let repo, !repo.isEmpty { return repo }
            if let env = ProcessInfo.processInfo.environment["KURA_REPO"], !env.isEmpty { return env }
            throw ValidationError("no repository given: pass --repo PATH or set KURA_REPO")
        }
    }

    /// Where `--repo` / `KURA_REPO` points.
    var location: RepositoryLocation {
        get throws { try RepositoryLocation(parsing: try path) }
    }

    @Option(help: ArgumentHelp("Wait up to DURATION (30s, 5min, 1h) for a conflicting lock instead of failing with exit 11.",
                               valueName: "DURATION"))
    var retryLock: KeepDuration?

    /// The password sources (`--password-file`, `--password-command`, `KURA_PASSWORD_FILE`,
    /// `KURA_PASSWORD`, a prompt), read only when the repository is encrypted.
    @OptionGroup var password: PasswordOptions

    /// Opens the repository; an encrypted one with `credentials`, else the password sources.
    func open(credentials: Repository.Credentials? = nil) throws -> Repository {
        try Repository.open(try location, credentials: credentials ?? password.credentials(for: try path))
    }
}

/// A command that works on a repository: it declares how it locks it once (`lockMode`) and
/// runs its work inside `withRepository`, which opens, locks and releases.
protocol RepositoryCommand: ParsableCommand {
    var repository: RepositoryOptions { get }
    /// How the command holds the repository (`LockMode`).
    var lockMode: LockMode { get }
}

extension RepositoryCommand {
    /// Opens the repository (`--repo` / `KURA_REPO`; an encrypted one with `credentials`, else
    /// the password sources), locks it for `lockMode` (waiting up to `--retry-lock`) and runs
    /// `body`; stale locks removed on the way are said on stderr.
    func withRepository<T>(credentials: Repository.Credentials? = nil, _ body: (Repository) throws -> T) throws -> T {
        let repo = try repository.open(credentials: credentials)
        return try repo.withLock(lockMode, wait: repository.retryLock?.approximateInterval ?? 0, notice: Terminal.notice) {
            try body(repo)
        }
    }
}

/// `--json`, for commands that can answer in JSON.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document on stdout instead of text.")
    var json = false
}
