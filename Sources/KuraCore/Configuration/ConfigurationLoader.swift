import Foundation
import TOMLKit

/// Finds and reads `kura.toml` (docs/CONFIG.md) into a `SiteConfiguration`, checking every key:
/// unknown keys, values of the wrong type or out of range, files that do not exist (a password
/// file, an exclude file, a check-SQL file), media folders that are missing. Every problem found
/// is reported at once, each with its line (`KuraError.configuration`, exit 2).
public enum ConfigurationLoader {
    /// Where a configuration is looked for when none is named, in order.
    public static let defaultLocations = ["./kura.toml", "/etc/kura/kura.toml"]

    /// The file to read: `explicit` (`--config`), else `$KURA_CONFIG`, else the first of
    /// `defaultLocations` that exists.
    public static func locate(_ explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let variable = environment["KURA_CONFIG"], !variable.isEmpty { return absolute(variable) }
        if let found = defaultLocations.first(where: FileSystem.exists) { return absolute(found) }
        throw KuraError.invalidArgument("no kura.toml found (tried \(defaultLocations.joined(separator: ", "))): "
                                        + "pass --config FILE or set KURA_CONFIG; docs/CONFIG.md has an example")
    }

    /// The keys of the top level (the tables aside).
    static let topLevelKeys: Set<String> = [
        "repository", "password_file", "password_command", "copy_to", "copy_password_file", "copy_password_command", "cache_dir",
        "host", "tags", "media", "exclude", "exclude_file", "exclude_caches", "one_file_system",
    ]

