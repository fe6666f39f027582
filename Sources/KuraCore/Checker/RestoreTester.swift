import Foundation
import GRDB

/// What `kura verify --restore-test` does besides restoring the database.
public struct RestoreTestOptions: Sendable {
    /// Where a PostgreSQL dump is restored; nil: a new database `kura_restoretest_<short id>` on the
    /// server the snapshot came from. Created if missing, refused if it holds data, always dropped.
    public var scratchDatabase: DatabaseURL?
    /// The site owner's assertions, one SQL query per line that must return a single true value
    /// (blank lines and lines starting with `--` are skipped; findings name the line number).
    public var checkSQL: [String]
    /// Share (0…1) of media files restored and checked; chosen by the hash of their path.
    public var mediaSample: Double
    /// The live media folder: sampled files whose live content differs while size and mtime do
    /// not are reported (bit rot or tampering).
    public var liveMedia: String?

    public init(scratchDatabase: DatabaseURL? = nil, checkSQL: [String] = [], mediaSample: Double = 0.05, liveMedia: String? = nil) {
        (self.scratchDatabase, self.checkSQL, self.mediaSample, self.liveMedia) = (scratchDatabase, checkSQL, mediaSample, liveMedia)
    }
}

/// Proves that a snapshot or an archive restores: its dump into a scratch database (the same
/// spool and pg_restore path as a real restore), every table's row count against the one recorded
/// at backup, the owner's SQL assertions, and a sample of media files restored through the
/// restore writer and checked. The scratch database is dropped however the test ends; one left
/// by a killed run is dropped by the next.
public final class RestoreTester {
    /// Spools PostgreSQL dumps in its `tmp/`; nil: a private temp folder (an archive's test).
    private let repository: Repository?
    /// Scratch databases are named with this prefix; any found at the start of a run is a leftover.
    static let scratchPrefix = "kura_restoretest_"

    public init(repository: Repository?) { self.repository = repository }

    /// Runs every check on `snapshot` and returns the record (not yet stored: see
    /// `Repository.writeVerification`). Failures are checks with `ok == false`, not errors;
    /// an error means the test itself could not run (cancelled, repository unreadable).
    public func test(_ snapshot: Snapshot, _ options: RestoreTestOptions,
                     cancellation: CancellationFlag = CancellationFlag()) throws -> VerificationRecord {
        guard let repository else { throw KuraError.invalidArgument("a snapshot's restore test needs its repository") }
        return try test(SnapshotRestoreSource(repository: repository, snapshot: snapshot), recordedAs: snapshot.id.hex, options,
                        cancellation: cancellation)
    }

    /// Runs every check on `source`; the record names it `recordedAs` (a snapshot id, or an
    /// archive's path).
    public func test(_ source: RestoreSource, recordedAs name: String, _ options: RestoreTestOptions,
                     cancellation: CancellationFlag = CancellationFlag()) throws -> VerificationRecord {
        let started = Date()
        var checks: [RestoreTestCheck] = []
        _ = try source.check(force: false)
        if let (_, engine) = try source.databaseDump() {
            switch engine {
            case .postgresql: checks += try testPostgres(source, options, cancellation: cancellation)
            case .sqlite: checks += try testSQLite(source, options)
            }
        }
        try cancellation.check()
        checks += try testMedia(source, options, cancellation: cancellation)
        return VerificationRecord(snapshot: name, time: Timestamp.now(), host: LockInfo.currentHost,
                                  kuraVersion: KuraVersion.current, ok: checks.allSatisfy(\.ok), checks: checks,
                                  durationSeconds: Date().timeIntervalSince(started))
    }

    // MARK: PostgreSQL

