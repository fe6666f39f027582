import Foundation

/// Every failure the library reports. Each case carries what a user needs to act on it and maps to
/// one of the documented process exit codes (README, "Exit codes").
public enum KuraError: Error, CustomStringConvertible, Equatable {
    /// No repository (no readable `config`) at the path. Exit 10.
    case noRepository(path: String)
    /// `init` was pointed at a directory that is not empty. Exit 1.
    case repositoryNotEmpty(path: String)
    /// Another process holds a conflicting lock. Exit 11.
    case locked(holder: String)
    /// The repository cannot be written (read-only filesystem or no permission). Exit 1.
    case readOnlyRepository(path: String)
    /// A snapshot reference matched nothing. Exit 1.
    case unknownSnapshot(reference: String)
    /// A snapshot id prefix matched more than one snapshot. Exit 1.
    case ambiguousSnapshot(reference: String, candidates: [String])
    /// A path given on the command line is not in the snapshot. Exit 1.
    case pathNotInSnapshot(path: String, snapshot: String)
    /// Data in the repository is damaged or missing. Exit 12.
    case integrity(String)
    /// A restore would replace existing files and was not confirmed. Exit 13.
    case wouldOverwrite(count: Int, examples: [String], target: String)
    /// A restore would replace a database that holds data and was not confirmed. Exit 13.
    case databaseNotEmpty(database: String, tables: Int)
    /// A system call failed on a path. Exit 1.
    case io(operation: String, path: String, errno: Int32)
    /// An argument or input value is not acceptable. Exit 1.
    case invalidArgument(String)
    /// The repository uses a format this version does not read. Exit 1.
    case unsupportedFormat(String)
    /// A database could not be reached, dumped or restored. Exit 1.
    case database(String)
    /// The user pressed Ctrl-C (or the process got SIGTERM). Exit 130.
    case interrupted

    /// The process exit code documented for this failure.
    public var exitCode: Int32 {
        switch self {
        case .noRepository: return 10
        case .locked: return 11
        case .integrity: return 12
        case .wouldOverwrite, .databaseNotEmpty: return 13
        case .interrupted: return 130
        default: return 1
        }
    }

    /// One line: what happened and what to do next.
    public var description: String {
        switch self {
        case .noRepository(let path):
            return "no Kura repository at \(path): create one with 'kura init --repo \(path)' or set --repo / KURA_REPO"
        case .repositoryNotEmpty(let path):
            return "\(path) is not empty: 'kura init' only creates a repository in a new or empty directory"
        case .locked(let holder):
            return "repository is locked by \(holder): wait for it to finish, or run 'kura unlock' if that process is gone"
        case .readOnlyRepository(let path):
            return "repository \(path) is read-only: backup, forget, prune and repair need write access "
                + "(restore, export, ls, cat and verify still work)"
        case .unknownSnapshot(let reference):
            return "no snapshot matches '\(reference)': 'kura snapshots' lists them"
        case .ambiguousSnapshot(let reference, let candidates):
            return "snapshot prefix '\(reference)' is ambiguous (\(candidates.prefix(5).joined(separator: ", "))): give more digits"
        case .pathNotInSnapshot(let path, let snapshot):
            return "'\(path)' is not in snapshot \(snapshot): 'kura ls \(snapshot)' lists its paths"
        case .integrity(let message):
            return "integrity failure: \(message)"
        case .wouldOverwrite(let count, let examples, let target):
            let list = examples.prefix(3).joined(separator: ", ")
            return "restore would overwrite \(count) existing path(s) in \(target) (\(list)\(count > 3 ? ", …" : "")): pass --force to replace them, or restore into an empty --target"
        case .io(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .invalidArgument(let message):
            return message
        case .unsupportedFormat(let message):
            return "unsupported repository format: \(message)"
        case .database(let message):
            return message
        case .databaseNotEmpty(let database, let tables):
            return "database \(database) holds \(tables) table(s), view(s) or sequence(s): pass --force to replace it (a pre-restore safety snapshot is taken first), or restore into a new database"
        case .interrupted:
            return "interrupted: nothing half-written was left behind"
        }
    }

    /// Builds an `.io` error from the current `errno`.
    static func posix(_ operation: String, _ path: String, _ code: Int32 = errno) -> KuraError {
        .io(operation: operation, path: path, errno: code)
    }
}
