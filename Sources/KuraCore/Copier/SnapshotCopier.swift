import Foundation

/// What `kura copy` did.
public struct CopyReport: Sendable, Encodable {
    /// Snapshots copied, by their id in the source.
    public var copied: [String] = []
    /// Their ids in the destination: the same between plain repositories; new ones when either
    /// is encrypted (a sealed record's id is the hash of its ciphertext).
    public var destinationIDs: [String] = []
    /// Snapshots the destination already had.
    public var alreadyThere = 0
    /// Chunks sent (the destination lacked them), and their stored bytes.
    public var chunksSent = 0
    public var bytesSent: Int64 = 0
    /// Chunks the destination already held.
    public var chunksPresent = 0
    public var packsWritten = 0
    public var durationSeconds = 0.0

    enum CodingKeys: String, CodingKey {
        case copied, destinationIDs = "destination_ids", alreadyThere = "already_there", chunksSent = "chunks_sent", bytesSent = "bytes_sent"
        case chunksPresent = "chunks_present", packsWritten = "packs_written", durationSeconds = "duration_seconds"
    }
}

/// Copies snapshots from one repository to another (`kura copy`, `kura backup --copy-to`):
/// only the chunks the destination lacks are sent, stored bytes as they are (no recompression;
/// opened with the source's key and sealed with the destination's when either is encrypted),
/// each verified against its id on the way. Between plain repositories snapshot ids stay the
/// same (the record's bytes are copied unchanged); when either is encrypted the record is
/// sealed anew under the destination's key and gets a new id, and a snapshot counts as already
/// there when the destination holds one of the same time and snapshot database.
///
/// The write order is the backup's (docs/DESIGN.md): packs, then index files (one per 64
/// packs as they become durable, so that a killed copy keeps what it sent), then the snapshot
/// records last. A second run after a kill sends only what is still missing.
public final class SnapshotCopier {
    public let source: Repository
    public let destination: Repository
    static let packsPerIndexFile = 64

    public init(from source: Repository, to destination: Repository) {
        self.source = source
        self.destination = destination
    }

    /// What tells a snapshot in two repositories whose ids differ (sealed under different keys):
    /// its time and its database's chunks (the database holds every entry and the metadata).
    private static func identity(_ record: SnapshotRecord) -> String {
        record.time + " " + record.tree.chunks.joined(separator: ",")
    }

    /// Whether blobs and records must be opened and sealed again on the way (either side is
    /// encrypted: no two repositories share a key).
    private var resealing: Bool { source.isEncrypted || destination.isEncrypted }

    /// Copies the snapshots named by `references` (ids, prefixes, `latest`, export names), or
    /// every snapshot the destination lacks when there are none.
    public func copy(_ references: [String] = [], progress: ProgressCounter? = nil,
                     cancellation: CancellationFlag? = nil) throws -> CopyReport {
        let started = Date()
        var report = CopyReport()
        let all = try source.snapshots()
        let wanted = references.isEmpty ? all : try references.map { try SnapshotReference($0).resolve(in: all) }
        let present = Set(try destination.store.list("snapshots"))
        let presentRecords = resealing ? Set(try destination.snapshots().map { Self.identity($0.record) }) : []
        var todo: [Snapshot] = []
        for snapshot in wanted where !todo.contains(where: { $0.id == snapshot.id }) {
            if present.contains(snapshot.id.hex) || presentRecords.contains(Self.identity(snapshot.record)) {
                report.alreadyThere += 1
            } else {
                todo.append(snapshot)
            }
        }
        guard !todo.isEmpty else {
            report.durationSeconds = Date().timeIntervalSince(started)
            return report
        }

        // Every chunk the snapshots reference, with the source pack that holds its copy.
        let usage = try ChunkUsage(index: try source.index())
        for snapshot in todo {
            try cancellation?.check()
            try source.withSnapshotDatabase(snapshot) { path in
                _ = try SnapshotReader(path: path)
                try usage.add(snapshot, databasePath: path)
            }
        }
        try usage.finish()
        let missing = try usage.missing(limit: 5)
        if !missing.isEmpty { throw KuraError.integrity(.chunksNotIndexed(chunks: missing.map(\.short))) }

        try sendChunks(usage, report: &report, progress: progress, cancellation: cancellation)
        for snapshot in todo {
            if resealing {
                report.destinationIDs.append(try destination.writeSnapshot(snapshot.record).id.hex)
            } else {
                let name = RepositoryLayout.snapshotName(snapshot.id)
                try destination.store.write(try source.store.read(name, limit: SnapshotRecord.maxFileSize), as: name)
                report.destinationIDs.append(snapshot.id.hex)
            }
            report.copied.append(snapshot.id.hex)
        }
        report.durationSeconds = Date().timeIntervalSince(started)
        return report
    }