    private func testPostgres(_ source: RestoreSource, _ options: RestoreTestOptions,
                              cancellation: CancellationFlag) throws -> [RestoreTestCheck] {
        var checks: [RestoreTestCheck] = []
        let scratch: DatabaseURL, maintenance: PostgresConnection
        do {
            scratch = try options.scratchDatabase ?? defaultScratch(for: source)
            maintenance = try PostgresConnection(try PostgresParameters(url: scratch).with(database: "postgres"))
        } catch {
            return [RestoreTestCheck(name: "database restore", ok: false, detail: "\(error)", seconds: 0)]
        }
        let started = Date()
        let name = try scratch.name
        // Each run holds a session advisory lock named after its scratch database for its whole
        // life; the kernel of a killed run's connection releases it. So a scratch database whose
        // lock can be taken belongs to no running test: it is a leftover, and is dropped.
        guard try Self.tryLock(name, on: maintenance) else {
            throw KuraError.locked(holder: "another restore test using scratch database \(name) on \(scratch)")
        }
        let candidates = try maintenance.query("SELECT datname FROM pg_database WHERE datname LIKE 'kura\\_restoretest\\_%' OR datname = \(maintenance.literal(name)) ORDER BY 1")
            .compactMap { $0.first ?? nil }
        var leftovers: [String] = []
        for candidate in candidates {
            if candidate == name {
                // Ours to drop only when it is our own leftover (default name) — a named one may hold data.
                if options.scratchDatabase == nil { try drop(candidate, on: maintenance); leftovers.append(candidate) }
            } else if try Self.tryLock(candidate, on: maintenance) {
                try drop(candidate, on: maintenance)
                leftovers.append(candidate)
                try maintenance.query("SELECT pg_advisory_unlock(hashtext(\(maintenance.literal(candidate))))")
            }
        }
        if !leftovers.isEmpty {
            checks.append(RestoreTestCheck(name: "scratch cleanup", ok: true,
                                           detail: "dropped \(leftovers.joined(separator: ", ")), left by an interrupted restore test"))
        }
        if options.scratchDatabase != nil, let objects = try PostgresRestorer.objectCount(scratch), objects > 0 {
            throw KuraError.scratchNotEmpty(database: "\(scratch)", objects: objects)
        }
        let dump: DumpSpool
        do {
            dump = try DumpSpool(from: source, for: scratch, repository: repository)
        } catch {
            return checks + [RestoreTestCheck(name: "database restore", ok: false, detail: RepositoryChecker.message(error),
                                              seconds: Date().timeIntervalSince(started))]
        }
        defer { dump.remove() }
        defer { try? drop(name, on: maintenance) }
        let restored: [TableStatistics]
        do {
            restored = try dump.restore(into: scratch, force: false)
            FaultInjection.step()  // a kill here leaves the scratch database for the next run to drop
        } catch {
            return checks + [RestoreTestCheck(name: "database restore", ok: false, detail: "\(error)",
                                              seconds: Date().timeIntervalSince(started))]
        }
        checks.append(RestoreTestCheck(name: "database restore", ok: true, detail: "pg_restore into \(scratch)",
                                       seconds: Date().timeIntervalSince(started),
                                       figures: ["dump_bytes": FileSystem.size(dump.file)]))
        try cancellation.check()
        checks.append(Self.rowCountCheck(recorded: dump.recordedTables, restored: restored))
        let connection = try PostgresConnection(try PostgresParameters(url: scratch))
        checks += Self.sqlChecks(options.checkSQL) { sql in
            try connection.query(sql).map { $0.map { $0 ?? "NULL" } }
        }
        return checks
    }

    /// `kura_restoretest_<8 hex>` on the server and with the user the snapshot was taken from.
    private func defaultScratch(for source: RestoreSource) throws -> DatabaseURL {
        guard let origin = source.originDatabase else { throw KuraError.unknownServer(source: source.label) }
        let suffix = (source as? SnapshotRestoreSource)?.snapshot.id.short ?? String(SHA256Hasher.hash(Array(source.label.utf8)).hex.prefix(8))
        return try DatabaseURL(origin).replacingDatabase(with: Self.scratchPrefix + suffix)
    }

    /// Takes the session advisory lock of a scratch database name without waiting.
    private static func tryLock(_ database: String, on maintenance: PostgresConnection) throws -> Bool {
        try maintenance.query("SELECT pg_try_advisory_lock(hashtext(\(maintenance.literal(database))))").first?.first == "t"
    }

