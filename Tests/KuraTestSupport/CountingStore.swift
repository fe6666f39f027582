import Foundation
import KuraCore

/// An object store that passes everything to another and counts the ranged reads that reach it
/// (what a request-shaped optimisation must reduce).
public final class CountingStore: ObjectStore, @unchecked Sendable {
    public let base: ObjectStore
    private let lock = NSLock()
    private var reads = 0

    public init(_ base: ObjectStore) { self.base = base }

    /// Ranged reads so far.
    public var rangedReads: Int { lock.withLock { reads } }
    public var location: String { base.location }
    public var parallelWrites: Int { base.parallelWrites }
    public var publishesTheFileItself: Bool { base.publishesTheFileItself }
    public func list(_ folder: String) throws -> [String] { try base.list(folder) }
    public func size(of name: String) throws -> Int64? { try base.size(of: name) }
    public func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        lock.withLock { reads += 1 }
        try base.read(name, at: offset, into: buffer)
    }
    public func read(_ name: String, limit: Int) throws -> [UInt8] { try base.read(name, limit: limit) }
    public func write(_ bytes: [UInt8], as name: String) throws { try base.write(bytes, as: name) }
    public func publish(file: String, as name: String) throws { try base.publish(file: file, as: name) }
    public func delete(_ names: [String]) throws { try base.delete(names) }
}
