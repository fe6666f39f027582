import ArgumentParser
import KuraCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a repository in a new or empty directory, bucket prefix or remote path.")

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Default compression of new chunks: zstd[:1-19], zlib[:1-9] or none.", valueName: "CODEC[:LEVEL]"))
    var compression = CompressionSetting.default

    @Option(help: ArgumentHelp("Target pack size in MiB (1-128).", valueName: "MiB"))
    var packSize = 16

    func validate() throws {
        guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1-128 (MiB)") }
    }

    func run() throws {
        let location = try repository.location
        let path = location.description
        let config = RepositoryConfig.new(compression: compression, packSize: packSize << 20)
        let created = try Repository.initialize(location, config: config)
        if output.json {
            try Terminal.printJSON(["id": created.config.id, "path": path])
        } else {
            print("created Kura repository \(created.config.id.prefix(8)) at \(path)")
        }
    }
}
