import ArgumentParser
import Foundation
import KuraCore

/// `kura schedule install|remove|status`: the nightly `kura run` as a systemd timer, or a cron
/// line where systemd does not run.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Install, remove or show the nightly 'kura run' (systemd timer, or cron without systemd).",
        subcommands: [Install.self, Remove.self, Status.self])

    /// Where the files go and how the night is named.
    struct Placement: ParsableArguments {
        @OptionGroup var config: ConfigFileOptions

        @Option(help: ArgumentHelp("Write the systemd units into DIR (default: /etc/systemd/system as root, else ~/.config/systemd/user).",
                                   valueName: "DIR"))
        var unitDir: String?

        @Flag(help: "Use cron (/etc/cron.d) even where systemd runs.")
        var cron = false

        @Option(help: ArgumentHelp("Write the cron file into DIR (default /etc/cron.d).", valueName: "DIR"))
        var cronDir = "/etc/cron.d"

        var isRoot: Bool { getuid() == 0 }
        var usesSystemd: Bool { !cron && (unitDir != nil || ScheduleUnits.systemdIsRunning) }
        /// A user unit when not root and no folder was named.
        var userUnits: Bool { unitDir == nil && !isRoot }

        var unitDirectory: String {
            if let unitDir { return unitDir }
            if isRoot { return "/etc/systemd/system" }
            return (ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()) + "/.config/systemd/user"
        }

        /// Runs systemctl when systemd manages this machine and the units are where it looks.
        func systemctl(_ arguments: [String]) {
            guard ScheduleUnits.systemdIsRunning && unitDir == nil else { return }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/systemctl")
            process.arguments = (userUnits ? ["--user"] : []) + arguments
            do {
                try process.run()
                process.waitUntilExit()
                if process.terminationStatus != 0 { Terminal.warning("systemctl \(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
            } catch {
                Terminal.warning("cannot run systemctl: \(error.localizedDescription)")
            }
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "install",
            abstract: "Write and enable the systemd service + timer (or the cron file) that runs 'kura run' nightly.",
            discussion: """
                The service runs 'kura run --config FILE --retry-lock 30min' as the installing user (root: \
                add --user NAME), with UMask=0077, Nice=10 and IOSchedulingClass=idle; the timer fires at \
                --on-calendar plus up to --randomized-delay, and catches up on a night missed while the \
                machine was off (Persistent=true). The configuration is checked first. 'systemd-analyze \
                verify' accepts both units.
                """)

        @OptionGroup var placement: Placement

        @Option(help: ArgumentHelp("When to run, as systemd's OnCalendar (default '*-*-* 02:30:00').", valueName: "SPEC"))
        var onCalendar = "*-*-* 02:30:00"

        @Option(help: ArgumentHelp("Spread the start over this much time (systemd's RandomizedDelaySec).", valueName: "TIME"))
        var randomizedDelay = "30min"

        @Option(help: ArgumentHelp("Run as this user (a system unit or cron file).", valueName: "NAME"))
        var user: String?

        @Flag(help: "Only write the files: do not run systemctl enable --now.")
        var noEnable = false

        func run() throws {
            let site = try placement.config.load()
            let units = ScheduleUnits(configFile: site.file, kuraPath: Self.executablePath, onCalendar: onCalendar,
                                      randomizedDelay: randomizedDelay, user: user)
            if placement.usesSystemd {
                let directory = placement.unitDirectory
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try write(units.service, to: directory + "/\(units.name).service")
                try write(units.timer, to: directory + "/\(units.name).timer")
                if !noEnable {
                    placement.systemctl(["daemon-reload"])
                    placement.systemctl(["enable", "--now", "\(units.name).timer"])
                }
                print("installed \(directory)/\(units.name).service and .timer: '\(units.command)' at \(onCalendar) (+ up to \(randomizedDelay))")
            } else {
                let path = placement.cronDir + "/" + units.name
                try FileManager.default.createDirectory(atPath: placement.cronDir, withIntermediateDirectories: true)
                try write(units.cronFile, to: path)
                print("installed \(path): '\(units.command)' (no systemd here)")
            }
        }

        /// Unit and cron files are read by systemd and cron: 0644 from the start, written crash-safely.
        private func write(_ text: String, to path: String) throws {
            try FileSystem.writeText(text, to: path, mode: 0o644)
        }

        /// This kura's absolute path (/proc/self/exe), so the unit runs the binary that installed it.
        static var executablePath: String {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Disable and delete the nightly run's units (or cron file).")

        @OptionGroup var placement: Placement

        func run() throws {
            let name = ScheduleUnits(configFile: try placement.config.path, kuraPath: "kura").name
            var removed: [String] = []
            if placement.usesSystemd {
                placement.systemctl(["disable", "--now", "\(name).timer"])
                for suffix in [".timer", ".service"] {
                    let path = placement.unitDirectory + "/" + name + suffix
                    if unlink(path) == 0 { removed.append(path) }
                }
                placement.systemctl(["daemon-reload"])
            }
            let cronPath = placement.cronDir + "/" + name
            if unlink(cronPath) == 0 { removed.append(cronPath) }
            print(removed.isEmpty ? "nothing to remove: no \(name) units or cron file" : "removed \(removed.joined(separator: ", "))")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether the nightly run is installed and when it runs next.")

        @OptionGroup var placement: Placement

        func run() throws {
            let name = ScheduleUnits(configFile: try placement.config.path, kuraPath: "kura").name
            let timer = placement.unitDirectory + "/\(name).timer"
            let cronPath = placement.cronDir + "/" + name
            if FileManager.default.fileExists(atPath: timer) {
                print("systemd: \(timer) installed")
                placement.systemctl(["list-timers", "--no-pager", "\(name).timer"])
            } else if FileManager.default.fileExists(atPath: cronPath) {
                print("cron: \(cronPath) installed")
            } else {
                print("not installed: 'kura schedule install' writes \(placement.usesSystemd ? timer : cronPath)")
                throw ExitCode(1)
            }
        }
    }
}
