import ArgumentParser
import KuraCore

struct FindCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "find",
        abstract: "Find which snapshots hold paths matching a pattern.",
        discussion: "PATTERN is a glob on snapshot paths: 'reçu*.pdf' at any depth, '/media/receipts/*' anchored.")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Glob pattern.")
    var pattern: PathPattern

    struct Match: Encodable {
        var snapshot: String
        var time: String
        var path: String
        var size: Int64
        var mtime: String
    }

    func run() throws {
        var matches: [Match] = []
        try withRepository { repo in
            try repo.find(pattern) { snapshot, entry in
                let match = Match(snapshot: snapshot.id.hex, time: snapshot.record.time, path: entry.path, size: entry.size,
                                  mtime: Format.mtime(entry.mtimeNanoseconds))
                if output.json {
                    matches.append(match)
                } else {
                    print("\(snapshot.id.short)  \(Format.time(snapshot.record.time))  \(String(entry.size).leftPadded(to: 12))  \(match.mtime)  \(entry.path)")
                }
            }
        }
        if output.json { try Terminal.printJSON(matches) }
    }
}
