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

    /// The parent's dump, when `state` is known and equals the marker recorded with it.
    static func fromParent(_ parent: Snapshot, reader: SnapshotReader, state: String?) throws -> ReusedDump? {
        guard let state else { return nil }
        let metadata = try reader.metadata()
        guard metadata["database_state"] == state, let file = metadata["database_file"],
              let entry = try reader.entry(file), entry.kind == .file else { return nil }
        return ReusedDump(entry: entry, tables: try reader.databaseTables(),
                          metadata: metadata.filter { $0.key.hasPrefix("database_") || $0.key == "dump_chunker" },
                          dumpedIn: metadata["database_dumped_in"] ?? parent.id.hex)
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
