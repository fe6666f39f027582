import Foundation

/// How a site's backups stand (`kura status`): per source its newest snapshot and that
/// snapshot's age, the newest restore test and verify, the repository's size and what the last
/// nights added, and a verdict a monitoring system can act on (`--check`: Nagios's 0/1/2/3).
public struct SiteStatus: Encodable, Sendable {
    public enum Verdict: String, Encodable, Sendable {
        case ok = "OK", warning = "WARNING", critical = "CRITICAL", unknown = "UNKNOWN"

        /// Nagios/Icinga plugin exit code.
        public var exitCode: Int32 {
            switch self {
            case .ok: return 0
            case .warning: return 1
            case .critical: return 2
            case .unknown: return 3
            }
        }
    }

    public struct Source: Encodable, Sendable {
        /// A database locator or a media folder, as snapshots record it.
        public var path: String
        public var lastBackup: String?
        public var ageHours: Double?
        public var snapshot: String?

        enum CodingKeys: String, CodingKey { case path, snapshot, lastBackup = "last_backup", ageHours = "age_hours" }
    }

    /// One night: what it added and how long its backup took (from the snapshots, so nights
    /// backed up without `kura run` count too).
    public struct Night: Encodable, Sendable {
        public var date: String
        public var bytesAdded: Int64
        public var seconds: Double
        public var snapshots: Int

        enum CodingKeys: String, CodingKey { case date, snapshots, seconds, bytesAdded = "bytes_added" }
    }

    public var verdict: Verdict
    /// What is wrong, worst first (empty when OK).
    public var problems: [String]
    public var sources: [Source]
    public var snapshots: Int
    public var repositoryBytes: Int64
    public var nights: [Night]
    public var lastRun: RunRecord?
    public var lastRestoreTest: RestoreTestResult?
    /// The newest restore test that passed, when the newest failed.
    public var restoreTestFailingSince: String?

    enum CodingKeys: String, CodingKey {
        case verdict, problems, sources, snapshots, nights
        case repositoryBytes = "repository_bytes", lastRun = "last_run", lastRestoreTest = "last_restore_test"
        case restoreTestFailingSince = "restore_test_failing_since"
    }

    /// The status of `repository` for the sources of `configuration` (nil: the sources of the
    /// newest snapshot), judged at `now`.
    public static func of(_ repository: Repository, configuration: SiteConfiguration?, now: Date = Date()) throws -> SiteStatus {
        let snapshots = try repository.snapshots()
        let runs = try repository.runs()
        let tests = RestoreTestHistory.of(verifications: try repository.verifications().map(\.record), runs: runs)
        let maxAge = (configuration?.monitor.maxBackupAgeHours ?? 26) * 3600
        let nowSeconds = now.timeIntervalSince1970

        let paths: [String]
        if let configuration {
            let databases = configuration.databases.map(\.url.locator)
            paths = databases + configuration.media.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        } else {
            paths = snapshots.last?.record.paths ?? []
        }
        var problems: [(Verdict, String)] = []
        let sources = paths.map { path -> Source in
            let newest = snapshots.last { $0.record.paths.contains(path) }
            let age = newest.map { nowSeconds - $0.record.epochSeconds }
            if let age, age > maxAge {
                problems.append((.critical, "no successful backup of \(path) for \(HumanReadable.age(age))"))
            } else if age == nil {
                problems.append((.critical, "no backup of \(path) yet"))
            }
            return Source(path: path, lastBackup: newest?.record.time, ageHours: age.map { $0 / 3600 }, snapshot: newest?.id.hex)
        }
        if paths.isEmpty { problems.append((.critical, "no snapshot in the repository")) }

        let lastTest = tests.last
        let failingSince = RestoreTestHistory.failingSince(tests)
        if let failingSince {
            problems.append((.critical, "restore test failing since \(Self.shortTime(failingSince))"))
        }
        if let days = configuration?.checks.restoreTestEveryDays {
            let age = lastTest.map { nowSeconds - $0.epochSeconds }
            if age.map({ $0 > Double(days) * 2 * 86_400 }) ?? true {
                problems.append((.warning, age.map { "last restore test \(HumanReadable.age($0)) ago (every \(days) days configured)" }
                                 ?? "no restore test yet (every \(days) days configured)"))
            }
        }
        if let lastRun = runs.last {
            if let verify = lastRun.step(.verify), verify.status == .failed {
                problems.append((.critical, "verify failed on \(shortTime(lastRun.time)): \(verify.message)"))
            }
            let otherFailures = lastRun.steps.filter { $0.status == .failed && $0.name != .verify && $0.name != .restoreTest }
            if !otherFailures.isEmpty {
                problems.append((.warning, "last run (\(shortTime(lastRun.time))) failed: "
                                 + otherFailures.map { "\($0.name.rawValue): \($0.message)" }.joined(separator: "; ")))
            }
        }
        let verdict = problems.map(\.0).max { $0.exitCode < $1.exitCode } ?? .ok
        return SiteStatus(verdict: verdict, problems: problems.sorted { $0.0.exitCode > $1.0.exitCode }.map(\.1), sources: sources,
                          snapshots: snapshots.count, repositoryBytes: try repository.index().totals().stored,
                          nights: nights(snapshots, now: now), lastRun: runs.last, lastRestoreTest: lastTest,
                          restoreTestFailingSince: failingSince)
    }

    /// The last 7 days with what their snapshots added (local dates, oldest first).
    static func nights(_ snapshots: [Snapshot], now: Date) -> [Night] {
        let calendar = Calendar.current
        let today = calendar.startOfDay(for: now)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        return (0..<7).reversed().compactMap { back -> Night? in
            guard let start = calendar.date(byAdding: .day, value: -back, to: today),
                  let end = calendar.date(byAdding: .day, value: 1, to: start) else { return nil }
            let day = snapshots.filter { (start.timeIntervalSince1970..<end.timeIntervalSince1970).contains($0.record.epochSeconds) }
            return Night(date: formatter.string(from: start), bytesAdded: day.reduce(0) { $0 + $1.record.summary.dataAddedStored },
                         seconds: day.reduce(0) { $0 + $1.record.summary.durationSeconds }, snapshots: day.count)
        }
    }

    /// `2026-11-24 23:05`.
    static func shortTime(_ time: String) -> String {
        String(time.prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// One line: the verdict and the worst problem, or the newest backup's age.
    public var line: String {
        if let first = problems.first { return "\(verdict.rawValue): \(first)\(problems.count > 1 ? " (+\(problems.count - 1) more)" : "")" }
        let youngest = sources.compactMap(\.ageHours).max()
        return "OK: last backup \(youngest.map { HumanReadable.age($0 * 3600) } ?? "?") ago, \(snapshots) snapshots, "
            + "\(HumanReadable.bytes(repositoryBytes)) stored"
    }
}
