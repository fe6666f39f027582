import Foundation

/// One site's nightly job, as `kura.toml` describes it (docs/CONFIG.md): where the repository is,
/// what to back up, and what the night does after the backup. Read by `ConfigurationLoader`;
/// run by `NightlyRun`; summarized by `SiteStatus`.
public struct SiteConfiguration: Sendable {
    /// The file it was read from (absolute).
    public var file: String
    /// The repository, as `--repo` takes it: a path, `s3:…`, `rclone:…`, `sftp:…`.
    public var repository: String
    /// Where an encrypted repository's password comes from (none: `KURA_PASSWORD_FILE`,
    /// `KURA_PASSWORD`, as for every command).
    public var password: PasswordSource
    /// Repositories each new snapshot is copied to (`kura copy`), in order.
    public var copyTo: [String]
    /// The password of the `copy_to` repositories when it differs from the repository's.
    public var copyPassword: PasswordSource?
    /// The local cache (`cache_dir`; default `$KURA_CACHE`, `$XDG_CACHE_HOME/kura`, `~/.cache/kura`).
    public var cacheDirectory: String?
    /// Recorded in snapshots instead of this host's name.
    public var host: String?
    public var tags: [String]
    public var databases: [DatabaseSetting]
    /// Media folders: the first is stored as `media/`, each further one as `media_<name>/`.
    public var media: [String]
    public var exclusions: ExclusionRules
    /// `[retention]`: nil when the night forgets nothing.
    public var retention: ForgetPolicy?
    /// When the night prunes (after forgetting).
    public var prune: PruneSchedule
    /// `--max-unused` of prune, as a fraction.
    public var pruneMaxUnused: Double
    public var export: ExportSettings?
    public var checks: CheckSettings
    public var hooks: HookSettings
    public var monitor: MonitorSettings

    /// Opens the repository (an encrypted one with the configured password source).
    public func openRepository() throws -> Repository {
        try open(repository, password: password)
    }

    /// Opens a `copy_to` repository (with `copy_password_*`, else the repository's password).
    public func openCopyDestination(_ destination: String) throws -> Repository {
        try open(destination, password: copyPassword ?? password)
    }

    private func open(_ location: String, password: PasswordSource) throws -> Repository {
        try Repository.open(try RepositoryLocation(parsing: location), credentials: .password { try password.password(prompt: nil) },
                            cacheRoot: cacheDirectory ?? Repository.defaultCacheRoot())
    }

    /// The snapshot's options for the night's backup.
    public var backupOptions: BackupOptions {
        BackupOptions(mediaFolders: media, databases: databases.map(\.url), exclusions: exclusions, tags: tags, host: host)
    }
}

/// One `[[database]]`.
public struct DatabaseSetting: Sendable {
    /// The label (Django's alias, `default`); the dump's file is named after the database itself.
    public var name: String
    public var url: DatabaseURL
}

/// When `kura run` prunes after forgetting.
public enum PruneSchedule: Equatable, Sendable {
    case never
    /// Every night that forgets something.
    case always
    /// When the last successful prune recorded in the repository's run records is at least this
    /// many days old.
    case everyDays(Int)
}

/// `[export]`: the nightly archive in the documented `tar.gz` + JSON format.
public struct ExportSettings: Sendable {
    /// The folder the archives go to (created owner-only if missing).
    public var folder: String
    /// How many of Kura's archives to keep there (older `backup_complet_*` pairs are deleted);
    /// 0 keeps all.
    public var keep: Int
    /// age recipients (`age1…`): the archive is written as `….tar.gz.age`.
    public var recipients: [String]
    /// One gzip level (1–9) for compressible data; nil: each chunk by its zstd result.
    public var level: Int?
}

/// `[checks]`: what the night verifies.
public struct CheckSettings: Sendable {
    /// `verify --read-data-subset` each night; nil: the structure only.
    public var readDataSubset: ReadDataSubset?
    /// A restore test when the last one recorded is at least this many days old; nil: never.
    public var restoreTestEveryDays: Int?
    /// The restore test's SQL assertions (a file, one query per line).
    public var checkSQL: String?
    /// The share of media files the restore test restores and checks.
    public var mediaSample: Double
    /// A PostgreSQL scratch database for the restore test (default: one made on the snapshot's server).
    public var scratchDatabase: DatabaseURL?

    public init(readDataSubset: ReadDataSubset? = nil, restoreTestEveryDays: Int? = nil, checkSQL: String? = nil,
                mediaSample: Double = 0.05, scratchDatabase: DatabaseURL? = nil) {
        self.readDataSubset = readDataSubset
        self.restoreTestEveryDays = restoreTestEveryDays
        self.checkSQL = checkSQL
        self.mediaSample = mediaSample
        self.scratchDatabase = scratchDatabase
    }
}

/// `[hooks]`: shell commands (`sh -c`) around the night.
public struct HookSettings: Sendable {
    /// Before anything: a failure stops the night with the hook's exit code.
    public var before: [String]
    /// After the steps, whatever they gave, when the before-hooks ran.
    public var after: [String]
    /// When any step or hook failed.
    public var onError: [String]
    /// Seconds each hook may run before it is killed (and fails).
    public var timeout: Double

    public init(before: [String] = [], after: [String] = [], onError: [String] = [], timeout: Double = 300) {
        self.before = before
        self.after = after
        self.onError = onError
        self.timeout = timeout
    }
}

/// `[monitor]`: who hears about a night.
public struct MonitorSettings: Sendable {
    /// A healthchecks.io-style check URL: `<url>/start` when the night starts, `<url>` on
    /// success, `<url>/fail` on failure, the last lines of the log as the body.
    public var pingURL: String?
    /// An ntfy-style topic URL: a plain POST of the summary line.
    public var ntfyURL: String?
    /// Whether ntfy hears of every night or only failed ones.
    public var ntfyOnSuccess: Bool
    /// node_exporter's textfile collector file (`….prom`), rewritten after each night.
    public var prometheusTextfile: String?
    /// `kura status` calls a backup older than this stale (hours).
    public var maxBackupAgeHours: Double
    /// Seconds a ping may take.
    public var timeout: Double

    public init(pingURL: String? = nil, ntfyURL: String? = nil, ntfyOnSuccess: Bool = false, prometheusTextfile: String? = nil,
                maxBackupAgeHours: Double = 26, timeout: Double = 10) {
        self.pingURL = pingURL
        self.ntfyURL = ntfyURL
        self.ntfyOnSuccess = ntfyOnSuccess
        self.prometheusTextfile = prometheusTextfile
        self.maxBackupAgeHours = maxBackupAgeHours
        self.timeout = timeout
    }
}
