import ArgumentParser
import Foundation
import KuraCore

struct SnapshotsCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List snapshots, oldest first.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    func run() throws {
        try withRepository { repo in
            let snapshots = try repo.snapshots()
            let tests = try repo.latestVerifications()
            if output.json {
                try Terminal.printJSON(snapshots.map { SnapshotListing($0, restoreTest: tests[$0.id.hex]) })
                return
            }
            print("ID        Time                 Host            Files      Size        Restore test          Tags")
            for snapshot in snapshots {
                let record = snapshot.record
                let host = record.host.padding(toLength: 15, withPad: " ", startingAt: 0)
                let files = String(record.summary.files).padding(toLength: 10, withPad: " ", startingAt: 0)
                let size = Format.bytes(record.summary.totalBytes).padding(toLength: 11, withPad: " ", startingAt: 0)
                let test = tests[snapshot.id.hex].map { "\($0.ok ? "ok" : "FAILED") \($0.time.prefix(10))" } ?? "-"
                print("\(snapshot.id.short)  \(Format.time(record.time))  \(host) \(files) \(size) "
                      + "\(test.padding(toLength: 21, withPad: " ", startingAt: 0)) \(record.tags.joined(separator: ","))")
            }
            print("\(snapshots.count) snapshot(s)")
        }
    }
}

/// One snapshot in `kura snapshots --json`.
struct SnapshotListing: Encodable {
    var id: String
    var shortID: String
    var time: String
    var host: String
    var tags: [String]
    var paths: [String]
    var parent: String?
    var exportName: String
    var database: String?
    var databaseEngine: String?
    var summary: BackupSummary
    var restoreTest: RestoreTestSummary?

    /// The latest `verify --restore-test` of the snapshot.
    struct RestoreTestSummary: Encodable {
        var time: String
        var ok: Bool
        var durationSeconds: Double

        enum CodingKeys: String, CodingKey { case time, ok, durationSeconds = "duration_seconds" }
    }

    init(_ snapshot: Snapshot, restoreTest: VerificationRecord? = nil) {
        id = snapshot.id.hex
        shortID = snapshot.id.short
        time = snapshot.record.time
        host = snapshot.record.host
        tags = snapshot.record.tags
        paths = snapshot.record.paths
        parent = snapshot.record.parent
        exportName = snapshot.record.exportName
        database = snapshot.record.database
        databaseEngine = snapshot.record.databaseEngine?.rawValue
        summary = snapshot.record.summary
        self.restoreTest = restoreTest.map { RestoreTestSummary(time: $0.time, ok: $0.ok, durationSeconds: $0.durationSeconds) }
    }

    enum CodingKeys: String, CodingKey {
        case id, time, host, tags, paths, parent, summary
        case shortID = "short_id", exportName = "export_name", database, databaseEngine = "database_engine"
        case restoreTest = "restore_test"
    }
}
