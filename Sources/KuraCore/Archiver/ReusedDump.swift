import Foundation

/// The parent snapshot's database dump, stored again in a new snapshot because the database has
/// not changed since that dump began (its `DatabaseState` marker is the one recorded with it).
struct ReusedDump {
    /// The parent's entry for the dump file, chunks and all.
    var entry: Entry
    var tables: [TableStatistics]
    /// The parent's `database_*` and `dump_chunker` metadata, carried over unchanged.
    var metadata: [String: String]
    /// The snapshot whose backup ran the dump.
    var dumpedIn: String
    /// For a further database (not the snapshot's first): its record, carried over.
    var extra: ExtraDatabase?

    /// The parent's dump, when `state` is known and equals the marker recorded with it: the
    /// snapshot's database (`file` nil) or one of its further databases (`file` its dump's path).
    static func fromParent(_ parent: Snapshot, reader: SnapshotReader, state: String?, file extraFile: String? = nil) throws -> ReusedDump? {
        guard let state else { return nil }
        let metadata = try reader.metadata()
        if let extraFile {
            guard let recorded = ExtraDatabase.list(metadata).first(where: { $0.file == extraFile && $0.state == state }),
                  let entry = try reader.entry(extraFile), entry.kind == .file else { return nil }
            var carried = recorded
            carried.dumpedIn = recorded.dumpedIn ?? parent.id.hex
            return ReusedDump(entry: entry, tables: [], metadata: [:], dumpedIn: carried.dumpedIn ?? parent.id.hex, extra: carried)
        }
        guard metadata["database_state"] == state, let file = metadata["database_file"],
              let entry = try reader.entry(file), entry.kind == .file else { return nil }
        return ReusedDump(entry: entry, tables: try reader.databaseTables(),
                          metadata: metadata.filter { $0.key.hasPrefix("database_") || $0.key == "dump_chunker" },
                          dumpedIn: metadata["database_dumped_in"] ?? parent.id.hex, extra: nil)
    }
}

/// The reused dump as a backup source: its entry, with the parent's chunks, nothing to read.
struct ReusedDumpSource: BackupSource {
    let dump: ReusedDump
    var holdsDumps: Bool { true }

    func walk(_ visit: (SourceItem) throws -> Void) throws {
        try visit(.entry(dump.entry))
    }
}

/// A snapshot's further database (after the first), as listed in its `extra_databases` metadata.
struct ExtraDatabase: Codable, Equatable {
    var name: String
    var engine: DatabaseEngine
    /// `database_<name>.<ext>` in the snapshot tree.
    var file: String
    var state: String?
    /// The snapshot whose backup ran the dump, when it was carried over.
    var dumpedIn: String?
    var serverVersion: String
    var dumpTool: String

    enum CodingKeys: String, CodingKey {
        case name, engine, file, state
        case dumpedIn = "dumped_in", serverVersion = "server_version", dumpTool = "dump_tool"
    }

    /// The further databases a snapshot database's metadata lists.
    static func list(_ metadata: [String: String]) -> [ExtraDatabase] {
        guard let text = metadata["extra_databases"] else { return [] }
        return (try? JSONDecoder().decode([ExtraDatabase].self, from: Data(text.utf8))) ?? []
    }
}
