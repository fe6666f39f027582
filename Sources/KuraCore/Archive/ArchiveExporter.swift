import Foundation

/// Where an export goes.
public enum ExportDestination: Sendable {
    /// `<directory>/backup_complet_<db>_<ts>.tar.gz` and `.json` beside it.
    case directory(String)
    /// The tar.gz bytes to a file descriptor (stdout); the JSON is returned only.
    case stream(Int32)
}

/// The outcome of an export.
public struct ExportResult: Sendable {
    public var manifest: ArchiveManifest
    /// The archive and JSON paths (directory exports only).
    public var archivePath: String?
    public var manifestPath: String?
    public var durationSeconds: Double
}

/// Writes a snapshot as the documented archive: a gzip-compressed POSIX tar holding
/// `database_<db>.sql` (or `.sqlite3`) and `media/…`, streamed straight from the store (every
/// chunk verified), and the JSON beside it.
///
/// Deterministic: members in snapshot path order, owner 0/0 without names, modes and mtimes from
/// the snapshot, a gzip header without time or name; two exports of a snapshot are identical.
/// Fast: compressible data is deflated on all cores, each chunk at the effort its zstd result
/// calls for (`DeflateEffort`); chunks stored raw in the repository (they did not compress)
/// become deflate stored blocks. Crash-safe: the archive is written under a
/// temp name and renamed when complete, then the JSON; a JSON on disk means a complete archive.
public final class ArchiveExporter {
    private let repository: Repository
    /// How hard to deflate: by default each chunk by its zstd result; `.fixed(6)` gives gzip's
    /// size everywhere at about half the speed (docs/BENCHMARKS.md, "Export size").
    public var effort = DeflateEffort.automatic
    /// Encrypt the archive to these age recipients (`.tar.gz.age`); none: a plain `.tar.gz`.
    public var recipients: [AgeRecipient] = []
    /// scrypt work factor for a passphrase recipient (age's 2^18; tests use less).
    public var scryptLogN = AgeFormat.scryptLogN

    public init(repository: Repository) { self.repository = repository }

    public func export(_ snapshot: Snapshot, to destination: ExportDestination, progress: ProgressCounter? = nil,
                       cancellation: CancellationFlag = CancellationFlag()) throws -> ExportResult {
        let started = Date()
        let name = snapshot.record.exportName
        let suffix = recipients.isEmpty ? ".tar.gz" : ".tar.gz.age"
        var archivePath: String?
        var temporary: String?
        let fd: Int32
        switch destination {
        case .directory(let directory):
            try FileSystem.makeDirectories(directory)
            let finalPath = directory + "/" + name + suffix
            if FileSystem.exists(finalPath) {
                throw KuraError.alreadyExists(path: finalPath)
            }
            let temporaryPath = directory + "/." + name + suffix + ".kura-" + FileSystem.randomName().prefix(8)
            // Owner-only: the archive holds the whole database and every receipt.
            fd = try FileSystem.createFile(temporaryPath)
            (archivePath, temporary) = (finalPath, temporaryPath)
        case .stream(let output):
            fd = output
        }
        let hasher = SHA256Hasher()
        var written: Int64 = 0
        let outputName = temporary ?? "standard output"
        // A file's writeback starts as it grows, so its fsync at the end waits for little.
        var writeback = temporary.map { _ in Writeback(fd: fd) }
        let files: Int
        do {
            let emit: (UnsafeRawBufferPointer) throws -> Void = { bytes in
                hasher.update(bytes)
                written += Int64(bytes.count)
                try FileSystem.writeFully(fd, bytes, path: outputName)
                writeback?.wrote(bytes.count)
            }
            // Encrypted: the gzip stream goes through age on its way out; the hash is the file's.
            let encryptor = recipients.isEmpty ? nil : try AgeEncryptor(recipients: recipients, scryptLogN: scryptLogN, output: emit)
            let gzip = try GzipWriter(level: Int(effort.defaultLevel)) { bytes in
                if let encryptor { try encryptor.write(bytes) } else { try emit(bytes) }
            }
            do {
                files = try writeTar(snapshot, into: gzip, progress: progress, cancellation: cancellation)
                try gzip.finish()
            } catch {
                gzip.abandon()  // its output stage may still be writing to `fd`
                throw error
            }
            try encryptor?.finish()
            if let temporary, let archivePath {
                writeback?.finish()
                if fsync(fd) != 0 { throw KuraError.posix("cannot sync", temporary) }
                close(fd)
                try FileSystem.publish(temporary, as: archivePath)
            }
        } catch {
            if let temporary {
                close(fd)
                unlink(temporary)
            }
            throw error
        }
        let manifest = ArchiveManifest(
            backupFile: name + suffix, timestamp: snapshot.record.compactLocalTime, datetime: Self.isoLocal(snapshot.record.time),
            database: snapshot.record.database ?? "files", sizeBytes: written, hash: hasher.finalize().hex,
            includes: (snapshot.record.database != nil ? ["database"] : []) + (try hasMedia(snapshot) ? ["media", "documents"] : []),
            snapshot: snapshot.id.hex, files: files, databaseEngine: snapshot.record.databaseEngine?.rawValue,
            pgDumpVersion: try dumpTool(snapshot),
            tables: snapshot.record.databaseFile != nil ? try repository.openSnapshot(snapshot).databaseTables() : nil,
            encryption: recipients.isEmpty ? nil : "age")
        var manifestPath: String?
        if case .directory(let directory) = destination {
            let path = directory + "/" + name + ".json"
            try FileSystem.writeAtomically(Array(manifest.encoded().utf8), to: path, temporaryDirectory: directory)
            manifestPath = path
        }
        return ExportResult(manifest: manifest, archivePath: archivePath, manifestPath: manifestPath,
                            durationSeconds: Date().timeIntervalSince(started))
    }

