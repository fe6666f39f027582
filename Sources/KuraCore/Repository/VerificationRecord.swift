import Foundation

/// The immutable record of one `kura verify --restore-test` run, stored as
/// `verifications/<sha256 of the JSON>` in the repository (docs/FORMAT.md).
public struct VerificationRecord: Codable, Equatable, Sendable {
    public var version = 1
    /// The snapshot tested (hex id).
    public var snapshot: String
    public var time: String
    public var host: String
    public var kuraVersion: String
    public var ok: Bool
    public var checks: [RestoreTestCheck]
    public var durationSeconds: Double

    enum CodingKeys: String, CodingKey {
        case version, snapshot, time, host, ok, checks
        case kuraVersion = "kura_version", durationSeconds = "duration_seconds"
    }
}

extension Repository {
    /// Stores a verification record (a new file; the folder is created on first use).
    @discardableResult
    public func writeVerification(_ record: VerificationRecord) throws -> ChunkID {
        try writeRecord(record, in: RepositoryLayout.verificationsFolder)
    }

    /// Every readable verification record with its id, oldest first. Unreadable ones are skipped
    /// (`verify` does not depend on them; `damagedVerifications` names them).
    public func verifications() throws -> [(id: ChunkID, record: VerificationRecord)] {
        try readRecords(VerificationRecord.self, in: RepositoryLayout.verificationsFolder, limit: SnapshotRecord.maxFileSize).sorted { (Timestamp.parse($0.record.time) ?? 0) < (Timestamp.parse($1.record.time) ?? 0) }
    }

    /// The names of verification records that do not match their name, do not decrypt or do not parse.
    func damagedVerifications() throws -> [String] {
        try damagedRecords(VerificationRecord.self, in: RepositoryLayout.verificationsFolder, limit: SnapshotRecord.maxFileSize)
    }

    /// The latest verification of each snapshot, by snapshot id (hex).
    public func latestVerifications() throws -> [String: VerificationRecord] {
        var latest: [String: VerificationRecord] = [:]
        for (_, record) in try verifications() { latest[record.snapshot] = record }
        return latest
    }

    /// Deletes the verification records of `snapshots` (forget, under the exclusive lock).
    func forgetVerifications(of snapshots: [Snapshot]) throws {
        let ids = Set(snapshots.map(\.id.hex))
        try store.delete(try verifications().filter { ids.contains($0.record.snapshot) }.map { RepositoryLayout.verificationName($0.id) })
    }
}
