import Foundation

/// Read-ahead for object storage, where every ranged read is a request: when reads of an object
/// go forward one after the other (a restore or an export walking files that a backup wrote one
/// after the other into the same pack), the next read fetches `window` bytes at once and the
/// following ones are served from memory. A first read, or a read that jumps, fetches exactly what
/// it asks for: one receipt restored from a cold cache still reads only its own bytes. At most
/// `maxWindows` windows are kept (bounded memory); everything else goes straight to `base`.
final class ReadAheadStore: ObjectStore, @unchecked Sendable {
    let base: ObjectStore
    let window: Int
    let maxWindows: Int
    private let lock = NSLock()
    /// Kept windows, oldest first.
    private var windows: [(name: String, offset: Int64, bytes: [UInt8])] = []
    /// Where the last read of each recently read object ended, and the objects' sizes.
    private var lastEnd: [String: Int64] = [:]
    private var sizes: [String: Int64] = [:]

    init(_ base: ObjectStore, window: Int = 4 << 20, maxWindows: Int = 8) {
        self.base = base
        self.window = window
        self.maxWindows = maxWindows
    }

    var location: String { base.location }
    var parallelWrites: Int { base.parallelWrites }

    func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        guard buffer.count > 0 else { return }
        let end = offset + Int64(buffer.count)
        enum Plan { case served, direct, readAhead }
        let plan: Plan = lock.withLock {
            let previousEnd = lastEnd[name]
            remember(name, end: end)
            if let kept = windows.last(where: { $0.name == name && $0.offset <= offset && end <= $0.offset + Int64($0.bytes.count) }) {
                kept.bytes.withUnsafeBytes {
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset - kept.offset)..<Int(end - kept.offset)]))
                }
                return .served
            }
            return previousEnd == offset && buffer.count < window / 2 ? .readAhead : .direct
        }
        switch plan {
        case .served:
            return
        case .direct:
            try base.read(name, at: offset, into: buffer)
        case .readAhead:
            guard let size = try objectSize(name), size - offset > Int64(buffer.count) else {
                return try base.read(name, at: offset, into: buffer)
            }
            var bytes = [UInt8](repeating: 0, count: Int(min(Int64(window), size - offset)))
            try bytes.withUnsafeMutableBytes { try base.read(name, at: offset, into: $0) }
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<buffer.count])) }
            lock.withLock {
                windows.append((name, offset, bytes))
                if windows.count > maxWindows { windows.removeFirst() }
            }
        }
    }

    private func remember(_ name: String, end: Int64) {
        if lastEnd.count > 256 { lastEnd.removeAll(keepingCapacity: true) }
        lastEnd[name] = end
    }

    private func objectSize(_ name: String) throws -> Int64? {
        if let known = lock.withLock({ sizes[name] }) { return known }
        let size = try base.size(of: name)
        lock.withLock {
            if sizes.count > 1024 { sizes.removeAll(keepingCapacity: true) }
            sizes[name] = size
        }
        return size
    }

    // Everything else goes straight through; writes and deletes drop what is kept of the object.

    func list(_ folder: String) throws -> [String] { try base.list(folder) }
    func size(of name: String) throws -> Int64? { try base.size(of: name) }
    func read(_ name: String, limit: Int) throws -> [UInt8] { try base.read(name, limit: limit) }

    func write(_ bytes: [UInt8], as name: String) throws {
        forget([name])
        try base.write(bytes, as: name)
    }

    var publishesTheFileItself: Bool { base.publishesTheFileItself }

    func publish(file: String, as name: String) throws {
        forget([name])
        try base.publish(file: file, as: name)
    }

    func delete(_ names: [String]) throws {
        forget(names)
        try base.delete(names)
    }

    private func forget(_ names: [String]) {
        let gone = Set(names)
        lock.withLock {
            windows.removeAll { gone.contains($0.name) }
            for name in gone { sizes[name] = nil; lastEnd[name] = nil }
        }
    }
}
