import ArgumentParser
import KuraCore

struct UnlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Remove locks left by other hosts (stale locks of this host clear themselves).")

    @OptionGroup var repository: RepositoryOptions

    @Flag(help: "Also remove locks of processes running on this host. Only when you are sure they must stop.")
    var removeAll = false

    func run() throws {
        let repo = try repository.open()
        if removeAll { Terminal.notice("warning: removing every lock, including those of running processes") }
        let removed = try repo.removeLocks(all: removeAll)
        removed.forEach { print($0) }
        print("\(removed.count) lock(s) removed")
    }
}
