import Foundation

/// Every failure the library reports. Each case carries what a user needs to act on it and maps to
/// one of the documented process exit codes (README, "Exit codes"); `description` is the one line
/// shown, built here (and in `IntegrityFailure`, `ArchiveDamage`, `DatabaseFailure`) only.
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
    /// A path of the snapshot is a directory or symlink where a file was asked for. Exit 1.
    case notAFile(path: String, kind: Entry.Kind)
    /// Data in the repository or an archive is damaged or missing. Exit 12.
    case integrity(IntegrityFailure)
    /// Prune found damage before deleting anything, and stopped. Exit 12.
    case pruneStopped(IntegrityFailure)
    /// Files of a restore could not be written (listed before). Exit 12.
    case filesNotRestored(count: Int)
    /// A restore would replace existing files and was not confirmed. Exit 13.
    case wouldOverwrite(count: Int, examples: [String], target: String)
    /// A restore would replace a database that holds data and was not confirmed. Exit 13.
    case databaseNotEmpty(database: String, tables: Int)
    /// A system call failed on a path. Exit 1.
    case io(operation: String, path: String, errno: Int32)
    /// An argument or input value is not acceptable (parse errors of values). Exit 1.
    case invalidArgument(String)
    /// A backup was given neither media nor a database. Exit 1.
    case nothingToBackUp
    /// The media folder to back up is missing or not a directory. Exit 1.
    case mediaFolderMissing(path: String)
    /// A restore was given no target, media folder or database. Exit 1.
    case nothingToRestore
    /// The restore target exists and is not a directory. Exit 1.
    case targetNotDirectory(path: String)
    /// A restored path would go through a symlink or a file of the target: never followed. Exit 1
    /// (or listed among the files not restored, exit 12).
    case unsafeTargetPath(path: String, target: String)
    /// An archive would not fit in the free space of the target. Exit 1.
    case notEnoughSpace(source: String, needed: Int64, available: Int64, target: String)
    /// The source (snapshot or archive) holds no database dump. Exit 1.
    case noDatabase(source: String)
    /// The source's dump is of another engine than the target database. Exit 1.
    case engineMismatch(source: String, holds: DatabaseEngine, database: String, wants: DatabaseEngine)
    /// No archive at the path. Exit 1.
    case noArchive(path: String)
    /// No JSON beside the archive, so its hash cannot be checked; `--force` accepts it. Exit 1.
    case missingManifest(archive: String, manifest: String)
    /// An export would replace an existing archive. Exit 1.
    case alreadyExists(path: String)
    /// A restore test's scratch database holds data. Exit 1.
    case scratchNotEmpty(database: String, objects: Int)
    /// A restore test cannot tell which server to use for its scratch database. Exit 1.
    case unknownServer(source: String)
    /// Object storage answered a request with an error status. Exit 1.
    case storage(location: String, object: String, status: Int, code: String?)
    /// Object storage could not be reached (DNS, connection, TLS, timeout). Exit 1.
    case storageUnreachable(location: String, reason: String)
    /// A remote store failed an operation in its own words (rclone's last line). Exit 1.
    case storageFailed(location: String, object: String, reason: String)
    /// The bucket of an S3 repository does not exist. Exit 10.
    case noBucket(location: String)
    /// An S3 repository was named but no credentials were found. Exit 1.
    case missingCredentials(location: String)
    /// A program Kura needs for this repository is not installed. Exit 1.
    case missingTool(name: String, hint: String)
    /// The repository uses a format this version does not read. Exit 1.
    case unsupportedFormat(String)
    /// A database could not be reached, dumped or restored. Exit 1.
    case database(DatabaseFailure)
    /// The user pressed Ctrl-C (or the process got SIGTERM). Exit 130.
    case interrupted
    /// A password is needed and no source gives one (exit 2, as wrong usage).
    case noPassword(choices: String)
    /// A configuration file (`kura.toml`) has problems, each on its line. Exit 2.
    case configuration([ConfigurationProblem])
    /// No key file of an encrypted repository opens with the password (or the paper key is not
    /// this repository's): each readable key was tried once. Exit 12.
    case wrongPassword(tried: Int, damaged: Int)
    /// An encrypted repository without one readable key file. Exit 12.
    case noKeyFiles(location: String, damaged: Int)

    /// The process exit code documented for this failure.
    public var exitCode: Int32 {
        switch self {
        case .noRepository, .noBucket: return 10
        case .locked: return 11
        case .integrity, .pruneStopped, .filesNotRestored, .wrongPassword, .noKeyFiles: return 12
        case .wouldOverwrite, .databaseNotEmpty: return 13
        case .interrupted: return 130
        case .noPassword, .configuration: return 2
        default: return 1
        }
    }

    /// One line: what happened and what to do next.
    public var description: String {
        switch self {
        case .noRepository(let path):
            return "no Kura repository at \(path): create one with 'kura init --repo \(path)' or set --repo / KURA_REPO"
        case .configuration(let problems):
            return problems.map(\.description).joined(separator: "\n")
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
            return "'\(path)' is not in \(snapshot.hasSuffix(".tar.gz") ? snapshot : "snapshot " + snapshot): "
                + (snapshot.hasSuffix(".tar.gz") ? "'tar -tzf \(snapshot)'" : "'kura ls \(snapshot)'") + " lists its paths"
        case .notAFile(let path, let kind):
            return "\(path) is a \(kind == .directory ? "directory" : "symlink"), not a file"
        case .integrity(let failure):
            return "integrity failure: \(failure)"
        case .pruneStopped(let failure):
            return "integrity failure: \(failure): prune stopped before deleting anything; run 'kura verify --read-data'"
        case .filesNotRestored(let count):
            return "\(count) file(s) could not be restored: run 'kura verify' (listed above)"
        case .wouldOverwrite(let count, let examples, let target):
            let list = examples.prefix(3).joined(separator: ", ")
            return "restore would overwrite \(count) existing path(s) in \(target) (\(list)\(count > 3 ? ", …" : "")): pass --force to replace them, or restore into an empty --target"
        case .databaseNotEmpty(let database, let tables):
            return "database \(database) holds \(tables) table(s), view(s) or sequence(s): pass --force to replace it (a pre-restore safety snapshot is taken first), or restore into a new database"
        case .io(let operation, let path, let code):
            return "\(operation) \(path): \(String(cString: strerror(code)))"
        case .invalidArgument(let message):
            return message
        case .nothingToBackUp:
            return "nothing to back up: give --media DIR and/or --database URL"
        case .mediaFolderMissing(let path):
            return "media folder \(path) does not exist or is not a directory: check --media"
        case .nothingToRestore:
            return "nothing to restore to: give --target DIR, --media-to DIR and/or --database URL"
        case .targetNotDirectory(let path):
            return "restore target \(path) exists and is not a directory: choose another --target"
        case .unsafeTargetPath(let path, let target):
            return "cannot restore \(path) into \(target): a parent is a symlink or a file, which a restore never follows"
        case .notEnoughSpace(let source, let needed, let available, let target):
            return "\(source) holds \(needed) bytes of files, more than the \(available) bytes free at \(target): "
                + "nothing was written; free space or choose another --target"
        case .noDatabase(let source):
            return "\(source) holds no database: restore it with --target or --media-to"
        case .engineMismatch(let source, let holds, let database, let wants):
            return "\(source) holds a \(holds.rawValue) database; \(database) is \(wants.rawValue)"
        case .noArchive(let path):
            return "no archive at \(path)"
        case .missingManifest(_, let manifest):
            return "no \(FileSystem.name(of: manifest)) beside the archive, so its integrity cannot be checked: pass --force to restore it anyway"
        case .alreadyExists(let path):
            return "\(path) already exists: remove it or choose another --output"
        case .scratchNotEmpty(let database, let objects):
            return "scratch database \(database) holds \(objects) object(s): name a new database with --scratch-database"
        case .unknownServer(let source):
            return "\(source) does not say which server it came from: give --scratch-database URL"
        case .storage(let location, let object, let status, let code):
            let what = code.map { " \($0)" } ?? ""
            let hint = status == 403 ? ": check the credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE) and their rights on the bucket"
                : status == 404 ? ": check the bucket name" : ""
            return "\(location): \(object): HTTP \(status)\(what)\(hint)"
        case .storageUnreachable(let location, let reason):
            return "cannot reach \(location): \(reason): check the endpoint and the network"
        case .storageFailed(let location, let object, let reason):
            return "\(location): \(object): \(reason)"
        case .noBucket(let location):
            return "no bucket for \(location): create the bucket first (for example 'aws s3 mb'), then 'kura init --repo \(location)'"
        case .missingCredentials(let location):
            return "no S3 credentials for \(location): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials"
        case .missingTool(let name, let hint):
            return "\(name) is not installed: \(hint)"
        case .unsupportedFormat(let message):
            return "unsupported repository format: \(message)"
        case .noPassword(let choices):
            return "a password is needed: give it with \(choices)"
        case .wrongPassword(let tried, let damaged):
            return "wrong password or no key matches (tried \(tried) key\(tried == 1 ? "" : "s"))"
                + (damaged > 0 ? "; \(damaged) damaged key file\(damaged == 1 ? " was" : "s were") skipped" : "")
                + ": check the password source; with the paper key, 'kura key add --from-paper FILE' sets a new password"
        case .noKeyFiles(let location, let damaged):
            return "\(location) is encrypted but has no \(damaged > 0 ? "undamaged " : "")key file in keys/"
                + (damaged > 0 ? " (\(damaged) damaged)" : "") + ": restore keys/ from a copy, or use the paper key: 'kura key add --from-paper FILE'"
        case .database(let failure):
            return "\(failure)"
        case .interrupted:
            return "interrupted: nothing half-written was left behind"
        }
    }

    /// Builds an `.io` error from the current `errno`.
    static func posix(_ operation: String, _ path: String, _ code: Int32 = errno) -> KuraError {
        .io(operation: operation, path: path, errno: code)
    }
}
