import ArgumentParser
import Foundation
import KuraCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the repository (structure; with --read-data every chunk) or an exported archive.",
        discussion: """
            Without ARCHIVE: config, index files, snapshot records and databases (integrity_check), every
            referenced chunk indexed, every indexed pack present with a trailer that agrees; packs in no
            index are reported as unreferenced (not an error). --read-data also reads every pack and
            checks every chunk's SHA-256; --read-data-subset checks a deterministic part: n/t (the n-th
            of t slices) or N% (a window that moves by N% each day, so nightly runs cover everything).
            Damage is named down to the files and snapshots affected. With ARCHIVE: hash against the
            JSON, gzip, tar structure, member paths, the dump. Exit 12 on any damage.
            """,
        aliases: ["check"])

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Read every pack and check every chunk.")
    var readData = false

    @Option(help: ArgumentHelp("Read only a part of the packs: N% or n/t.", valueName: "SUBSET"))
    var readDataSubset: String?

    @Argument(help: "An exported archive backup_complet_<db>_<ts>.tar.gz (the .json beside it is read).")
    var archive: String?

    struct ArchiveReport: Encodable {
        var archive: String
        var ok: Bool
        var findings: [String]
    }

    func run() throws {
        if let archive {
            try verifyArchive(archive)
            return
        }
        let (repo, lock) = try repository.openLocked(readOnly: true)
        defer { lock?.release() }
        let options = CheckOptions(readData: readData, subset: try readDataSubset.map { try ReadDataSubset(parsing: $0) })
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

    private func printText(_ report: CheckReport) {
        report.notices.forEach(Terminal.notice)
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

    private func verifyArchive(_ archive: String) throws {
        let findings = ArchiveVerifier.verify(archive)
        if output.json {
            try Terminal.printJSON(ArchiveReport(archive: archive, ok: findings.isEmpty, findings: findings))
        } else {
            findings.forEach { print($0) }
            if findings.isEmpty { print("\(archive): ok") }
        }
        if !findings.isEmpty { throw ExitCode(12) }
    }
}
