import Foundation

/// The small JSON records a repository keeps beside its snapshots — verification records
/// (`verifications/`) and run records (`runs/`): each a new object named by the SHA-256 of its
/// bytes as stored, sealed in an encrypted repository, never rewritten.
extension Repository {
    /// Stores `record` as `<folder>/<id>` (the folder is created on first use).
    func writeRecord<T: Encodable>(_ record: T, in folder: String) throws -> ChunkID {
        let bytes = seal(try [UInt8](JSONEncoder.kura.encode(record)))
        let id = SHA256Hasher.hash(bytes)
        try store.write(bytes, as: folder + "/" + id.hex)
        return id
    }

    /// The record `<folder>/<id>`; nil when it is missing, larger than `limit`, does not match
    /// its name, does not open or does not parse.
    func readRecord<T: Decodable>(_ type: T.Type, id: ChunkID, in folder: String, limit: Int) -> T? {
        guard let stored = try? store.read(folder + "/" + id.hex, limit: limit),
              SHA256Hasher.hash(stored) == id, let bytes = open(stored) else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(bytes))
    }

    /// Every readable record of `folder` with its id, in listing order; unreadable ones skipped.
    func readRecords<T: Decodable>(_ type: T.Type, in folder: String, limit: Int) throws -> [(id: ChunkID, record: T)] {
        try store.list(folder).compactMap { name in
            guard let id = ChunkID(hex: name), let record = readRecord(T.self, id: id, in: folder, limit: limit) else { return nil }
            return (id, record)
        }
    }

    /// The names in `folder` that are not a readable record (do not match their name, do not
    /// open or do not parse).
    func damagedRecords<T: Decodable>(_ type: T.Type, in folder: String, limit: Int) throws -> [String] {
        try store.list(folder).filter { name in ChunkID(hex: name).flatMap { readRecord(T.self, id: $0, in: folder, limit: limit) } == nil }
    }
}
