import Foundation

/// The nightly schedule of `kura run` (`kura schedule`): a systemd service + timer, or a cron
/// line where systemd does not run. The service runs as the user who installs it, owner-only
/// (`UMask=0077`), at low CPU and idle I/O priority; the timer fires at `onCalendar` plus up to
/// `randomizedDelay` (so that many sites do not hit one object store at once) and catches up on a
/// night missed while the machine was off (`Persistent=true`). A run that meets another's lock
/// waits for it (`--retry-lock`).
public struct ScheduleUnits: Sendable {
    /// `kura` for `/etc/kura/kura.toml`, `kura-<name>` for `<name>.toml` elsewhere.
    public var name: String
    public var kuraPath: String
    public var configFile: String
    /// systemd's OnCalendar, e.g. `*-*-* 02:30:00`.
    public var onCalendar: String
    public var randomizedDelay: String
    public var lockWait: String
    /// The user the job runs as (nil: a user unit, or root's cron).
    public var user: String?

    public init(configFile: String, kuraPath: String, onCalendar: String = "*-*-* 02:30:00", randomizedDelay: String = "30min",
                lockWait: String = "30min", user: String? = nil) {
        self.configFile = configFile
        self.kuraPath = kuraPath
        self.onCalendar = onCalendar
        self.randomizedDelay = randomizedDelay
        self.lockWait = lockWait
        self.user = user
        let base = FileSystem.name(of: configFile).replacingOccurrences(of: ".toml", with: "")
        name = base == "kura" ? "kura" : "kura-" + String(base.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }

    /// The command the job runs.
    public var command: String {
        "\(Self.quote(kuraPath)) run --config \(Self.quote(configFile)) --retry-lock \(lockWait)"
    }

    public var service: String {
        """
        # Written by 'kura schedule install'; 'kura schedule remove' deletes it.
        [Unit]
        Description=Kura nightly run (\(configFile))
        Wants=network-online.target
        After=network-online.target postgresql.service

        [Service]
        Type=oneshot
        \(user.map { "User=\($0)\n" } ?? "")ExecStart=\(command)
        # Everything the night writes (repository, archives, temp files) is owner-only.
        UMask=0077
        Nice=10
        IOSchedulingClass=idle
        # A night may take long (a first backup, a prune); it is never cut short by systemd.
        TimeoutStartSec=infinity
        NoNewPrivileges=yes

        """
    }

    public var timer: String {
        """
        # Written by 'kura schedule install'; 'kura schedule remove' deletes it.
        [Unit]
        Description=Kura nightly run (\(configFile))

        [Timer]
        OnCalendar=\(onCalendar)
        RandomizedDelaySec=\(randomizedDelay)
        Persistent=true

        [Install]
        WantedBy=timers.target

        """
    }

    /// `/etc/cron.d/<name>`: minute and hour from `onCalendar` when it is a daily `HH:MM[:SS]`
    /// (else 02:30); cron mails the run's last line when it fails.
    public var cronFile: String {
        let clock = onCalendar.split(separator: " ").last.map(String.init) ?? "02:30"
        let parts = clock.split(separator: ":").compactMap { Int($0) }
        let (hour, minute) = parts.count >= 2 && (0..<24).contains(parts[0]) && (0..<60).contains(parts[1]) ? (parts[0], parts[1]) : (2, 30)
        return """
            # Written by 'kura schedule install' (no systemd here); 'kura schedule remove' deletes it.
            # cron mails what the run prints when it fails: its last line is the summary.
            \(minute) \(hour) * * * \(user ?? "root") umask 077; nice -n 10 ionice -c 3 \(command) > /dev/null

            """
    }

    /// Whether systemd manages this machine (`/run/systemd/system` exists, as sd_booted(3) checks).
    public static var systemdIsRunning: Bool { FileSystem.isDirectory("/run/systemd/system") }

    /// `'text'` for a shell and for systemd's ExecStart, when it needs quoting.
    static func quote(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isLetter || $0.isNumber || "/._-+:=@".contains($0) }
        return plain ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
