import ArgumentParser
import Foundation
import KuraCore

/// `kura status`: how the site's backups stand, for people and for monitoring.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show how the backups stand: last backup per source, restore test, verify, growth, and a verdict.",
        discussion: """
            Reads kura.toml (--config, $KURA_CONFIG, ./kura.toml, /etc/kura/kura.toml) for the repository \
            and the sources, or works on --repo alone (the newest snapshot's sources). The verdict is \
            CRITICAL when a source has no backup newer than max_backup_age_hours ([monitor], default 26), \
            the newest restore test failed, or the last run's verify failed; WARNING when another step of \
            the last run failed or a configured restore test is overdue; else OK. --check prints one \
            line and exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the repository cannot be read), as a \
            Nagios or Icinga plugin does.
            """)

    @OptionGroup var config: ConfigFileOptions
    @Option(name: [.customLong("repo"), .customShort("r")],
            help: ArgumentHelp("A repository without kura.toml (the newest snapshot's sources are judged).", valueName: "REPO"))
    var repo: String?
    @OptionGroup var password: PasswordOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Print one line and exit 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN) like a monitoring plugin.")
    var check = false

    func run() throws {
        do {
            let status = try load()
            if check {
                print("KURA \(status.line)")
                throw ExitCode(status.verdict.exitCode)
            }
            if output.json {
                try Terminal.printJSON(status)
            } else {
                printText(status)
            }
            if status.verdict != .ok { throw ExitCode(status.verdict.exitCode) }
        } catch let error as KuraError where check {
            print("KURA UNKNOWN: \(error)")
            throw ExitCode(3)
        }
    }

    private func load() throws -> SiteStatus {
        if let repo, config.file == nil {
            let repository = try Repository.open(try RepositoryLocation(parsing: repo), credentials: password.credentials(for: repo))
            return try SiteStatus.of(repository, configuration: nil)
        }
        let site = try config.load()
        return try SiteStatus.of(try site.openRepository(), configuration: site)
    }

    private func printText(_ status: SiteStatus) {
        print(status.line)
        for problem in status.problems.dropFirst() { print("  also: \(problem)") }
        print("sources:")
        for source in status.sources {
            let age = source.ageHours.map { HumanReadable.age($0 * 3600) + " ago" } ?? "never"
            print("  \(source.path): \(source.lastBackup.map(Format.time) ?? "no backup") (\(age))")
        }
        if let test = status.lastRestoreTest {
            print("restore test: \(test.ok ? "passed" : "FAILED") on \(Format.time(test.time))"
                  + (status.restoreTestFailingSince.map { ", failing since \(Format.time($0))" } ?? ""))
        } else {
            print("restore test: never")
        }
        if let run = status.lastRun {
            let verify = run.step(.verify).map { $0.status == .ok ? "ok" : $0.status.rawValue } ?? "not run"
            print("last run: \(Format.time(run.time)), exit \(run.exitCode), verify \(verify)")
        }
        print("repository: \(status.snapshots) snapshots, \(HumanReadable.bytes(status.repositoryBytes)) stored")
        print("last 7 days (added, backup time):")
        for night in status.nights {
            print("  \(night.date)  \(night.snapshots == 0 ? "no backup" : "\(HumanReadable.bytes(night.bytesAdded)), \(String(format: "%.1f", night.seconds)) s")")
        }
    }
}
