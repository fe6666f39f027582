import Foundation

/// Counters long work (a backup, a restore) updates as it goes; the CLI reads them to draw its
/// progress line.
public final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var files = 0
    private var bytes: Int64 = 0
    private var current = ""

    public init() {}

    func add(files: Int, bytes: Int64, current: String? = nil) {
        lock.lock()
        self.files += files
        self.bytes += bytes
        if let current { self.current = current }
        lock.unlock()
    }

    /// Files and bytes processed so far, and the path last worked on.
    public var snapshot: (files: Int, bytes: Int64, current: String) {
        lock.lock()
        defer { lock.unlock() }
        return (files, bytes, current)
    }
}
