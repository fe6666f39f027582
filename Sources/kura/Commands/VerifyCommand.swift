import ArgumentParser
import Foundation
import KuraCore

struct VerifyCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the repository (structure; with --read-data every chunk) or an exported archive.",
        discussion: """
            Without ARCHIVE: config, index files, snapshot records and databases (integrity_check), every \
            referenced chunk indexed, every indexed pack present with a trailer that agrees; packs in no \
            index are reported as unreferenced (not an error). --read-data also reads every pack and \
            checks every chunk's SHA-256; --read-data-subset checks a deterministic part: n/t (the n-th \
            of t slices) or N% (a window that moves by N% each day, so nightly runs cover everything). \
            Damage is named down to the files and snapshots affected. With ARCHIVE: hash against the \
            JSON, gzip, tar structure, member paths, the dump. Exit 12 on any damage.

            --restore-test [SNAP] (default latest) proves that a snapshot restores: its PostgreSQL dump \
            into a scratch database (default kura_restoretest_<id> on the snapshot's server, always \
            dropped; password from PGPASSWORD or ~/.pgpass) or its SQLite copy into a temp file \
            (integrity_check, foreign_key_check); every table's row count against the backup's; \
            --check-sql FILE lines (each a query returning one true value); a --media-sample of media \
            files restored and checked, and with --media DIR the live files compared. The result is \
            recorded in the repository and shown by 'kura snapshots'. Exit 12 when a check fails. \
            --restore-test ARCHIVE tests an exported archive the same way, without a repository (row \
            counts from its JSON; a PostgreSQL dump needs --scratch-database); its result is shown, not \
            recorded.
            """,
        aliases: ["check"])

    @OptionGroup var repository: RepositoryOptions
    /// A restore test of a snapshot records its result.
    var lockMode: LockMode { restoreTest ? .append : .read }
    @OptionGroup var output: OutputOptions

    @Flag(help: "Read every pack and check every chunk.")
    var readData = false

    @Option(help: ArgumentHelp("Read only a part of the packs: N% or n/t.", valueName: "SUBSET"))
    var readDataSubset: ReadDataSubset?

    @Flag(help: "Restore SNAP's database into a scratch database and check it, with a sample of media.")
    var restoreTest = false

    @Option(help: ArgumentHelp("With --restore-test: the PostgreSQL database to restore into (must be new or empty).", valueName: "URL"))
    var scratchDatabase: DatabaseURL?

    @Option(help: ArgumentHelp("With --restore-test: SQL assertions, one query per line returning one true value.", valueName: "FILE"))
    var checkSql: String?

    @Option(help: ArgumentHelp("With --restore-test: share of media files restored and checked (default 5%).", valueName: "N%"))
    var mediaSample = Percentage(5)

    @Option(help: ArgumentHelp("With --restore-test: the live media folder, to find files changed in place (bit rot).", valueName: "DIR"))
    var media: String?

    @Argument(help: "An exported archive backup_complet_<db>_<ts>.tar.gz or .tar.gz.age (the .json beside it is read); with --restore-test, the snapshot (default latest).")
    var archive: String?

    @OptionGroup var keys: ArchiveDecryptionOptions

    struct ArchiveReport: Encodable {
        var archive: String
        var ok: Bool
        var findings: [String]
        /// False for an encrypted archive checked without its key (its hash only).
        var contentChecked: Bool

        enum CodingKeys: String, CodingKey {
            case archive, ok, findings, contentChecked = "content_checked"
        }
    }

    func run() throws {
        if restoreTest {
            try runRestoreTest()
            return
        }
        if let archive {
            try verifyArchive(archive)
            return
        }
        try withRepository { repo in
            let options = CheckOptions(readData: readData, subset: readDataSubset)
            let report = try Terminal.withProgress("read", unit: "packs", shown: options.readData) { counter, cancellation in
                try RepositoryChecker(repository: repo).check(options, progress: counter, cancellation: cancellation)
            }
            if output.json {
                try Terminal.printJSON(report)
            } else {
                printText(report)
            }
            if !report.ok { throw ExitCode(12) }
        }
    }

    private func printText(_ report: CheckReport) {
        report.notices.forEach(Terminal.notice)
        report.warnings.forEach(Terminal.warning)
        print("checked \(report.snapshots) snapshots, \(report.indexFiles) index files, \(report.packs) packs, "
              + "\(report.referencedChunks) referenced chunks")
        if readData || readDataSubset != nil {
            let rate = report.readDataSeconds > 0 ? Double(report.bytesRead) / report.readDataSeconds : 0
            print("read \(report.packsRead) packs (\(Format.bytes(report.bytesRead)), \(report.chunksRead) chunks"
                  + "\(report.readDataSubset.map { ", subset \($0)" } ?? "")) in \(String(format: "%.2f", report.readDataSeconds)) s, "
                  + "\(Format.bytes(Int64(rate)))/s")
        }
        report.errors.forEach { print("error: \($0)") }
        if !report.damagedFiles.isEmpty {
            print("files that cannot be restored:")
            for file in report.damagedFiles {
                print("  \(file.path)  (snapshots \(file.snapshots.joined(separator: ", ")))")
            }
        }
        print(report.ok ? "no errors found" : "\(report.errors.count) error(s) found")
    }

    private func runRestoreTest() throws {
        let lines = try checkSql.map { path -> [String] in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw KuraError.invalidArgument("cannot read --check-sql file \(path)")
            }
            return text.components(separatedBy: "\n")
        } ?? []
        let options = RestoreTestOptions(scratchDatabase: scratchDatabase, checkSQL: lines,
                                         mediaSample: mediaSample.fraction, liveMedia: media)
        if let archive, archive.hasSuffix(".tar.gz") || archive.hasSuffix(".tar.gz.age"), FileManager.default.fileExists(atPath: archive) {
            // An archive needs no repository, and its result is shown, not recorded.
            let record = try Terminal.withProgress("restore-tested", shown: false) { _, cancellation in
                try RestoreTester(repository: nil).test(ArchiveRestorer(path: archive, identities: try keys.identities(for: archive, password: repository.password)),
                                                        recordedAs: archive, options, cancellation: cancellation)
            }
            return try report(record, of: archive)
        }
        try withRepository { repo in
            let snapshot = try repo.resolve(archive ?? "latest")
            let record = try Terminal.withProgress("restore-tested", shown: false) { _, cancellation in
                try RestoreTester(repository: repo).test(snapshot, options, cancellation: cancellation)
            }
            try repo.writeVerification(record)
            try report(record, of: "snapshot \(snapshot.id.short) (\(Format.time(snapshot.record.time)))")
        }
    }

    private func report(_ record: VerificationRecord, of name: String) throws {
        if output.json {
            try Terminal.printJSON(record)
        } else {
            print("restore test of \(name):")
            for check in record.checks {
                print("  \(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail) (\(String(format: "%.2f", check.seconds)) s)")
            }
            print(record.ok ? "restore test passed in \(String(format: "%.2f", record.durationSeconds)) s"
                            : "restore test FAILED: \(record.checks.filter { !$0.ok }.count) check(s)")
        }
        if !record.ok { throw ExitCode(12) }
    }

    private func verifyArchive(_ archive: String) throws {
        let hashOnly = archive.hasSuffix(".age") && !keys.keyGiven(for: archive, password: repository.password)
        let findings = ArchiveVerifier.verify(archive, identities: hashOnly ? [] : try keys.identities(for: archive, password: repository.password))
        if output.json {
            try Terminal.printJSON(ArchiveReport(archive: archive, ok: findings.isEmpty, findings: findings, contentChecked: !hashOnly))
        } else {
            findings.forEach { print($0) }
            if findings.isEmpty {
                print(hashOnly ? "\(archive): its hash matches its JSON; its content was not checked (encrypted: give --identity FILE or its passphrase)"
                               : "\(archive): ok")
            }
        }
        if !findings.isEmpty { throw ExitCode(12) }
    }
}
