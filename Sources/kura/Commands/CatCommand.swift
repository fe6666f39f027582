import ArgumentParser
import Foundation
import KuraCore

struct CatCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "Write one file of a snapshot to stdout (verified).")

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { .read }

    @Argument(help: "Snapshot: id, id prefix, 'latest' or export name.")
    var snapshot: String

    @Argument(help: "Path in the snapshot, e.g. media/receipts/2025/receipt.pdf.")
    var path: String

    func run() throws {
        try withRepository { repo in
            let found = try repo.resolve(snapshot)
            let clean = path.split(separator: "/").joined(separator: "/")
            try Restorer(repository: repo).writeFile(found, path: clean, to: STDOUT_FILENO)
        }
    }
}
