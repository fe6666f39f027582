import ArgumentParser
import Foundation
import KuraCore

/// `kura key list|add|remove|passwd|export`: the key files of an encrypted repository.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage the passwords (key files) of an encrypted repository.",
        discussion: """
            Each key file holds the repository's master key wrapped under one password; any of \
            them opens the repository. 'export --paper' prints the master key itself: kept in a \
            safe, it opens the repository when every password is lost ('add --from-paper').
            """,
        subcommands: [List.self, Add.self, Remove.self, Passwd.self, Export.self])

    struct List: RepositoryCommand {
        static let configuration = CommandConfiguration(abstract: "List the key files; * marks the one that opened the repository.")
        @OptionGroup var repository: RepositoryOptions
        var lockMode: LockMode { .read }
        @OptionGroup var output: OutputOptions

        func run() throws {
            try withRepository { repo in
                let keys = try repo.keys()
                if output.json { return try Terminal.printJSON(keys) }
                print("  ID        Created              Host            User        Key derivation")
                for key in keys {
                    let mark = key.current ? "*" : " "
                    guard let kdf = key.kdf, let created = key.created else {
                        print("\(mark) \(key.id.prefix(8))  DAMAGED: \(key.damage ?? "unreadable")")
                        continue
                    }
                    print("\(mark) \(key.id.prefix(8))  \(Format.time(created))  \((key.host ?? "").padding(toLength: 15, withPad: " ", startingAt: 0)) "
                          + "\((key.username ?? "").padding(toLength: 11, withPad: " ", startingAt: 0)) \(KeyDerivationOptions.describe(kdf))")
                }
                print("\(keys.count) key(s)")
            }
        }
    }

    struct Add: RepositoryCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a password: a new key file for the same master key.",
            discussion: "The new password comes from --new-password-file, else the terminal (asked twice). With --from-paper FILE the repository is opened with the master key printed by 'key export --paper' instead of a password: the way back in when every password is lost.")
        @OptionGroup var repository: RepositoryOptions
        var lockMode: LockMode { .append }
        @OptionGroup var newPassword: NewPasswordOptions
        @OptionGroup var kdf: KeyDerivationOptions

        @Option(help: ArgumentHelp("Open the repository with the paper key in FILE (from 'kura key export --paper') instead of a password.", valueName: "FILE"))
        var fromPaper: String?

        func run() throws {
            let paperKey = try fromPaper.map { try MasterKey(paperFile: $0) }
            try withRepository(credentials: paperKey.map { .masterKey($0) }) { repo in
                let password = Repository.NewPassword(try newPassword.password(for: repo.path), kdf: kdf.parameters)
                let id = try repo.addKey(password)
                print("added key \(id.prefix(8)) (\(KeyDerivationOptions.describe(password.kdf)))")
            }
        }
    }

    struct Remove: RepositoryCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a key file (not the one in use, never the last one).")
        @OptionGroup var repository: RepositoryOptions
        var lockMode: LockMode { .exclusive }

        @Argument(help: "The key's id or a unique prefix of it (4+ hex digits, from 'kura key list').")
        var id: String

        func run() throws {
            try withRepository { repo in print("removed key \(try repo.removeKey(id).prefix(8))") }
        }
    }

    struct Passwd: RepositoryCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change the password of the key in use (a new key file replaces it).",
            discussion: "The new password comes from --new-password-file, else the terminal (asked twice).")
        @OptionGroup var repository: RepositoryOptions
        var lockMode: LockMode { .exclusive }
        @OptionGroup var newPassword: NewPasswordOptions
        @OptionGroup var kdf: KeyDerivationOptions

        func run() throws {
            try withRepository { repo in
                let password = Repository.NewPassword(try newPassword.password(for: repo.path), kdf: kdf.parameters)
                let id = try repo.changePassword(password)
                print("password changed: key \(id.prefix(8)) (\(KeyDerivationOptions.describe(password.kdf))) replaces the old key")
            }
        }
    }

    struct Export: RepositoryCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the master key, to keep on paper in a safe.",
            discussion: "Whoever holds the printed key can read every backup of this repository: print it, store it like the deeds of the house, and do not keep it as a file on the server.")
        @OptionGroup var repository: RepositoryOptions
        var lockMode: LockMode { .read }

        @Flag(help: "Print the key as text for paper (required: it is the only form).")
        var paper = false

        func validate() throws {
            guard paper else { throw ValidationError("give --paper: the master key is exported only as text to print") }
        }

        func run() throws {
            try withRepository { repo in
                print("""
                    Kura master key of repository \(repo.config.id)
                    (\(repo.path), printed \(Timestamp.now()))
                    Opens every backup of this repository. If every password is lost:
                      kura key add --repo REPO --from-paper THIS-FILE

                    \(try repo.paperKey())
                    """)
            }
        }
    }
}

/// Where a new password comes from (`key add`, `key passwd`).
struct NewPasswordOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read the new password from the first line of FILE (else the terminal is asked).", valueName: "FILE"))
    var newPasswordFile: String?

    func password(for location: String) throws -> [UInt8] {
        let prompt: (() throws -> [UInt8])? = Terminal.inputIsTerminal ? { try Terminal.readPassword("new password for \(location)", confirm: true) } : nil
        guard newPasswordFile != nil || prompt != nil else {
            throw KuraError.noPassword(choices: "--new-password-file FILE or a terminal to type it on")
        }
        return try PasswordSource(file: newPasswordFile, environment: [:]).password(prompt: prompt, warn: Terminal.warning)
    }
}
