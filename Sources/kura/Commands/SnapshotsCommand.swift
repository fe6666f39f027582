import ArgumentParser
import Foundation
import KuraCore

struct SnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "snapshots", abstract: "List snapshots, oldest first.")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let snapshots = try repository.open().snapshots()
        if output.json {
            try Terminal.printJSON(snapshots.map(SnapshotListing.init))
            return
        }
        print("ID        Time                 Host            Files      Size        Tags")
        for snapshot in snapshots {
            let record = snapshot.record
            let host = record.host.padding(toLength: 15, withPad: " ", startingAt: 0)
            let files = String(record.summary.files).padding(toLength: 10, withPad: " ", startingAt: 0)
            let size = Format.bytes(record.summary.totalBytes).padding(toLength: 11, withPad: " ", startingAt: 0)
            print("\(snapshot.id.short)  \(Format.time(record.time))  \(host) \(files) \(size) \(record.tags.joined(separator: ","))")
        }
        print("\(snapshots.count) snapshot(s)")
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

    init(_ snapshot: Snapshot) {
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
    }

    enum CodingKeys: String, CodingKey {
        case id, time, host, tags, paths, parent, summary
        case shortID = "short_id", exportName = "export_name", database, databaseEngine = "database_engine"
    }
}
