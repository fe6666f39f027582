import Foundation

/// `kura import ARCHIVE.tar.gz`: a documented archive (the old nightly command's or Kura's own)
/// becomes a snapshot. The archive is checked (hash against its JSON when there is one) and read
/// whole before anything is stored; it is extracted into the repository's `tmp/` and backed up
/// from there with the archive's time, so its data deduplicates against everything stored.
public final class ArchiveImporter {
    private let repository: Repository

    public init(repository: Repository) { self.repository = repository }

    public func importArchive(_ path: String, identities: [AgeIdentity] = [], tags: [String] = [],
                              cancellation: CancellationFlag = CancellationFlag()) throws -> BackupResult {
        let source = ArchiveRestorer(path: path, identities: identities)
        let notices = try source.check(force: true).map { _ in
            "no \(FileSystem.name(of: source.archive.manifestPath)) beside the archive: its hash was not checked; time taken from the file name"
        }
        let members = try source.members()
        guard let (database, stamp) = Self.parseName(FileSystem.name(of: path)) else {
            throw KuraError.invalidArgument("\(FileSystem.name(of: path)) is not named backup_complet_<db>_<YYYYMMDD_HHMMSS>.tar.gz")
        }
        guard let time = Self.time(fromCompact: stamp) else { throw KuraError.invalidArgument("bad timestamp \(stamp) in \(path)") }
        let work = repository.temporaryDirectory + "/import-" + FileSystem.randomName()
        defer { try? FileManager.default.removeItem(atPath: work) }
        _ = try source.restoreTree(RestoreOptions(target: work, force: true))
        var dump: DatabaseDump?
        if let member = ArchiveFile.dumpMember(members) {
            let engine: DatabaseEngine = member.path.hasSuffix(".sqlite3") ? .sqlite : .postgresql
            let name = String(member.path.dropFirst("database_".count).prefix { $0 != "." })
            dump = DatabaseDump(engine: engine, name: name.isEmpty ? database : name, file: work + "/" + member.path, serverVersion: "",
                                toolVersion: "imported from \(FileSystem.name(of: path))", tables: try source.recordedTables() ?? [],
                                locator: "import:\(database)")
        }
        let media = FileSystem.isDirectory(work + "/media") ? work + "/media" : nil
        guard dump != nil || media != nil else { throw KuraError.integrity(.archive(path: path, .nothingInside)) }
        var options = BackupOptions(media: media, tags: tags + ["imported"], host: "import")
        options.time = time
        options.existingDump = dump
        var result = try Archiver(repository: repository).backup(options, cancellation: cancellation)
        result.notices = notices + result.notices
        return result
    }

    /// ("db", "20251124_230501") from `backup_complet_db_20251124_230501.tar.gz`.
    static func parseName(_ name: String) -> (String, String)? {
        guard name.hasPrefix("backup_complet_"), let suffix = [".tar.gz", ".tar.gz.age"].first(where: name.hasSuffix) else { return nil }
        let core = name.dropFirst("backup_complet_".count).dropLast(suffix.count)
        guard core.count > 16 else { return nil }
        let stamp = String(core.suffix(15))
        let database = String(core.dropLast(16))
        guard stamp.count == 15, stamp[stamp.index(stamp.startIndex, offsetBy: 8)] == "_", !database.isEmpty else { return nil }
        return (database, stamp)
    }

    /// RFC 3339 in this machine's zone from `YYYYMMDD_HHMMSS` local time.
    static func time(fromCompact stamp: String) -> String? {
        let digits = stamp.replacingOccurrences(of: "_", with: "")
        guard digits.count == 14, digits.allSatisfy(\.isNumber) else { return nil }
        func part(_ from: Int, _ length: Int) -> Int32 {
            Int32(digits.dropFirst(from).prefix(length)) ?? 0
        }
        var parts = tm()
        parts.tm_year = part(0, 4) - 1900
        parts.tm_mon = part(4, 2) - 1
        parts.tm_mday = part(6, 2)
        parts.tm_hour = part(8, 2)
        parts.tm_min = part(10, 2)
        parts.tm_sec = part(12, 2)
        parts.tm_isdst = -1
        let seconds = mktime(&parts)
        return seconds == -1 ? nil : Timestamp.format(seconds: Int(seconds), nanoseconds: 0)
    }
}
