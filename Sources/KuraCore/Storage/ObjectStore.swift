import Foundation

/// Where a repository's objects live: the storage seam (docs/DESIGN.md, "Storage"). Everything
/// above it — backup, restore, export, verify, forget, prune — reads and writes repository
/// objects only through it, so that another backend (object storage, an rclone remote) or an
/// encrypting layer plugs in here without touching the stages.
///
/// Names are paths relative to the repository root: `config`, `data/<2 hex>/<pack id>`,
/// `index/<id>`, `snapshots/<id>`, `verifications/<id>`. An object is written whole, is visible
/// only once complete, and is never modified. A missing object is reported as
/// `KuraError.io(…, errno: ENOENT)`, whatever the backend.
public protocol ObjectStore: AnyObject, Sendable {
    /// A human-readable location for messages (a path, a URL without credentials).
    var location: String { get }
    /// How many `publish` calls a writer may run at once (1 for a local disk, several connections
    /// for object storage).
    var parallelWrites: Int { get }
    /// The names of the objects directly in `folder` (`index`, `data/ab`); none when it is missing.
    func list(_ folder: String) throws -> [String]
    /// The size of an object; nil when there is none.
    func size(of name: String) throws -> Int64?
    /// Exactly `buffer.count` bytes of `name` from `offset` (an integrity error when the object
    /// ends first). Safe to call from several threads at once.
    func read(_ name: String, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws
    /// A whole object, refused (integrity error) when larger than `limit` bytes.
    func read(_ name: String, limit: Int) throws -> [UInt8]
    /// Stores `bytes` as `name`, durably and atomically.
    func write(_ bytes: [UInt8], as name: String) throws
    /// Stores the complete local file `file` (a pack written in the repository's `tmp/`) as
    /// `name`; the local file is gone afterwards.
    func publish(file: String, as name: String) throws
    /// Whether `publish` moves the file itself into the repository (a rename on a disk: the file
    /// must be synced first) rather than sending a copy (an upload, durable once it returns).
    var publishesTheFileItself: Bool { get }
    /// Deletes objects, each durably; a missing one is not an error.
    func delete(_ names: [String]) throws
}

extension ObjectStore {
    public var parallelWrites: Int { 1 }
    /// True unless a store says otherwise: a wrapper that forgets to ask its base costs an fsync,
    /// never a pack that is not durable.
    public var publishesTheFileItself: Bool { true }
}
