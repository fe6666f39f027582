import ArgumentParser
import Foundation
import KuraCore

struct StatsCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show repository size, deduplication and compression.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    func run() throws {
        let stats = try withRepository { try $0.stats() }
        if output.json {
            try Terminal.printJSON(stats)
            return
        }
        print("""
            Snapshots:            \(stats.snapshots)
            Total restore size:   \(Format.bytes(stats.totalRestoreBytes))
            Unique data:          \(Format.bytes(stats.uniquePlainBytes)) in \(stats.chunks) chunks
            Stored (compressed):  \(Format.bytes(stats.uniqueStoredBytes))
            On disk (packs):      \(Format.bytes(stats.packBytes)) in \(stats.packs) packs
            Space saving:         \(String(format: "%.2f", stats.spaceSavingRatio))x
            """)
    }
}
