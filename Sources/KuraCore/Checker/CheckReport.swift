import Foundation

/// What `kura verify` found in a repository.
public struct CheckReport: Sendable, Encodable {
    /// Damage: each line names what is wrong and, where it can, what to do.
    public var errors: [String] = []
    /// Not damage: unreferenced packs, leftover temp files.
    public var notices: [String] = []
    /// Not damage, but to fix: repository files readable by other users.
    public var warnings: [String] = []
    /// Files that cannot be restored, with the snapshots that hold them.
    public var damagedFiles: [DamagedFile] = []
    public var snapshots = 0
    public var indexFiles = 0
    public var packs = 0
    public var referencedChunks = 0
    /// `--read-data`: packs, bytes and chunks read and checked.
    public var packsRead = 0
    public var bytesRead: Int64 = 0
    public var chunksRead = 0
    public var readDataSubset: String?
    public var readDataSeconds = 0.0
    public var durationSeconds = 0.0

    /// True when nothing is damaged.
    public var ok: Bool { errors.isEmpty }

    enum CodingKeys: String, CodingKey {
        case ok, errors, notices, warnings, snapshots, packs, durationSeconds = "duration_seconds"
        case damagedFiles = "damaged_files", indexFiles = "index_files", referencedChunks = "referenced_chunks"
        case packsRead = "packs_read", bytesRead = "bytes_read", chunksRead = "chunks_read", readDataSubset = "read_data_subset", readDataSeconds = "read_data_seconds"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ok, forKey: .ok)
        try container.encode(errors, forKey: .errors)
        try container.encode(notices, forKey: .notices)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(damagedFiles, forKey: .damagedFiles)
        try container.encode(snapshots, forKey: .snapshots)
        try container.encode(indexFiles, forKey: .indexFiles)
        try container.encode(packs, forKey: .packs)
        try container.encode(referencedChunks, forKey: .referencedChunks)
        try container.encode(packsRead, forKey: .packsRead)
        try container.encode(bytesRead, forKey: .bytesRead)
        try container.encode(chunksRead, forKey: .chunksRead)
        try container.encode(readDataSubset, forKey: .readDataSubset)
        try container.encode(readDataSeconds, forKey: .readDataSeconds)
        try container.encode(durationSeconds, forKey: .durationSeconds)
    }
}
