import ArgumentParser
import Foundation
import KuraCore

/// Diagnostics for developers (hidden from help), as `restic debug`.
struct DebugCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug", abstract: "Developer diagnostics.", shouldDisplay: false, subcommands: [Chunks.self])

    /// Cuts files with given chunker parameters and reports how many chunks (and bytes) of each
    /// later file are already in the earlier ones: the measurement behind the default sizes.
    struct Chunks: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Chunk files and report reuse between them.")

        @Option var min = ChunkerParameters.data.min
        @Option var avg = ChunkerParameters.data.avg
        @Option var max = ChunkerParameters.data.max
        @Argument var files: [String]

        func run() throws {
            let parameters = ChunkerParameters(min: min, avg: avg, max: max, normalization: 2)
            try parameters.validate()
            let chunker = FastCDC(parameters)
            var seen = Set<ChunkID>()
            for file in files {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                var chunks = 0, reused = 0
                var reusedBytes = 0
                data.withUnsafeBytes { raw in
                    var start = 0
                    for length in chunker.chunkLengths(raw) {
                        let id = SHA256Hasher.hash(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
                        chunks += 1
                        if !seen.insert(id).inserted {
                            reused += 1
                            reusedBytes += length
                        }
                        start += length
                    }
                }
                let newBytes = data.count - reusedBytes
                print("\(file): \(data.count) bytes, \(chunks) chunks (avg \(data.count / Swift.max(chunks, 1))), "
                      + "\(reused) reused, \(newBytes) bytes new (\(String(format: "%.2f", 100 * Double(newBytes) / Double(Swift.max(data.count, 1))))%)")
            }
        }
    }
}
