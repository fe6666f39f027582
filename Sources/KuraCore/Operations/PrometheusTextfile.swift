import Foundation

/// The night's figures in Prometheus' text exposition format, for node_exporter's textfile
/// collector: written to a temp file beside the target and renamed over it, so the collector
/// never reads half a file. Every sample carries `config="<kura.toml path>"`, so that several
/// sites on one host do not collide.
public struct PrometheusTextfile {
    /// Each metric's help and samples, in the order first seen: the format wants all samples of
    /// a metric in one group after its HELP and TYPE lines.
    private var metrics: [(name: String, help: String, samples: [String])] = []
    private let config: String

    public init(config: String) { self.config = config }

    /// Adds a sample of the gauge `name`.
    mutating func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        let all = [("config", config)] + labels
        let labelText = all.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        let sample = "\(name){\(labelText)} \(Self.format(value))"
        if let index = metrics.firstIndex(where: { $0.name == name }) {
            metrics[index].samples.append(sample)
        } else {
            metrics.append((name, help, [sample]))
        }
    }

    /// The exposition text.
    public var text: String {
        metrics.map { "# HELP \($0.name) \($0.help)\n# TYPE \($0.name) gauge\n" + $0.samples.joined(separator: "\n") }
            .joined(separator: "\n") + "\n"
    }

    /// The figures of a run, with what the repository holds after it.
    public static func of(_ record: RunRecord, configFile: String, facts: RepositoryFacts?) -> PrometheusTextfile {
        var file = PrometheusTextfile(config: configFile)
        file.gauge("kura_run_timestamp_seconds", "When the last kura run started.", record.epochSeconds)
        file.gauge("kura_run_success", "1 when no step of the last kura run failed.", record.ok ? 1 : 0)
        file.gauge("kura_run_exit_code", "The last kura run's exit code.", Double(record.exitCode))
        file.gauge("kura_run_duration_seconds", "How long the last kura run took.", record.durationSeconds)
        for step in record.steps where step.status != .skipped {
            let label = [("step", step.name.rawValue)]
            file.gauge("kura_step_success", "1 when the step succeeded in the last run.", step.status == .ok ? 1 : 0, labels: label)
            file.gauge("kura_step_duration_seconds", "How long the step took in the last run.", step.seconds, labels: label)
        }
        if let added = record.step(.backup)?.figures["bytes_added_stored"] {
            file.gauge("kura_backup_bytes_added", "Bytes the last backup added to the repository (after compression).", added)
        }
        if let facts {
            if let last = facts.lastSnapshotTime {
                file.gauge("kura_last_success_timestamp_seconds", "Time of the newest snapshot in the repository.", last)
            }
            file.gauge("kura_snapshots", "Snapshots in the repository.", Double(facts.snapshots))
            if let size = facts.repositoryBytes {
                file.gauge("kura_repository_size_bytes", "Bytes stored in the repository's packs.", Double(size))
            }
            if let test = facts.lastRestoreTest {
                file.gauge("kura_restore_test_success", "1 when the newest restore test passed.", test.ok ? 1 : 0)
                file.gauge("kura_restore_test_timestamp_seconds", "When the newest restore test ran.", test.epochSeconds)
            }
        }
        return file
    }

    /// Writes the text to `path` (temp file, fsync, rename; mode 0644, as the collector runs as
    /// another user — it holds figures, no secret).
    public func write(to path: String) throws {
        try FileSystem.writeAtomically(Array(text.utf8), to: path, temporaryDirectory: FileSystem.parent(of: path), mode: 0o644)
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    private static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

/// What a repository holds, for the textfile and `kura status`.
public struct RepositoryFacts: Sendable {
    public var snapshots: Int
    /// The newest snapshot's time (epoch seconds).
    public var lastSnapshotTime: Double?
    public var repositoryBytes: Int64?
    public var lastRestoreTest: RestoreTestResult?
}
