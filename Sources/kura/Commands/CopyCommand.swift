import ArgumentParser
import Foundation
import KuraCore

struct CopyCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy snapshots to another repository (offsite); only the chunks it lacks are sent.",
        discussion: """
            SNAP... (ids, prefixes, latest, export names) default to every snapshot the destination lacks. \
            Between plain repositories snapshots keep their ids; when either is encrypted, chunks and \
            records are sealed anew under the destination's key and the copies get new ids. \
            An encrypted destination's password: --to-password-file/--to-password-command, else the \
            source's password sources. A killed copy keeps what it sent; run it again to send the rest. \
            The destination must exist (kura init --repo REPO2); it may be on another backend: \
            back up to a local repository for fast restores, then 'kura copy --to s3:…' for the offsite copy.
            """)

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Snapshots to copy (default: every snapshot the destination lacks).")
    var snapshots: [String] = []

    @Option(help: ArgumentHelp("The destination repository: a path, s3:… or rclone:….", valueName: "REPO2"))
    var to: String

    @OptionGroup var toPassword: DestinationPasswordOptions

    func run() throws {
        try withRepository { source in
            let report = try Self.copy(from: source, to: to, snapshots, credentials: toPassword.credentials(for: to, otherwise: repository.password),
                                       wait: repository.retryLock?.approximateInterval ?? 0)
            if output.json {
                try Terminal.printJSON(report)
            } else {
                print(Self.describe(report, to: to))
            }
        }
    }

    /// Opens (with `credentials` if it is encrypted) and locks `destination` (append) and copies
    /// `references` from `source` into it.
    static func copy(from source: Repository, to destination: String, _ references: [String], credentials: Repository.Credentials,
                     wait: TimeInterval) throws -> CopyReport {
        let target = try Repository.open(try RepositoryLocation(parsing: destination), credentials: credentials)
        guard target.config.id != source.config.id || target.path != source.path else {
            throw KuraError.invalidArgument("--to names the repository being copied from: give another repository")
        }
        return try target.withLock(.append, wait: wait, notice: Terminal.notice) {
            try Terminal.withProgress("sent", unit: "packs") { counter, cancellation in
                try SnapshotCopier(from: source, to: target).copy(references, progress: counter, cancellation: cancellation)
            }
        }
    }

    static func describe(_ report: CopyReport, to destination: String) -> String {
        """
        copied \(report.copied.count) snapshot(s) to \(destination)\(report.alreadyThere > 0 ? " (\(report.alreadyThere) already there)" : ""): \
        sent \(report.chunksSent) chunk(s), \(Format.bytes(report.bytesSent)) in \(report.packsWritten) pack(s); \
        \(report.chunksPresent) chunk(s) were there already; \(String(format: "%.2f", report.durationSeconds)) s
        """
    }
}

/// The password of a copy's destination (`copy --to`, `backup --copy-to`) when it is encrypted.
struct DestinationPasswordOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read the destination's password from the first line of FILE (default: the source's password sources).", valueName: "FILE"))
    var toPasswordFile: String?

    @Option(help: ArgumentHelp("Run CMD (with sh -c) and read the destination's password from its output.", valueName: "CMD"))
    var toPasswordCommand: String?

    /// What opens the destination: its own sources when given, else `otherwise` (the source's).
    func credentials(for location: String, otherwise: PasswordOptions) -> Repository.Credentials {
        guard toPasswordFile != nil || toPasswordCommand != nil else { return otherwise.credentials(for: location) }
        // The source's variables do not apply to the destination once its own source is given.
        var environment = ProcessInfo.processInfo.environment
        (environment["KURA_PASSWORD_FILE"], environment["KURA_PASSWORD"]) = (nil, nil)
        let source = PasswordSource(file: toPasswordFile, command: toPasswordCommand, environment: environment)
        return .password { try source.password(prompt: nil, warn: Terminal.warning) }
    }
}
