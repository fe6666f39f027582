import ArgumentParser
import Foundation
import KuraCore

/// `kura config check`: reads kura.toml as `kura run` would and reports every problem.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a kura.toml configuration.",
        subcommands: [Check.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check kura.toml: unknown keys, bad values, missing files; one line each with its line number.",
            discussion: """
                The file is --config FILE, else $KURA_CONFIG, else ./kura.toml, else /etc/kura/kura.toml \
                (docs/CONFIG.md lists every key). Exit 0 when it is valid, 2 with one line per problem \
                (FILE:LINE: message) when it is not. The repository is not opened.
                """)

        @OptionGroup var config: ConfigFileOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let site = try config.load()
            if output.json {
                try Terminal.printJSON(ConfigSummary(site))
            } else {
                print("\(site.file): ok — \(ConfigSummary(site).line)")
            }
        }
    }
}

/// `--config FILE`, shared by run, status and schedule.
struct ConfigFileOptions: ParsableArguments {
    @Option(name: [.customLong("config"), .customShort("c")],
            help: ArgumentHelp("The configuration (default: $KURA_CONFIG, ./kura.toml, /etc/kura/kura.toml).", valueName: "FILE"))
    var file: String?

    /// The file's path, found as documented.
    var path: String {
        get throws { try ConfigurationLoader.locate(file) }
    }

    func load() throws -> SiteConfiguration {
        try ConfigurationLoader.load(try path)
    }
}

/// What a valid configuration does, in short (`config check`).
struct ConfigSummary: Encodable {
    var file: String
    var repository: String
    var databases: [String]
    var media: [String]
    var copyTo: [String]
    var steps: [String]

    enum CodingKeys: String, CodingKey { case file, repository, databases, media, steps, copyTo = "copy_to" }

    init(_ site: SiteConfiguration) {
        file = site.file
        repository = site.repository
        databases = site.databases.map { "\($0.name): \($0.url)" }
        media = site.media
        copyTo = site.copyTo
        var steps = ["backup"]
        if !site.copyTo.isEmpty { steps.append("copy") }
        if site.retention != nil { steps.append("forget") }
        if site.retention != nil && site.prune != .never { steps.append("prune") }
        steps.append(site.checks.readDataSubset.map { "verify (read-data-subset \($0))" } ?? "verify")
        if let days = site.checks.restoreTestEveryDays { steps.append("restore-test every \(days) day(s)") }
        if let export = site.export { steps.append("export to \(export.folder)") }
        self.steps = steps
    }

    var line: String {
        "\(databases.count) database(s), \(media.count) media folder(s) into \(repository); each night: \(steps.joined(separator: ", "))"
    }
}