    /// Sends the referenced chunks the destination lacks, pack by source pack; index files as
    /// packs become durable.
    private func sendChunks(_ usage: ChunkUsage, report: inout CopyReport, progress: ProgressCounter?,
                            cancellation: CancellationFlag?) throws {
        let destinationIndex = try destination.index()
        let writer = destination.makeChunkStore()
        let verifier = PackVerifier(repository: source)
        var sealed = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 64)
        defer { sealed.deallocate() }
        var durable: [FinishedPack] = []
        var sent = Set<ChunkID>()
        func writeIndexFiles(force: Bool) throws {
            durable += try writer.takeFinished()
            while durable.count >= Self.packsPerIndexFile || (force && !durable.isEmpty) {
                let group = Array(durable.prefix(Self.packsPerIndexFile))
                durable.removeFirst(group.count)
                try destination.writeIndexFile(IndexFile(packs: group.map { IndexFile.PackIndex(pack: $0.id, entries: $0.entries) }))
                report.packsWritten += group.count
                for pack in group { for entry in pack.entries { sent.remove(entry.chunk) } }
            }
        }
        do {
            for pack in try usage.packUsage() where pack.usedEntries > 0 {
                try cancellation?.check()
                let live = try usage.liveEntries(inPack: pack.pack)
                let there = try destinationIndex.contained(live.map(\.chunk))
                let needed = live.filter { !there.contains($0.chunk) && !sent.contains($0.chunk) }
                report.chunksPresent += live.count - needed.count
                guard !needed.isEmpty else { continue }
                let bytes = try verifier.load(pack.pack)
                for entry in needed {
                    guard verifier.isIntact(entry, in: bytes) else {
                        throw KuraError.integrity(.chunkDamaged(chunk: entry.chunk.short, pack: pack.pack.short))
                    }
                    let start = Int(entry.offset)
                    var stored = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Int(entry.storedLength))])
                    if resealing {
                        // Verified above, so it opens.
                        guard let compressed = verifier.unseal(entry, in: bytes) else { throw KuraError.integrity(.chunkDamaged(chunk: entry.chunk.short, pack: pack.pack.short)) }
                        stored = compressed
                        if let cipher = destination.cipher {
                            sealed.reserve(atLeast: compressed.count + RepositoryCipher.overhead)
                            let output = UnsafeMutableRawBufferPointer(rebasing: sealed[0..<(compressed.count + RepositoryCipher.overhead)])
                            cipher.seal(compressed, into: output)
                            stored = UnsafeRawBufferPointer(output)
                        }
                    }
                    try writer.add(chunk: entry.chunk, stored: stored, codec: entry.codec, plainLength: Int(entry.plainLength))
                    sent.insert(entry.chunk)
                    report.chunksSent += 1
                    report.bytesSent += Int64(entry.storedLength)
                }
                progress?.add(files: 1, bytes: Int64(needed.reduce(0) { $0 + Int($1.storedLength) }), current: pack.pack.short)
                try writeIndexFiles(force: false)
            }
            durable += try writer.finish()
            try writeIndexFiles(force: true)
        } catch {
            writer.abandon()
            throw error
        }
    }
}
