import ArgumentParser
import Foundation
import KuraCore

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an exported archive: hash, gzip, tar structure, member paths, the dump.",
        discussion: "One line per finding; exit 12 on any. (Verifying a repository comes with the integrity issue.)",
        aliases: ["check"])

    @OptionGroup var output: OutputOptions

    @Argument(help: "The archive: backup_complet_<db>_<ts>.tar.gz (the .json beside it is read).")
    var archive: String

    struct Report: Encodable {
        var archive: String
        var ok: Bool
        var findings: [String]
    }

    func run() throws {
        let findings = ArchiveVerifier.verify(archive)
        if output.json {
            try Terminal.printJSON(Report(archive: archive, ok: findings.isEmpty, findings: findings))
        } else {
            findings.forEach { print($0) }
            if findings.isEmpty { print("\(archive): ok") }
        }
        if !findings.isEmpty { throw ExitCode(12) }
    }
}
