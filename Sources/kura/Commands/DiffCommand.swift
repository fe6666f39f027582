import ArgumentParser
import KuraCore

struct DiffCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changed between two snapshots.",
        discussion: "+ added, - removed, M content modified, T type changed, U metadata only.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    @Argument var first: String
    @Argument var second: String

    struct Change: Encodable {
        var change: String
        var path: String
        var sizeBefore: Int64
        var sizeAfter: Int64

        enum CodingKeys: String, CodingKey {
            case change, path
            case sizeBefore = "size_before", sizeAfter = "size_after"
        }
    }

    func run() throws {
        try withRepository { repo in
            let a = try repo.openSnapshot(try repo.resolve(first))
            let b = try repo.openSnapshot(try repo.resolve(second))
            var changes: [Change] = []
            var counts: [SnapshotChange.Kind: Int] = [:]
            try SnapshotDiff.compare(a, b) { change in
                counts[change.kind, default: 0] += 1
                if output.json {
                    changes.append(Change(change: change.kind.rawValue, path: change.path, sizeBefore: change.sizeBefore, sizeAfter: change.sizeAfter))
                } else {
                    print("\(change.kind.rawValue)    \(change.path)")
                }
            }
            if output.json {
                try Terminal.printJSON(changes)
            } else {
                print("\(counts[.added] ?? 0) added, \(counts[.removed] ?? 0) removed, \(counts[.modified] ?? 0) modified, "
                      + "\(counts[.typeChanged] ?? 0) type changed, \(counts[.metadata] ?? 0) metadata only")
            }
        }
    }
}
