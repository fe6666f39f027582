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

    func open() throws -> Repository {
        try Repository.open(at: try path)
    }
}

/// `--json`, for commands that can answer in JSON.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print one JSON document on stdout instead of text.")
    var json = false
}
