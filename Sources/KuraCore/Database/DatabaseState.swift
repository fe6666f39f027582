import Foundation

/// A marker of a database's state, read just before a backup dumps it. When the marker a backup
/// reads equals the one recorded with its parent snapshot's dump, nothing in the database can have
/// changed since that dump began, and the backup reuses the parent's dump instead of dumping again
/// (docs/DESIGN.md, invariant 22).
///
/// - PostgreSQL: the cluster's system identifier, the postmaster start time, `xmax` of
///   `pg_current_snapshot()` (one past the newest transaction that ended) and the value of every
///   sequence of the database. Every change to a table, unlogged or not, every DDL and every role
///   or database setting change runs in a transaction that is assigned an id, and its end (commit
///   or abort) moves `xmax` past it; so an unmoved `xmax` on the same, not restarted, server means
///   no transaction ended anywhere in the cluster. Sequences advance outside transactions, hence
///   their values. Maintenance that assigns no transaction id (VACUUM, checkpoints, hint bits)
///   changes nothing a dump holds and does not count. No marker (so always a dump) on a standby, or
///   while a transaction older than `xmax` is still in progress (the snapshot's list is not
///   empty, prepared transactions included): it could end without moving `xmax`.
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
        guard let connection = try? PostgresConnection(try PostgresParameters(url: url)) else { return nil }
        let snapshot = connection.serverVersion >= 130000 ? "pg_current_snapshot()" : "txid_current_snapshot()"
        guard let rows = try? connection.query("""
                  SELECT pg_is_in_recovery(), (SELECT system_identifier FROM pg_control_system()),
                         pg_postmaster_start_time(), \(snapshot)::text,
                         (SELECT coalesce(string_agg(format('%I.%I=%s', schemaname, sequencename, last_value), ','
                                                     ORDER BY schemaname, sequencename), '') FROM pg_sequences)
                  """),
              let row = rows.first, row.count == 5, row[0] == "f",
              let system = row[1], let started = row[2], let current = row[3], let sequences = row[4] else { return nil }
        // xmin:xmax:in-progress ids; with nothing in progress, xmin == xmax is the next id.
        let parts = current.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == parts[1], parts[2].isEmpty else { return nil }
        return "postgresql:\(system):\(started):\(parts[1]):\(SHA256Hasher.hash(Array(sequences.utf8)).hex.prefix(16))"
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