    /// Reads and checks the file at `path`.
    public static func load(_ path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SiteConfiguration {
        let path = absolute(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KuraError.configuration([ConfigurationProblem(file: path, line: nil, message: "cannot read the file (\(String(cString: strerror(errno))))")])
        }
        guard data.count <= 1 << 20 else {
            throw KuraError.configuration([ConfigurationProblem(file: path, line: nil, message: "larger than 1 MiB: not a configuration file")])
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            let valid = data.prefix { $0 < 0x80 }
            let line = valid.filter { $0 == UInt8(ascii: "\n") }.count + 1
            throw KuraError.configuration([ConfigurationProblem(file: path, line: line, message: "not UTF-8 text (TOML files are UTF-8)")])
        }
        return try parse(text, file: path, environment: environment)
    }

    /// Reads and checks configuration text, as if it were the file `file`.
    public static func parse(_ text: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SiteConfiguration {
        if let problem = TOMLHeaderCheck.firstProblem(text) {
            throw KuraError.configuration([ConfigurationProblem(file: file, line: problem.line, message: "not valid TOML: \(problem.message)")])
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw KuraError.configuration([ConfigurationProblem(file: file, line: error.source.begin.line,
                                                                message: "not valid TOML: \(error.description)")])
        }
        let context = TOMLTableReader.Context(file: file, lines: TOMLLineIndex(text), topLevelKeys: topLevelKeys)
        let top = TOMLTableReader(table, prefix: "", section: "the top level", context: context)
        let configuration = read(top, file: file, environment: environment)
        top.finish()
        guard context.problems.isEmpty, let configuration else {
            throw KuraError.configuration(context.problems.sorted { ($0.line ?? 0) < ($1.line ?? 0) })
        }
        return configuration
    }

    /// The `[monitor]` of a file that did not pass the checks, when its TOML parses and the URLs
    /// are there: the night that could not start still reaches the monitor (`kura run`).
    public static func monitorOfRejected(_ path: String) -> MonitorSettings? {
        guard let data = FileManager.default.contents(atPath: absolute(path)), data.count <= 1 << 20,
              case let text = String(decoding: data, as: UTF8.self), TOMLHeaderCheck.firstProblem(text) == nil,
              let table = try? TOMLTable(string: text),
              let monitor = table["monitor"]?.table else { return nil }
        let url = { (key: String) in monitor[key]?.string.flatMap { $0.hasPrefix("http://") || $0.hasPrefix("https://") ? $0 : nil } }
        guard url("ping_url") != nil || url("ntfy_url") != nil else { return nil }
        return MonitorSettings(pingURL: url("ping_url"), ntfyURL: url("ntfy_url"))
    }

    private static func absolute(_ path: String) -> String {
        TOMLTableReader.resolve(path, relativeTo: FileManager.default.currentDirectoryPath + "/kura.toml")
    }

    // MARK: - Sections

    private static func read(_ top: TOMLTableReader, file: String, environment: [String: String]) -> SiteConfiguration? {
        let repository = top.string("repository")
        if repository == nil { top.report("repository", "missing: name the repository (a path, s3:…, rclone:…, sftp:…)") }
        let password = passwordSource(top, fileKey: "password_file", commandKey: "password_command", environment: environment)
        let copyTo = top.strings("copy_to")
        let copyPassword = passwordSource(top, fileKey: "copy_password_file", commandKey: "copy_password_command", environment: environment)
        let cacheDirectory = top.path("cache_dir")
        let host = top.string("host")
        let tags = top.strings("tags")
        let databases = top.tables("database").compactMap { database($0, environment: environment) }
        let media = top.strings("media").map { TOMLTableReader.resolve($0, relativeTo: file) }
        for (index, folder) in media.enumerated() where !FileSystem.isDirectory(folder) {
            top.report("media", "folder \(folder)\(media.count > 1 ? " (#\(index + 1))" : "") does not exist or is not a directory")
        }
        if databases.isEmpty && media.isEmpty {
            top.report("media", "nothing to back up: give media = \"/path/to/MEDIA_ROOT\" and/or a [[database]] table")
        }
        if (try? BackupPlan.mediaNames(media)) == nil {
            top.report("media", "two media folders have the same name: each further folder is stored as media_<name>/")
        }
        if (try? BackupPlan.databaseFiles(databases.map(\.url))) == nil && databases.count > 1 {
            top.report("database", "two databases would be stored under the same name database_<db>.*: back them up in separate configurations")
        }
        var patterns = top.strings("exclude")
        if let excludeFile = top.path("exclude_file") {
            if let fromFile = try? ExclusionRules.patterns(fromFile: excludeFile) {
                patterns += fromFile
            } else {
                top.report("exclude_file", "cannot read \(excludeFile)")
            }
        }
        for pattern in patterns {
            if let problem = ExclusionRules.problem(with: pattern) { top.report("exclude", "'\(pattern)': \(problem)") }
        }
        let exclusions = ExclusionRules(patterns: patterns, excludeCaches: top.bool("exclude_caches") ?? false,
                                        oneFileSystem: top.bool("one_file_system") ?? false)
        let (retention, prune, maxUnused) = top.table("retention").map(retentionSection) ?? (nil, .never, 0.1)
        let export = top.table("export").flatMap(exportSection)
        let checks = top.table("checks").map(checksSection) ?? CheckSettings()
        let hooks = top.table("hooks").map(hooksSection) ?? HookSettings()
        let monitor = top.table("monitor").map(monitorSection) ?? MonitorSettings()
        guard let repository else { return nil }
        return SiteConfiguration(file: file, repository: repository, password: password ?? PasswordSource(environment: environment),
                                 copyTo: copyTo, copyPassword: copyPassword, cacheDirectory: cacheDirectory, host: host, tags: tags, databases: databases, media: media,
                                 exclusions: exclusions, retention: retention, prune: prune, pruneMaxUnused: maxUnused, export: export,
                                 checks: checks, hooks: hooks, monitor: monitor)
    }

    /// `password_file` / `password_command` (one of them); nil when neither is given.
    private static func passwordSource(_ table: TOMLTableReader, fileKey: String, commandKey: String,
                                       environment: [String: String]) -> PasswordSource? {
        let file = table.path(fileKey)
        let command = table.string(commandKey)
        if file != nil && command != nil { table.report(commandKey, "give \(fileKey) or \(commandKey), not both") }
        if let file {
            var info = stat()
            if stat(file, &info) != 0 {
                table.report(fileKey, "\(file) does not exist: create it (head -c 32 /dev/urandom | base64 > \(file); chmod 600 \(file))")
            } else if access(file, R_OK) != 0 {
                table.report(fileKey, "\(file) cannot be read by this user")
            } else if info.st_mode & 0o077 != 0 {
                table.report(fileKey, "\(file) can be read by other users (mode \(String(info.st_mode & 0o777, radix: 8))): chmod 600 it")
            }
        }
        guard file != nil || command != nil else { return nil }
        return PasswordSource(file: file, command: command, environment: environment)
    }

    private static func database(_ table: TOMLTableReader, environment: [String: String]) -> DatabaseSetting? {
        defer { table.finish() }
        let name = table.string("name") ?? "default"
        let text: String?
        if let variable = table.string("url_env") {
            text = environment[variable]
            if text?.isEmpty ?? true { table.report("url_env", "$\(variable) is not set") }
            if table.string("url") != nil { table.report("url", "give url or url_env, not both") }
        } else {
            text = table.string("url")
            if text == nil { table.report("url", "missing: postgresql://user@host/db, sqlite:///path/db.sqlite3, or url_env = \"DATABASE_URL\"") }
        }
        guard let text, !text.isEmpty else { return nil }
        do {
            let url = try DatabaseURL(text)
            if let path = url.path, !FileSystem.exists(path) { table.report("url", "SQLite database \(path) does not exist") }
            return DatabaseSetting(name: name, url: url)
        } catch {
            table.report("url", "\(error)")
            return nil
        }
    }

    private static func retentionSection(_ table: TOMLTableReader) -> (ForgetPolicy?, PruneSchedule, Double) {
        defer { table.finish() }
        let count = { (key: String) in table.int(key, in: -1...1_000_000) ?? 0 }
        var policy = ForgetPolicy(last: count("keep_last"), hourly: count("keep_hourly"), daily: count("keep_daily"),
                                  weekly: count("keep_weekly"), monthly: count("keep_monthly"), yearly: count("keep_yearly"),
                                  tags: table.strings("keep_tags"))
        if let within = table.string("keep_within") {
            do { policy.within = try KeepDuration(parsing: within) } catch { table.report("keep_within", "\(error)") }
        }
        if policy.isEmpty { table.reportTable("keeps nothing: give keep_* counts (forget refuses to remove everything)") }
        var prune = PruneSchedule.everyDays(7)
        switch table.string("prune") {
        case nil, "weekly": prune = .everyDays(7)
        case "always", "nightly": prune = .always
        case "never": prune = .never
        case "monthly": prune = .everyDays(30)
        case let other?: table.report("prune", "'\(other)': write always, weekly, monthly or never")
        }
        let maxUnused = table.number("prune_max_unused_percent", in: 0...100).map { $0 / 100 } ?? 0.1
        return (policy.isEmpty ? nil : policy, prune, maxUnused)
    }

    private static func exportSection(_ table: TOMLTableReader) -> ExportSettings? {
        defer { table.finish() }
        let folder = table.path("folder")
        if folder == nil { table.report("folder", "missing: the folder the nightly archives go to") }
        let keep = table.int("keep", in: 0...100_000) ?? 7
        let recipients = table.strings("encrypt_to")
        for recipient in recipients where (try? AgeRecipient(parsing: recipient)) == nil {
            table.report("encrypt_to", "'\(recipient)' is not an age recipient (age1…, from age-keygen)")
        }
        let level = table.int("level", in: 1...9)
        guard let folder else { return nil }
        return ExportSettings(folder: folder, keep: keep, recipients: recipients, level: level)
    }

    private static func checksSection(_ table: TOMLTableReader) -> CheckSettings {
        defer { table.finish() }
        var checks = CheckSettings()
        if let subset = table.string("read_data_subset") {
            do { checks.readDataSubset = try ReadDataSubset(parsing: subset) } catch { table.report("read_data_subset", "\(error)") }
        }
        checks.restoreTestEveryDays = table.int("restore_test_every_days", in: 1...3650)
        if let sql = table.path("check_sql") {
            if FileManager.default.isReadableFile(atPath: sql) { checks.checkSQL = sql } else { table.report("check_sql", "cannot read \(sql)") }
        }
        checks.mediaSample = table.number("media_sample_percent", in: 0...100).map { $0 / 100 } ?? 0.05
        if let scratch = table.string("scratch_database") {
            do { checks.scratchDatabase = try DatabaseURL(scratch) } catch { table.report("scratch_database", "\(error)") }
        }
        return checks
    }

    private static func hooksSection(_ table: TOMLTableReader) -> HookSettings {
        defer { table.finish() }
        let hooks = HookSettings(before: table.strings("before"), after: table.strings("after"), onError: table.strings("on_error"),
                                 timeout: table.number("timeout_seconds", in: 1...86_400) ?? 300)
        for (key, commands) in [("before", hooks.before), ("after", hooks.after), ("on_error", hooks.onError)]
        where commands.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
            table.report(key, "an empty command")
        }
        return hooks
    }

    private static func monitorSection(_ table: TOMLTableReader) -> MonitorSettings {
        defer { table.finish() }
        var monitor = MonitorSettings()
        for (key, keyPath) in [("ping_url", \MonitorSettings.pingURL), ("ntfy_url", \MonitorSettings.ntfyURL)] {
            guard let url = table.string(key) else { continue }
            if url.hasPrefix("http://") || url.hasPrefix("https://") { monitor[keyPath: keyPath] = url } else { table.report(key, "'\(url)' is not an http(s) URL") }
        }
        switch table.string("ntfy_on") {
        case nil, "failure": monitor.ntfyOnSuccess = false
        case "always": monitor.ntfyOnSuccess = true
        case let other?: table.report("ntfy_on", "'\(other)': write failure or always")
        }
        if let file = table.path("prometheus_textfile") {
            if FileSystem.isDirectory(URL(fileURLWithPath: file).deletingLastPathComponent().path) && file.hasSuffix(".prom") {
                monitor.prometheusTextfile = file
            } else {
                table.report("prometheus_textfile", "\(file): give a …/name.prom file in an existing folder (node_exporter's --collector.textfile.directory)")
            }
        }
        monitor.maxBackupAgeHours = table.number("max_backup_age_hours", in: 1...24 * 365) ?? 26
        monitor.timeout = table.number("timeout_seconds", in: 1...600) ?? 10
        return monitor
    }
}
