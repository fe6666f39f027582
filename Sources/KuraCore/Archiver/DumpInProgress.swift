import Foundation

/// A database dump made on a thread of its own while the backup reads the media folder: pg_dump
/// and the PostgreSQL server work on one core while chunking, hashing and compressing the media
/// use the other. The dump's file is read once the media are done (`DumpInProgress.Source`).
final class DumpInProgress {
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<DatabaseDump, Error>?

    /// Starts dumping `url` into `temporaryDirectory`.
    init(_ url: DatabaseURL, temporaryDirectory: String) {
        let thread = Thread { [self] in
            let outcome = Result { try DatabaseDump.make(url, temporaryDirectory: temporaryDirectory) }
            lock.lock()
            result = outcome
            lock.unlock()
            finished.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Waits for the dump; throws its error.
    func wait() throws -> DatabaseDump {
        finished.wait()
        finished.signal()
        lock.lock()
        defer { lock.unlock() }
        guard let result else { throw KuraError.database(.dumpUnfinished) }
        return try result.get()
    }

    /// The dump's error if it has already failed (does not wait): the backup stops at once
    /// rather than after reading the media.
    var failure: Error? {
        lock.lock()
        defer { lock.unlock() }
        if case .failure(let error) = result { return error }
        return nil
    }

    /// Waits for the dump and deletes its temp file (after the backup, or when it failed).
    func removeFile() {
        if let dump = try? wait() { unlink(dump.file) }
    }

    /// The dump as a backup source: its walk waits for the dump, then gives its file.
    struct Source: BackupSource {
        let dump: DumpInProgress
        var holdsDumps: Bool { true }

        func walk(_ visit: (SourceItem) throws -> Void) throws {
            let made = try dump.wait()
            try SingleFileSource(path: made.file, snapshotPath: made.snapshotPath).walk(visit)
        }
    }
}
