import Foundation

/// A marker of a database's state, read just before a backup dumps it. When the marker a backup
/// reads equals the one recorded with its parent snapshot's dump, nothing in the database can have
/// changed since that dump began, and the backup reuses the parent's dump instead of dumping again
/// (docs/DESIGN.md, invariant 22).
///
/// - PostgreSQL: the cluster's system identifier, the postmaster start time, the WAL file of the
///   current insert position (which names the timeline) and the insert position itself. Every
///   committed write to a logged table writes WAL, so an unmoved insert position on the same
///   timeline of the same, not restarted, server means no committed change anywhere in the
///   cluster. No marker (so always a dump) on a standby or when the database has unlogged tables,
///   whose writes bypass WAL.
/// - SQLite: device, inode, size, mtime and ctime of the database file, and the same but ctime of
///   its `-wal` file (SQLite running as root `fchown`s the `-wal` file on every open, which changes
///   its ctime, and a write always changes the mtime);
///   no marker while a `-journal` file exists (a write in progress in rollback mode), nor when
///   either file changed less than `racyWindow` ago: file times have a coarse clock, so a write
///   right after the marker was read could leave the same times (git's "racily clean" rule).
///
/// A marker is an opaque string: only equality matters. Any failure to read one means "unknown"
/// (nil), never an error: the backup then dumps as usual.
enum DatabaseState {
    static func read(_ url: DatabaseURL) -> String? {
        switch url.engine {
        case .postgresql: return postgres(url)
        case .sqlite: return url.path.flatMap(sqlite)
        }
    }

    private static func postgres(_ url: DatabaseURL) -> String? {
        guard let connection = try? PostgresConnection(try PostgresParameters(url: url)),
              let rows = try? connection.query("""
                  SELECT pg_is_in_recovery(), (SELECT count(*) FROM pg_class WHERE relpersistence = 'u'),
                         (SELECT system_identifier FROM pg_control_system()), pg_postmaster_start_time(),
                         CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_insert_lsn()) END,
                         CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_insert_lsn() END
                  """),
              let row = rows.first, row.count == 6,
              row[0] == "f", row[1] == "0",
              let system = row[2], let started = row[3], let walFile = row[4], let position = row[5] else { return nil }
        return "postgresql:\(system):\(started):\(walFile):\(position)"
    }

    private static func sqlite(_ path: String) -> String? {
        var journal = stat()
        if lstat(path + "-journal", &journal) == 0, journal.st_size > 0 { return nil }
        guard let database = fileMarker(path) else { return nil }
        var wal = stat()
        guard lstat(path + "-wal", &wal) == 0 else { return "sqlite:\(database);wal:none" }
        guard let walMarker = fileMarker(path + "-wal", changeTime: false) else { return nil }
        return "sqlite:\(database);wal:\(walMarker)"
    }

    /// Files changed more recently than this give no marker.
    static let racyWindow = 1.0

    private static func fileMarker(_ path: String, changeTime: Bool = true) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        let changed = changeTime ? max(modified, Double(info.st_ctim.tv_sec) + Double(info.st_ctim.tv_nsec) / 1e9) : modified
        guard Date().timeIntervalSince1970 - changed >= racyWindow else { return nil }
        let times = "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)" + (changeTime ? ":\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)" : "")
        return "\(info.st_dev):\(info.st_ino):\(info.st_size):" + times
    }
}
