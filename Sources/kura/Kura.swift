import ArgumentParser
import CKuraSystem
import Foundation
import KuraCore

/// `kura`: the command line over KuraCore. Each command parses, calls the library, prints.
@main
struct Kura: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kura",
        abstract: "Deduplicated, incremental backups of a web site's database and media.",
        discussion: """
            Exit codes: 0 done, 1 failed, 2 wrong usage, 3 backup saved but some files unreadable, \
            10 no repository, 11 repository locked, 12 damaged or missing data, 13 restore would \
            overwrite (use --force), 130 interrupted.
            """,
        version: KuraVersion.current,
        subcommands: [
            InitCommand.self, BackupCommand.self, SnapshotsCommand.self, LsCommand.self, CatCommand.self,
            FindCommand.self, DiffCommand.self, RestoreCommand.self, ExportCommand.self, ImportCommand.self, VerifyCommand.self,
            CopyCommand.self, KeyCommand.self, ForgetCommand.self, PruneCommand.self, RepairCommand.self, StatsCommand.self, UnlockCommand.self,
            RunCommand.self, StatusCommand.self, ScheduleCommand.self, ConfigCommand.self, DebugCommand.self,
        ]
    )

    /// Runs the command and turns every error into one line on stderr and its documented code.
    static func main() {
        // A file-size limit (ulimit -f) must fail a write with EFBIG, reported, not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        // A child (rclone) or a server that hangs up fails that write with EPIPE, reported; it
        // must not kill the process halfway through a backup.
        signal(SIGPIPE, SIG_IGN)
        // Big buffers go back to the system when freed: resident memory stays bounded.
        kura_tune_malloc()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as KuraError {
            Terminal.clearProgress()
            Terminal.error("\(error)")
            Foundation.exit(error.exitCode)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
