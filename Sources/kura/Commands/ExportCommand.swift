import ArgumentParser
import Foundation
import KuraCore

struct ExportCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a snapshot as the documented backup_complet_<db>_<ts>.tar.gz and .json.",
        discussion: """
            The archive holds database_<db>.sql (pg_dump custom format) or database_<db>.sqlite3 and media/…; \
            GNU tar, Python's tarfile and pg_restore read it without Kura. --output - streams the tar.gz to \
            stdout (the JSON then goes to stderr, or to --json-to FILE). --encrypt-to age1… (or \
            --encrypt-passphrase) writes ….tar.gz.age instead, which Debian's age opens: \
            age -d -i key.txt backup_complet_….tar.gz.age | tar -xz.
            """)

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var format: OutputOptions

    @Argument(help: "Snapshot: id, id prefix, 'latest' or export name.")
    var snapshot: String

    @Option(help: "Directory to write into (created if missing), or - for stdout.")
    var output: String

    @Option(help: "With --output -: write the JSON to this file instead of stderr.")
    var jsonTo: String?

    @Option(help: "One gzip level (1-9) for all compressible data (default: each chunk by what zstd made of it: level 6 for text-like chunks, 3 or 2 for others, incompressible ones stored).")
    var level: Int?

    @OptionGroup var encryption: ArchiveEncryptionOptions

    func validate() throws {
        if let level, !(1...9).contains(level) { throw ValidationError("--level must be 1-9") }
        if format.json && output == "-" {
            throw ValidationError("--json needs --output DIR: with --output - the JSON goes to stderr or --json-to FILE")
        }
    }

    func run() throws {
        try withRepository { repo in
            let found = try repo.resolve(snapshot)
            let exporter = ArchiveExporter(repository: repo)
            exporter.effort = level.map(DeflateEffort.fixed) ?? .automatic
            exporter.recipients = try encryption.ageRecipients(password: repository.password)
            let toStdout = output == "-"
            let result = try Terminal.withProgress("exported", shown: !toStdout) { counter, cancellation in
                try exporter.export(found, to: toStdout ? .stream(STDOUT_FILENO) : .directory(output), progress: counter,
                                    cancellation: cancellation)
            }
            let json = result.manifest.encoded()
            if toStdout {
                if let jsonTo {
                    try FileSystem.writeText(json, to: jsonTo)
                } else {
                    FileHandle.standardError.write(Data(json.utf8))
                }
            } else if format.json {
                // The archive's own JSON, with where both files are and how long it took.
                let report: [String: Any] = [
                    "archive": result.archivePath ?? "", "json": result.manifestPath ?? "",
                    "duration_seconds": result.durationSeconds,
                    "manifest": try JSONSerialization.jsonObject(with: Data(json.utf8)),
                ]
                let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let seconds = result.durationSeconds
                print("\(result.archivePath ?? "") (\(Format.bytes(result.manifest.sizeBytes)), \(result.manifest.files ?? 0) files) "
                      + "in \(String(format: "%.2f", seconds)) s")
                print("sha256 \(result.manifest.hash)")
            }
        }
    }
}
