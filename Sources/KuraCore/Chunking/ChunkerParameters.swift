/// The parameters of content-defined chunking, recorded in the repository's `config` so that the
/// same bytes always cut the same way in one repository.
public struct ChunkerParameters: Codable, Equatable, Sendable {
    /// Algorithm name; only `fastcdc-gear-v1` exists.
    public var algorithm: String
    /// No cut before this many bytes.
    public var min: Int
    /// The target average chunk size; must be a power of two.
    public var avg: Int
    /// A cut is forced at this many bytes.
    public var max: Int
    /// FastCDC normalization level: how many bits the masks differ from log2(avg) on each side.
    public var normalization: Int

    public static let algorithmName = "fastcdc-gear-v1"

    /// Media and database dumps (chosen by measurement: docs/DESIGN.md, "Chunk sizes").
    public static let data = ChunkerParameters(algorithm: algorithmName, min: 256 << 10, avg: 1 << 20, max: 8 << 20, normalization: 2)
    /// Database dumps: small chunks, because a night's updates touch rows all over a table and each
    /// touched chunk is stored again (measured: docs/DESIGN.md, "Chunk sizes").
    public static let dump = ChunkerParameters(algorithm: algorithmName, min: 4 << 10, avg: 16 << 10, max: 128 << 10, normalization: 2)
    /// Snapshot databases: small chunks, so that a night's few changed pages cost little.
    public static let tree = ChunkerParameters(algorithm: algorithmName, min: 8 << 10, avg: 32 << 10, max: 256 << 10, normalization: 2)

    public init(algorithm: String = algorithmName, min: Int, avg: Int, max: Int, normalization: Int) {
        self.algorithm = algorithm
        self.min = min
        self.avg = avg
        self.max = max
        self.normalization = normalization
    }

    /// Checks the parameters describe a chunker this version implements.
    public func validate() throws {
        guard algorithm == Self.algorithmName else { throw KuraError.unsupportedFormat("chunker '\(algorithm)'") }
        guard avg > 0, avg & (avg - 1) == 0, min >= 64, min < avg, avg < max, max <= 64 << 20,
              (0...4).contains(normalization) else {
            throw KuraError.invalidArgument("chunker sizes must satisfy 64 <= min < avg < max <= 64 MiB with avg a power of two (got \(min)/\(avg)/\(max))")
        }
    }
}