    private func drop(_ database: String, on maintenance: PostgresConnection) throws {
        let force = maintenance.serverVersion >= 130_000 ? " WITH (FORCE)" : ""
        try maintenance.query("DROP DATABASE IF EXISTS \(maintenance.identifier(database))\(force)")
    }

    // MARK: SQLite

    private func testSQLite(_ source: RestoreSource, _ options: RestoreTestOptions) throws -> [RestoreTestCheck] {
        let folder = Self.scratchFolder()
        try FileSystem.makeDirectories(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let target = try DatabaseURL("sqlite://" + folder + "/restored.sqlite3")
        let started = Date()
        let restored: [TableStatistics], recorded: [TableStatistics]?
        do {
            let dump = try DumpSpool(from: source, for: target, repository: repository)
            defer { dump.remove() }
            recorded = dump.recordedTables
            restored = try dump.restore(into: target, force: true)
        } catch {
            return [RestoreTestCheck(name: "database restore", ok: false, detail: RepositoryChecker.message(error),
                                     seconds: Date().timeIntervalSince(started))]
        }
        var checks = [RestoreTestCheck(name: "database restore", ok: true, detail: "SQLite copy restored; integrity_check ok",
                                       seconds: Date().timeIntervalSince(started), figures: ["bytes": FileSystem.size(target.path ?? "")])]
        checks.append(Self.rowCountCheck(recorded: recorded, restored: restored))
        let database = try DatabaseQueue(path: target.path ?? "")
        let foreignKeys = (try? database.read { try Row.fetchAll($0, sql: "PRAGMA foreign_key_check") }) ?? []
        checks.append(RestoreTestCheck(name: "foreign_key_check", ok: foreignKeys.isEmpty,
                                       detail: foreignKeys.isEmpty ? "no violation" : "\(foreignKeys.count) violation(s), first in table \(foreignKeys[0][0] as String? ?? "?")"))
        checks += Self.sqlChecks(options.checkSQL) { sql in
            try database.read { db in
                try Row.fetchAll(db, sql: sql).map { row in row.databaseValues.map { $0.isNull ? "NULL" : $0.description } }
            }
        }
        return checks
    }

    // MARK: Shared checks

    /// The restored tables' row counts against the recorded ones; failed when the source recorded none.
    static func rowCountCheck(recorded: [TableStatistics]?, restored: [TableStatistics]) -> RestoreTestCheck {
        guard let recorded else {
            return RestoreTestCheck(name: "row counts", ok: false,
                                    detail: "the source records no row counts (an archive exported before Kura wrote them): export it again")
        }
        let mismatches = TableMismatch.between(recorded: recorded, restored: restored)
        let rows = recorded.reduce(Int64(0)) { $0 + $1.rows }
        let detail = mismatches.isEmpty
            ? "\(recorded.count) tables, \(rows) rows: as recorded at backup"
            : mismatches.map { "\($0.table): \($0.actual.map { "\($0) rows" } ?? "missing"), \($0.expected) at backup" }.joined(separator: "; ")
        return RestoreTestCheck(name: "row counts", ok: mismatches.isEmpty, detail: detail,
                                figures: ["tables": Int64(recorded.count), "rows": rows, "mismatches": Int64(mismatches.count)])
    }

    /// One check per assertion line: the query must return one row of one true value.
    static func sqlChecks(_ lines: [String], run: (String) throws -> [[String]]) -> [RestoreTestCheck] {
        lines.enumerated().compactMap { number, line in
            let sql = line.trimmingCharacters(in: .whitespaces)
            guard !sql.isEmpty, !sql.hasPrefix("--") else { return nil }
            let started = Date()
            let name = "check-sql line \(number + 1)"
            do {
                let rows = try run(sql)
                let value = rows.count == 1 && rows[0].count == 1 ? rows[0][0] : nil
                let ok = ["t", "true", "1"].contains(value?.lowercased() ?? "")
                let shown = value ?? "\(rows.count) row(s)"
                return RestoreTestCheck(name: name, ok: ok, detail: "\(sql) → \(shown)", seconds: Date().timeIntervalSince(started))
            } catch {
                return RestoreTestCheck(name: name, ok: false, detail: "\(sql) → error: \(error)", seconds: Date().timeIntervalSince(started))
            }
        }
    }

    // MARK: Media

    /// True when `path` is in a sample of `share` of the files: decided by the path's SHA-256, so
    /// the same files are chosen every time and a larger share contains a smaller one.
    static func inSample(_ path: String, share: Double) -> Bool {
        guard share < 1 else { return true }
        return SHA256Hasher.hash(Array(path.utf8)).unitInterval < share
    }

    /// A new folder of the system's temp folder for one test's files.
    private static func scratchFolder() -> String {
        (NSTemporaryDirectory() as NSString).appendingPathComponent("kura-restoretest-" + FileSystem.randomName())
    }

    /// Restores the sampled media files one by one through the `RestoreWriter` into a temp
    /// folder, and compares each written file's SHA-256 with that of the verified stream (and,
    /// with `liveMedia`, with the live file whose size and mtime are unchanged).
    private func testMedia(_ source: RestoreSource, _ options: RestoreTestOptions,
                           cancellation: CancellationFlag) throws -> [RestoreTestCheck] {
        guard options.mediaSample > 0 else { return [] }
        let started = Date()
        let folder = Self.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let writer = RestoreWriter(target: try TargetDirectory(path: folder))
        var (files, sampled, bytes, liveCompared) = (0, 0, Int64(0), 0)
        var damaged: [String] = [], rotten: [String] = []
        try source.forEachFile(under: "media") { entry, content in
            files += 1
            guard Self.inSample(entry.path, share: options.mediaSample) else { return }
            try cancellation.check()
            sampled += 1
            bytes += entry.size
            let hasher = SHA256Hasher()
            var copy = entry
            copy.path = "sample"
            let restored: ChunkID
            do {
                try writer.write(copy) { sink in
                    try withoutActuallyEscaping(sink) { sink in try content { hasher.update($0); try sink($0) } }
                }
                restored = try SHA256Hasher.hash(file: folder + "/sample")
                if restored != hasher.finalize() {
                    damaged.append("\(entry.path): the restored copy does not match the snapshot")
                }
            } catch {
                damaged.append("\(entry.path): \(RepositoryChecker.message(error))")
                return
            }
            if let live = options.liveMedia {
                let path = live + "/" + entry.path.dropFirst("media/".count)
                var info = stat()
                guard stat(path, &info) == 0, Int64(info.st_size) == entry.size,
                      Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec) == entry.mtimeNanoseconds else { return }
                liveCompared += 1
                if (try? SHA256Hasher.hash(file: path)) != restored { rotten.append(entry.path) }
            }
        }
        let percent = String(format: "%g%%", options.mediaSample * 100)
        var checks = [RestoreTestCheck(
            name: "media sample", ok: damaged.isEmpty,
            detail: damaged.isEmpty ? "\(sampled) of \(files) files (\(percent)) restored; size and SHA-256 match the snapshot"
                                    : damaged.prefix(10).joined(separator: "; "),
            seconds: Date().timeIntervalSince(started),
            figures: ["files": Int64(files), "sampled": Int64(sampled), "bytes": bytes, "damaged": Int64(damaged.count)])]
        if let live = options.liveMedia {
            checks.append(RestoreTestCheck(
                name: "live media", ok: rotten.isEmpty,
                detail: rotten.isEmpty ? "\(liveCompared) sampled files in \(live) with unchanged size and mtime match the snapshot"
                    : "differ from the snapshot while size and mtime are unchanged (bit rot or tampering): " + rotten.prefix(10).joined(separator: ", "),
                figures: ["compared": Int64(liveCompared), "differing": Int64(rotten.count)]))
        }
        return checks
    }
}
