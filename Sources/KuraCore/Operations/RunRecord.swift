import Foundation

/// The immutable record of one `kura run`, stored as `runs/<sha256 of its bytes>` in the
/// repository (sealed in an encrypted one, as verification records are): any machine that can
/// read the repository can tell how the nights went (`kura status`).
public struct RunRecord: Codable, Equatable, Sendable {
    public var version = 1
    /// When the run started (RFC 3339, local offset).
    public var time: String
    public var host: String
    /// The configuration file the run followed.
    public var config: String
    public var kuraVersion: String
    public var durationSeconds: Double
    /// The process exit code the run ended with (0: every step ok).
    public var exitCode: Int32
    public var steps: [RunStep]
    /// The run's last line, as cron mails it.
    public var summary: String

    enum CodingKeys: String, CodingKey {
        case version, time, host, config, steps, summary
        case kuraVersion = "kura_version", durationSeconds = "duration_seconds", exitCode = "exit_code"
    }

    /// The step called `name`, if the run has one.
    public func step(_ name: RunStep.Name) -> RunStep? { steps.first { $0.name == name } }

    /// True when no step failed.
    public var ok: Bool { !steps.contains { $0.status == .failed } }

    public var epochSeconds: Double { Timestamp.parse(time) ?? 0 }

    /// How many run records `kura run`'s forget step keeps (the newest; over a year of nights).
    public static let kept = 400
}

/// One step of a run and how it went.
public struct RunStep: Codable, Equatable, Sendable {
    /// The steps, in the order a night runs them.
    public enum Name: String, Codable, CaseIterable, Sendable {
        case beforeHooks = "before_hooks", backup, copy, forget, prune, verify
        case restoreTest = "restore_test", export, afterHooks = "after_hooks", errorHooks = "on_error_hooks"
    }

    public enum Status: String, Codable, Sendable {
        case ok, failed, skipped
    }

    public var name: Name
    public var status: Status
    public var seconds: Double
    /// The step's exit code (a failed step's, or 3 for a backup that could not read some files).
    public var exitCode: Int32
    /// A failed step's error, a skipped step's reason, or what an ok step did.
    public var message: String
    /// What the step measured: `bytes_added`, `snapshot`, `bytes_sent`, `removed`, `archive_bytes`…
    public var figures: [String: Double]
    /// The snapshot or archive it made, when it made one.
    public var produced: String?

    enum CodingKeys: String, CodingKey {
        case name, status, seconds, message, figures, produced
        case exitCode = "exit_code"
    }

    public init(name: Name, status: Status, seconds: Double = 0, exitCode: Int32 = 0, message: String = "",
                figures: [String: Double] = [:], produced: String? = nil) {
        self.name = name
        self.status = status
        self.seconds = seconds
        self.exitCode = exitCode
        self.message = message
        self.figures = figures
        self.produced = produced
    }
}

extension Repository {
    /// Stores a run record (a new file; the folder is created on first use).
    @discardableResult
    public func writeRun(_ record: RunRecord) throws -> ChunkID {
        try writeRecord(record, in: RepositoryLayout.runsFolder)
    }

    /// Every readable run record, oldest first. Unreadable ones are skipped.
    public func runs() throws -> [RunRecord] {
        try runsWithIDs().map(\.record)
    }

    private func runsWithIDs() throws -> [(id: ChunkID, record: RunRecord)] {
        try readRecords(RunRecord.self, in: RepositoryLayout.runsFolder, limit: Self.maxRunRecordSize).sorted { $0.record.epochSeconds < $1.record.epochSeconds }
    }

    /// Deletes all but the newest `count` run records (under the exclusive lock).
    func forgetRuns(keepingNewest count: Int) throws {
        let records = try runsWithIDs()
        guard records.count > count else { return }
        try store.delete(records.dropLast(count).map { RepositoryLayout.runName($0.id) })
    }

    /// The names of run records that do not match their name, do not open or do not parse.
    func damagedRuns() throws -> [String] {
        try damagedRecords(RunRecord.self, in: RepositoryLayout.runsFolder, limit: Self.maxRunRecordSize)
    }

    /// A run record lists a dozen steps: 1 MiB is far beyond any.
    static let maxRunRecordSize = 1 << 20
}
