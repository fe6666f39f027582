import Foundation
import Testing
import KuraTestSupport

/// `kura --help` and every command's help, as a user reads them (swift-argument-parser wraps at 80
/// columns when stdout is not a terminal): compared with the golden files in Tests/kuraTests/Help,
/// and checked for ragged paragraphs (a hard line break inside a discussion that the parser wraps
/// again leaves a one- or two-word line). After a deliberate change of a help text:
/// `KURA_UPDATE_HELP=1 swift test -c release --filter HelpTests`, then read the diff.
@Suite struct HelpTests {
    static let commands: [[String]] = [
        [], ["init"], ["backup"], ["snapshots"], ["ls"], ["cat"], ["find"], ["diff"], ["restore"], ["export"], ["import"],
        ["verify"], ["copy"], ["forget"], ["prune"], ["repair"], ["repair", "index"], ["repair", "permissions"], ["stats"], ["unlock"],
        ["key"], ["key", "list"], ["key", "add"], ["key", "remove"], ["key", "passwd"], ["key", "export"],
        ["run"], ["status"], ["config"], ["config", "check"], ["schedule"], ["schedule", "install"], ["schedule", "remove"], ["schedule", "status"],
    ]

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Help").path

    func help(_ command: [String]) throws -> String {
        let run = try CLISandbox().run(command + ["--help"], environment: ["COLUMNS": "80"])
        #expect(run.status == 0, "\(command): \(run.stderr)")
        return run.stdout
    }

    @Test(arguments: commands) func helpMatchesItsGoldenFile(command: [String]) throws {
        let text = try help(command)
        let file = Self.folder + "/" + (command.isEmpty ? "kura" : command.joined(separator: "-")) + ".txt"
        if ProcessInfo.processInfo.environment["KURA_UPDATE_HELP"] == "1" {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text == golden, "kura \(command.joined(separator: " ")) --help changed: compare with \(file)")
    }

    @Test(arguments: commands) func paragraphsAreNotRagged(command: [String]) throws {
        let lines = try help(command).components(separatedBy: "\n")
        for (index, line) in lines.enumerated().dropLast() where !line.hasPrefix("USAGE:") && !line.hasPrefix(" ") {
            let next = lines[index + 1]
            // Inside a paragraph (the next line goes on with text), a line must be well filled.
            if !line.isEmpty, !next.isEmpty, !next.hasPrefix(" "), !next.hasSuffix(":") {
                #expect(line.count >= 50, "ragged line in kura \(command.joined(separator: " ")) --help: '\(line)' then '\(next)'")
            }
            #expect(line.count <= 80, "line over 80 columns: '\(line)'")
        }
    }
}
