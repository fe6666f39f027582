/// One table of a backed-up database: recorded at backup, checked after a restore.
public struct TableStatistics: Codable, Equatable, Sendable {
    public var schema: String
    public var name: String
    public var sizeBytes: Int64
    public var rows: Int64

    public var qualifiedName: String { schema.isEmpty ? name : schema + "." + name }

    enum CodingKeys: String, CodingKey {
        case schema, name, rows
        case sizeBytes = "size_bytes"
    }
}
