import ArgumentParser
import Foundation
import KuraCore

/// `kura run`: the whole night from kura.toml.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the night kura.toml describes: hooks, backup, copy, forget, prune, verify, restore test, export.",
        discussion: """
            Order: before hooks → backup → copy (copy_to) → forget ([retention]) → prune (when due) → \
            verify (read_data_subset) → restore test (when due) → export + rotation → after hooks; \
            on_error hooks when anything failed. A failed step skips what depends on it (no backup: no \
            copy, forget, prune or export) and not the rest; a failed before hook stops the night. \
            [monitor] pings start, success or failure (with the log's last lines) and writes the \
            Prometheus textfile. The run's record is stored in the repository ('kura status' reads it). \
            Prints one line per step; the last line is the summary. Exit: the worst step's code (a \
            failed before hook's own), 0 when every step succeeded.
            """)

    @OptionGroup var config: ConfigFileOptions
    @OptionGroup var output: OutputOptions

    @Flag(help: "Say what would run (opens the repository; runs no hook, sends no ping, writes nothing).")
    var dryRun = false

    @Flag(help: "Run the restore test tonight, whatever [checks] restore_test_every_days says.")
    var restoreTest = false

    @Option(help: ArgumentHelp("Wait up to DURATION for another process's lock at each step.", valueName: "DURATION"))
    var retryLock = KeepDuration(minutes: 30)

    func run() throws {
        let site: SiteConfiguration
        do {
            site = try config.load()
        } catch let error as KuraError {
            // The night cannot start: tell the monitor too, when the file names one.
            if !dryRun, let path = try? config.path, let monitor = ConfigurationLoader.monitorOfRejected(path) {
                let summary = "kura run: FAILED — \(path) has problems: 'kura config check' lists them — exit \(error.exitCode)"
                _ = MonitorPings(settings: monitor).finish(ok: false, summary: summary, log: ["\(error)", summary])
            }
            throw error
        }
        let record = Terminal.withProgress("ran", shown: false) { _, cancellation in
            NightlyRun(configuration: site, options: .init(dryRun: dryRun, lockWait: retryLock.approximateInterval, restoreTest: restoreTest),
                       cancellation: cancellation) { line in
                if output.json { Terminal.write(line + "\n") } else { print(line) }
                fflush(nil)
            }.run()
        }
        if output.json { try Terminal.printJSON(record) }
        if record.exitCode != 0 { throw ExitCode(record.exitCode) }
    }
}
