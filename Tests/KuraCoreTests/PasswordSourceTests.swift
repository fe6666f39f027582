import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// Where a password comes from, in restic's order, and what is refused.
@Suite struct PasswordSourceTests {
    @Test func sourcesAreTakenInOrder() throws {
        let scratch = Scratch()
        let file = scratch.sub("password")
        FileManager.default.createFile(atPath: file, contents: Data("from the file\nsecond line\n".utf8), attributes: [.posixPermissions: 0o600])
        let environment = ["KURA_PASSWORD": "from the variable", "KURA_PASSWORD_FILE": file]
        var warnings: [String] = []
        let prompt: () throws -> [UInt8] = { Array("typed".utf8) }
        // The flag's file, then the variable's file, then the command, then KURA_PASSWORD, then the terminal.
        #expect(try PasswordSource(file: file, environment: [:]).password(prompt: prompt) == Array("from the file".utf8))
        #expect(try PasswordSource(environment: environment).password(prompt: prompt) == Array("from the file".utf8))
        #expect(try PasswordSource(command: "printf 'from the command\\r\\n'", environment: ["KURA_PASSWORD": "x"]).password(prompt: prompt)
                == Array("from the command".utf8))
        #expect(try PasswordSource(environment: ["KURA_PASSWORD": "from the variable"]).password(prompt: prompt) == Array("from the variable".utf8))
        #expect(try PasswordSource(environment: [:]).password(prompt: prompt) == Array("typed".utf8))
        #expect(PasswordSource(environment: environment).isSet && !PasswordSource(environment: [:]).isSet)
        // A file others can read: a warning, and the password all the same.
        chmod(file, 0o644)
        #expect(try PasswordSource(file: file, environment: [:]).password(prompt: nil) { warnings.append($0) } == Array("from the file".utf8))
        #expect(warnings.count == 1 && warnings[0].contains("can be read by other users"), "\(warnings)")
    }

    @Test func nothingToReadFromIsExitTwoNamingTheChoices() throws {
        let error = kuraError { _ = try PasswordSource(environment: [:]).password(prompt: nil) }
        #expect(error == .noPassword(choices: PasswordSource.choices))
        #expect(error?.exitCode == 2 && "\(error.map { "\($0)" } ?? "")".contains("--password-file"))
        // An empty password, a failing command, a missing file: one error each.
        #expect(kuraError { _ = try PasswordSource(environment: ["KURA_PASSWORD": ""]).password(prompt: nil) } != nil)
        #expect(kuraError { _ = try PasswordSource(command: "exit 3", environment: [:]).password(prompt: nil) } != nil)
        #expect(kuraError { _ = try PasswordSource(file: "/nonexistent/password", environment: [:]).password(prompt: nil) } != nil)
    }
}
