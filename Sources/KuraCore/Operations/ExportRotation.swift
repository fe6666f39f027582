import Foundation

/// Keeps the newest `keep` of one database's exported archives in a folder: the pairs
/// `backup_complet_<db>_<YYYYMMDD_HHMMSS>.tar.gz[.age]` + `.json` beyond them are deleted, oldest
/// first. Files of other names (another database's, anything a person put there) are never touched.
public enum ExportRotation {
    /// Deletes the archives of `database` beyond the newest `keep` in `folder`; returns the
    /// archives deleted.
    @discardableResult
    public static func rotate(folder: String, database: String, keep: Int) throws -> [String] {
        guard keep > 0 else { return [] }
        let prefix = "backup_complet_\(database)_"
        var archives: [(stamp: String, name: String)] = []
        for name in try FileSystem.list(folder) where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            let stamp = String(rest.prefix(15))
            guard isStamp(stamp) else { continue }
            let suffix = rest.dropFirst(15)
            if suffix == ".tar.gz" || suffix == ".tar.gz.age" { archives.append((stamp, name)) }
        }
        archives.sort { $0.stamp > $1.stamp }
        var deleted: [String] = []
        for archive in archives.dropFirst(keep) {
            let json = prefix + archive.stamp + ".json"
            // An .age and a plain archive of the same second share one JSON: keep it while either stays.
            unlink(folder + "/" + archive.name)
            if !archives.prefix(keep).contains(where: { $0.stamp == archive.stamp }) { unlink(folder + "/" + json) }
            deleted.append(archive.name)
        }
        if !deleted.isEmpty { try FileSystem.fsyncDirectory(folder) }
        return deleted
    }

    /// `YYYYMMDD_HHMMSS`.
    static func isStamp(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 15 && bytes[8] == UInt8(ascii: "_")
            && bytes.enumerated().allSatisfy { $0.offset == 8 || (48...57).contains($0.element) }
    }
}
