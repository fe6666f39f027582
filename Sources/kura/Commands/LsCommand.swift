import ArgumentParser
import KuraCore

struct LsCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the paths in a snapshot, or below PATH.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Snapshot: id, id prefix, 'latest' or export name.")
    var snapshot: String

    @Argument(help: "Only this path and what lies below it (e.g. media/receipts).")
    var path: String?

    @Flag(name: [.short, .long], help: "Show mode, size and modification time.")
    var long = false

    func run() throws {
        try withRepository { repo in
            let found = try repo.resolve(snapshot)
            let reader = try repo.openSnapshot(found)
            let prefix = path.map { $0.split(separator: "/").joined(separator: "/") }
            var listed: [EntryListing] = []
            var count = 0
            try reader.forEachEntry(under: prefix) { entry in
                count += 1
                if output.json {
                    listed.append(EntryListing(entry))
                } else if long {
                    let size = String(entry.size).leftPadded(to: 12)
                    print("\(Format.mode(entry)) \(size) \(Format.mtime(entry.mtimeNanoseconds)) \(entry.path)\(entry.linkTarget.map { " -> \($0)" } ?? "")")
                } else {
                    print(entry.path)
                }
            }
            if count == 0, let prefix { throw KuraError.pathNotInSnapshot(path: prefix, snapshot: found.id.short) }
            if output.json { try Terminal.printJSON(listed) }
        }
    }
}

/// One entry in `--json` listings.
struct EntryListing: Encodable {
    var path: String
    var type: String
    var mode: String
    var size: Int64
    var mtime: String
    var linkTarget: String?

    init(_ entry: Entry) {
        path = entry.path
        type = entry.kind.rawValue
        mode = String(entry.mode, radix: 8)
        size = entry.size
        mtime = Timestamp.format(seconds: Int(entry.mtimeNanoseconds / 1_000_000_000), nanoseconds: Int(entry.mtimeNanoseconds % 1_000_000_000))
        linkTarget = entry.linkTarget
    }

    enum CodingKeys: String, CodingKey {
        case path, type, mode, size, mtime
        case linkTarget = "link_target"
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
