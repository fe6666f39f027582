import Foundation

/// What to restore and where.
public struct RestoreOptions: Sendable {
    public var target: String
    /// Patterns selecting what to restore; empty: everything.
    public var include: [PathPattern]
    /// Replace existing files without asking.
    public var force: Bool
    /// Restore only this folder of the snapshot tree (e.g. `media`), its contents directly into
    /// `target` (`--media-to`: the live `MEDIA_ROOT`).
    public var subtree: String?

    public init(target: String, include: [PathPattern] = [], force: Bool = false, subtree: String? = nil) {
        self.target = target
        self.include = include
        self.force = force
        self.subtree = subtree
    }

    /// The entry as it is written below the target, or nil when it is not selected.
    func place(_ entry: Entry) -> Entry? {
        guard PathPattern.selects(include, entry.path) else { return nil }
        guard let subtree else { return entry }
        guard entry.path.hasPrefix(subtree + "/") else { return nil }
        var placed = entry
        placed.path = String(entry.path.dropFirst(subtree.count + 1))
        return placed
    }
}

/// The outcome of a restore.
public struct RestoreResult: Sendable {
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var bytes: Int64 = 0
    /// Files that could not be restored (damaged or missing data), with the reason. Not empty
    /// means exit code 12.
    public var failed: [UnreadablePath] = []
    public var durationSeconds = 0.0
}

/// Restores a snapshot's tree (or the part selected by patterns) into a target directory.
///
/// Every chunk is checked against its SHA-256 as it is read; each file is written to a temp name
/// in its directory and renamed into place once complete with its mode, owner (as root) and
/// mtime; nothing is written outside the target; existing files are replaced only with `force`.
/// Entries are processed in pages, files of a page on all cores, so memory does not grow with
/// the snapshot. A file whose data is damaged is reported and skipped; the others are restored.
public final class Restorer {
    private let repository: Repository
    /// Where chunks are read from: the repository's store (tests pass one that counts reads).
    private let store: ObjectStore
    private static let pageSize = 1024

    public convenience init(repository: Repository) { self.init(repository: repository, store: repository.store) }

    init(repository: Repository, store: ObjectStore) {
        self.repository = repository
        self.store = store
    }

    /// The existing paths in the target that a restore would replace. A missing or empty target
    /// has none, known without walking the snapshot (a full restore into a new folder walks it
    /// once, not twice).
    public func conflicts(_ snapshot: Snapshot, _ options: RestoreOptions, limit: Int = 1000) throws -> [String] {
        guard FileSystem.isDirectory(options.target), !FileSystem.isEmptyDirectory(options.target) else { return [] }
        let target = try TargetDirectory(path: options.target)
        let reader = try repository.openSnapshot(snapshot)
        var found: [String] = []
        try reader.forEachEntry(under: options.subtree, globbing: PathPattern.supersetGlobs(options.include)) { entry in
            if found.count < limit, let placed = options.place(entry), target.wouldReplace(placed.path, with: placed.kind) {
                found.append(placed.path)
            }
        }
        return found
    }

    public func restore(_ snapshot: Snapshot, _ options: RestoreOptions, progress: ProgressCounter? = nil,
                        cancellation: CancellationFlag = CancellationFlag()) throws -> RestoreResult {
        let started = Date()
        if !options.force {
            let existing = try conflicts(snapshot, options)
            if !existing.isEmpty {
                throw KuraError.wouldOverwrite(count: existing.count, examples: existing, target: options.target)
            }
        }
        let reader = try repository.openSnapshot(snapshot)
        let writer = RestoreWriter(target: try TargetDirectory(path: options.target))
        var result = RestoreResult()
        var page: [Entry] = []
        var matched = false

        func flush() throws {
            try cancellation.check()
            try restorePage(page, with: writer, result: &result, progress: progress)
            page.removeAll(keepingCapacity: true)
        }
        try reader.forEachEntry(under: options.subtree, globbing: PathPattern.supersetGlobs(options.include)) { original in
            guard let entry = options.place(original) else { return }
            matched = true
            switch entry.kind {
            case .directory:
                if try writer.skippingUnsafe(entry, into: &result.failed, { try writer.makeDirectory(entry) }) {
                    result.directories += 1
                }
            case .file, .symlink:
                page.append(entry)
                if page.count >= Self.pageSize { try flush() }
            }
        }
        try flush()
        if !matched && !options.include.isEmpty {
            throw KuraError.pathNotInSnapshot(path: options.include.map(\.text).joined(separator: ", "), snapshot: snapshot.id.short)
        }
        writer.finish()
        result.durationSeconds = Date().timeIntervalSince(started)
        return result
    }

    private func restorePage(_ entries: [Entry], with writer: RestoreWriter, result: inout RestoreResult,
                             progress: ProgressCounter?) throws {
        guard !entries.isEmpty else { return }
        let locations = try repository.index().locations(entries.flatMap(\.chunks))
        let chunkReader = ChunkReader(store: store, cipher: repository.cipher)
        let lock = NSLock()
        var failed: [UnreadablePath] = []
        var files = 0, symlinks = 0
        var bytes: Int64 = 0
        let batches = ReadBatch.plan(entries, locations: locations)
        var next = 0
        // Batches (runs of small files read at once, or one file) are taken one by one from a
        // shared counter: while one worker restores a big file (a database dump), the others go on
        // through the rest of the page. Two workers keep both cores busy; object storage gets two
        // per connection (much of a batch's time there is the wait for its request).
        let workers = repository.location.isLocal ? 2 : 2 * store.parallelWrites
        Workers.run(workers) { _ in
            let content = FileContentReader(reader: chunkReader, locations: locations)
            while true {
                lock.lock()
                let taken = next
                next += 1
                lock.unlock()
                guard taken < batches.count else { break }
                let batch = batches[taken]
                // A failed prefetch is not an error of its own: each file then reads its chunks
                // itself and reports what it finds.
                if !batch.span.isEmpty { try? content.prefetch(batch.span[...]) }
                for entry in entries[batch.entries] {
                    do {
                        try writer.write(entry) { sink in try content.forEachChunk(of: entry, sink) }
                        lock.lock()
                        if entry.kind == .file { files += 1; bytes += entry.size } else { symlinks += 1 }
                        lock.unlock()
                        progress?.add(files: 1, bytes: entry.size, current: entry.path)
                    } catch {
                        lock.lock()
                        failed.append(UnreadablePath(path: entry.path, reason: "\(error)"))
                        lock.unlock()
                    }
                }
            }
        }
        result.files += files
        result.symlinks += symlinks
        result.bytes += bytes
        result.failed += failed.sorted { $0.path < $1.path }
    }
}

extension Restorer {
    /// Writes one file's verified content to a file descriptor (`kura cat`). Reads only that
    /// file's chunks.
    public func writeFile(_ snapshot: Snapshot, path: String, to fd: Int32) throws {
        let reader = try repository.openSnapshot(snapshot)
        guard let entry = try reader.entry(path) else { throw KuraError.pathNotInSnapshot(path: path, snapshot: snapshot.id.short) }
        guard entry.kind == .file else { throw KuraError.notAFile(path: path, kind: entry.kind) }
        let content = FileContentReader(reader: ChunkReader(store: store, cipher: repository.cipher), locations: try repository.index().locations(entry.chunks))
        try content.forEachChunk(of: entry) { bytes in try FileSystem.writeFully(fd, bytes, path: "standard output") }
    }
}
