import ArgumentParser
import Foundation
import KuraCore

/// `--repo`, shared by every command that works on a repository.
struct RepositoryOptions: ParsableArguments {
    @Option(name: [.customLong("repo"), .customShort("r")], help: "Repository path (default: $KURA_REPO).")
    var repo: String?

    var path: String {
        get throws {
            if let repo, !repo.isEmpty { return repo }
            if let env = ProcessInfo.processInfo.environment["KURA_REPO"], !env.isEmpty { return env }
            throw ValidationError("no repository given: pass --repo PATH or set KURA_REPO")
        }
    }

    @Option(help: ArgumentHelp("Wait up to DURATION (30s, 5min, 1h) for a conflicting lock instead of failing with exit 11.",
                               valueName: "DURATION"))
    var retryLock: KeepDuration?

    func open() throws -> Repository {
        try Repository.open(at: try path)
    }

    /// Opens the repository and locks it for the command: shared for backups and readers,
    /// exclusive for maintenance that deletes. A reader (`readOnly`) of a repository on a
    /// read-only filesystem goes on without a lock: nothing can delete from it meanwhile.
    func openLocked(exclusive: Bool = false, readOnly: Bool = false) throws -> (Repository, RepositoryLock?) {
        let repo = try open()
        let wait = retryLock?.approximateInterval ?? 0
        do {
            let lock = try repo.lock(exclusive: exclusive, wait: wait)
            lock.removedStale.forEach(Terminal.notice)
            return (repo, lock)
        } catch KuraError.readOnlyRepository where readOnly && !exclusive {
            return (repo, nil)
        }
    }
}

/// `--json`, for commands that can answer in JSON.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document on stdout instead of text.")
    var json = false
}