    /// The tar stream: every entry in path order, file contents chunk by chunk; returns the
    /// number of files.
    private func writeTar(_ snapshot: Snapshot, into gzip: GzipWriter, progress: ProgressCounter?,
                          cancellation: CancellationFlag) throws -> Int {
        let reader = try repository.openSnapshot(snapshot)
        let chunkReader = ChunkReader(store: repository.storeForSequentialReads(), cipher: repository.cipher)
        let index = try repository.index()
        let rawMeansIncompressible = repository.compression.codec != .raw
        var files = 0
        var tarBytes: Int64 = 0
        var previous = DeflateSetting.level(effort.defaultLevel)
        func emit(_ bytes: [UInt8]) throws {
            tarBytes += Int64(bytes.count)
            try gzip.write(bytes)
        }
        try reader.forEachEntry { entry in
            try cancellation.check()
            let mtime = entry.mtimeNanoseconds / 1_000_000_000
            switch entry.kind {
            case .directory:
                try emit(TarHeader.encode(path: entry.path, kind: .directory, mode: entry.mode, size: 0, mtime: mtime))
            case .symlink:
                try emit(TarHeader.encode(path: entry.path, kind: .symlink, mode: 0o777, size: 0, mtime: mtime, linkTarget: entry.linkTarget))
            case .file:
                try emit(TarHeader.encode(path: entry.path, kind: .file, mode: entry.mode, size: entry.size, mtime: mtime))
                let locations = try index.locations(entry.chunks)
                let content = FileContentReader(reader: chunkReader, locations: locations)
                var position = 0
                var isDump = false
                try content.forEachChunk(of: entry) { bytes in
                    let stored = locations[entry.chunks[position]]?.entry
                    if position == 0 { isDump = DatabaseDump.isCustomFormat(bytes) }
                    position += 1
                    previous = effort.setting(codec: stored?.codec, storedLength: stored?.storedLength ?? 0, plainLength: stored?.plainLength ?? 0,
                                              rawMeansIncompressible: rawMeansIncompressible, inDump: isDump, previous: previous)
                    try gzip.write(bytes, as: previous)
                }
                tarBytes += entry.size
                try emit([UInt8](repeating: 0, count: TarHeader.padding(entry.size)))
                files += 1
                progress?.add(files: 1, bytes: entry.size, current: entry.path)
            }
        }
        // End of archive: two zero blocks, padded to a whole record as GNU tar does.
        let end = 2 * TarHeader.blockSize
        let total = tarBytes + Int64(end)
        let record = Int64(TarHeader.recordSize)
        try gzip.write([UInt8](repeating: 0, count: end + Int((record - total % record) % record)))
        return files
    }

    private func hasMedia(_ snapshot: Snapshot) throws -> Bool {
        try repository.openSnapshot(snapshot).entry("media") != nil
    }

    private func dumpTool(_ snapshot: Snapshot) throws -> String? {
        guard snapshot.record.databaseEngine == .postgresql else { return nil }
        return try repository.openSnapshot(snapshot).metadata()["database_dump_tool"].map { $0.replacingOccurrences(of: "pg_dump ", with: "") }
    }

    /// `2026-11-24T23:05:01.123456`: local time with microseconds, as Python's isoformat().
    static func isoLocal(_ time: String) -> String {
        let utf8 = Array(time.utf8)
        guard utf8.count >= 26 else { return String(time.prefix(19)) }
        return String(decoding: utf8[0..<26], as: UTF8.self)
    }
}
