/// Where each kind of file lives inside a repository directory (docs/FORMAT.md, "Layout"), and
/// the modes new files and folders get there.
public struct RepositoryLayout: Sendable {
    public let root: String
    /// Owner-only, or group-readable when the repository's `config` is (docs/DESIGN.md, invariant 23).
    public let permissions: FilePermissions

    public init(root: String, permissions: FilePermissions = .ownerOnly) {
        self.root = root
        self.permissions = permissions
    }

    public var config: String { root + "/config" }
    public var dataDirectory: String { root + "/data" }
    public var indexDirectory: String { root + "/index" }
    public var snapshotsDirectory: String { root + "/snapshots" }
    public var locksDirectory: String { root + "/locks" }
    /// Temp files; a file here is never referenced and may be removed when no process runs.
    public var tmpDirectory: String { root + "/tmp" }

    /// The full path of a pack (`data/<first two hex digits>/<pack id>`).
    public func pack(_ id: ChunkID) -> String { root + "/" + Self.packName(id) }

    // Object names, relative to the root: what the `ObjectStore` is asked for.

    /// `data/<first two hex digits>/<pack id>`.
    public static func packName(_ id: ChunkID) -> String {
        let hex = id.hex
        return "data/" + hex.prefix(2) + "/" + hex
    }
    public static func indexName(_ id: ChunkID) -> String { "index/" + id.hex }
    public static func snapshotName(_ id: ChunkID) -> String { "snapshots/" + id.hex }
    public static func verificationName(_ id: ChunkID) -> String { verificationsFolder + "/" + id.hex }
    /// `runs/<id>`: a `kura run` record.
    public static func runName(_ id: ChunkID) -> String { runsFolder + "/" + id.hex }
    /// The folders of the repository's small records (`StoredRecords`).
    public static let verificationsFolder = "verifications", runsFolder = "runs"
    /// `keys/<id>`: a key file of an encrypted repository (its id is the SHA-256 hex of its bytes).
    public static func keyName(_ id: String) -> String { "keys/" + id }

    public func index(_ id: ChunkID) -> String { indexDirectory + "/" + id.hex }
    public func snapshot(_ id: ChunkID) -> String { snapshotsDirectory + "/" + id.hex }
    public func lock(_ name: String) -> String { locksDirectory + "/" + name }

    /// The folders a process writes in before anything is published: `tmp/` and `locks/`. A copy
    /// made by a tool that keeps no empty folder (git, `rclone copy`) lacks them; they are made
    /// again, with the repository's mode, when it is opened or locked (docs/DESIGN.md, invariant 47).
    public func makeWorkFolders() throws {
        for folder in [tmpDirectory, locksDirectory] where !FileSystem.isDirectory(folder) {
            try FileSystem.makeDirectory(folder, mode: permissions.directory)
        }
    }

    /// All directories `init` creates, including the 256 `data/` fan-out folders.
    public var directories: [String] {
        [dataDirectory, indexDirectory, snapshotsDirectory, locksDirectory, tmpDirectory, root + "/verifications"]
            + (0..<256).map { dataDirectory + "/" + Hex.encode([UInt8($0)]) }
    }
}
