import ArgumentParser
import KuraCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a repository in a new or empty directory.")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    @Option(help: "Default compression of new chunks: zstd[:1-19], zlib[:1-9] or none.")
    var compression = "zstd:3"

    func run() throws {
        let path = try repository.path
        let config = RepositoryConfig.new(compression: try CompressionSetting(parsing: compression))
        let created = try Repository.initialize(at: path, config: config)
        if output.json {
            try Terminal.printJSON(["id": created.config.id, "path": path])
        } else {
            print("created Kura repository \(created.config.id.prefix(8)) at \(path)")
        }
    }
}
