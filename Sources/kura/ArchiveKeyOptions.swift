import ArgumentParser
import Foundation
import KuraCore

/// Where a password comes from (restic's flags and variables): `PasswordSource`, with a prompt
/// on the terminal as the last resort. One set per command (in `RepositoryOptions`): it gives the
/// repository's password when the repository is encrypted, and an archive's passphrase when an
/// archive needs one (the same password when both do; identity files avoid that).
struct PasswordOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read the password from the first line of FILE (default: $KURA_PASSWORD_FILE).", valueName: "FILE"))
    var passwordFile: String?

    @Option(help: ArgumentHelp("Run CMD (with sh -c) and read the password from its output.", valueName: "CMD"))
    var passwordCommand: String?

    /// The password from the first source set; a terminal is asked (twice when `confirm`),
    /// naming what it is for.
    func password(confirm: Bool, for purpose: String = "password") throws -> [UInt8] {
        let prompt: (() throws -> [UInt8])? = Terminal.inputIsTerminal ? { try Terminal.readPassword(purpose, confirm: confirm) } : nil
        return try source.password(prompt: prompt, warn: Terminal.warning)
    }

    var source: PasswordSource { PasswordSource(file: passwordFile, command: passwordCommand) }

    /// What opens the repository at `location` if it is encrypted: this password, read then.
    func credentials(for location: String) -> Repository.Credentials {
        .password { try password(confirm: false, for: "password for \(location)") }
    }
}

/// Opening an age-encrypted archive (`….tar.gz.age`): identity files, else a passphrase.
struct ArchiveDecryptionOptions: ParsableArguments {
    @Option(name: .customLong("identity"), help: ArgumentHelp("An age identity file (AGE-SECRET-KEY-1…, from age-keygen) for an encrypted archive (repeatable); without one, the archive's passphrase is read from the password sources.",
                                                              valueName: "FILE"))
    var identityFiles: [String] = []

    /// Whether a key was given for `archive`: an identity file, or — for an archive encrypted
    /// with a passphrase — a password source or a terminal to ask on.
    func keyGiven(for archive: String, password: PasswordOptions) -> Bool {
        !identityFiles.isEmpty || (AgeIdentity.wantsPassphrase(archive) && (Terminal.inputIsTerminal || password.source.isSet))
    }

    /// What opens `archive`: nothing for a plain archive; the identity files' keys, else — only
    /// when the archive was encrypted with a passphrase — a passphrase from `password`'s sources
    /// (which otherwise give the repository's password: never tried on an archive made for keys).
    func identities(for archive: String, password: PasswordOptions) throws -> [AgeIdentity] {
        guard archive.hasSuffix(".age") else { return [] }
        let keys = try identityFiles.flatMap { try AgeIdentity.load(file: $0) }
        guard keys.isEmpty else { return keys }
        guard AgeIdentity.wantsPassphrase(archive) else {
            throw KuraError.noPassword(choices: "--identity FILE: the archive was encrypted to an age key (age1…), not with a passphrase")
        }
        return [.passphrase(try password.password(confirm: false, for: "passphrase of the archive"))]
    }
}

/// Encrypting an export with age.
struct ArchiveEncryptionOptions: ParsableArguments {
    @Option(name: .customLong("encrypt-to"), help: ArgumentHelp("Encrypt the archive (….tar.gz.age) to this age recipient (age1…, from age-keygen); repeatable.",
                                                                valueName: "RECIPIENT"))
    var recipients: [String] = []

    @Flag(help: "Encrypt the archive (….tar.gz.age) with a passphrase from the password sources (asked twice on a terminal).")
    var encryptPassphrase = false

    func validate() throws {
        if encryptPassphrase && !recipients.isEmpty {
            throw ValidationError("--encrypt-passphrase cannot be combined with --encrypt-to (age allows a passphrase only alone)")
        }
    }

    /// The recipients to encrypt to (a passphrase from `password`'s sources); none for a plain archive.
    func ageRecipients(password: PasswordOptions) throws -> [AgeRecipient] {
        if encryptPassphrase { return [.passphrase(try password.password(confirm: true, for: "passphrase for the archive"))] }
        return try recipients.map { try AgeRecipient(parsing: $0) }
    }
}

extension Terminal {
    /// Reads a password from the terminal without echo (twice, compared, when `confirm`),
    /// prompting with what it is for.
    static func readPassword(_ purpose: String, confirm: Bool) throws -> [UInt8] {
        let first = try readHidden(purpose + ": ")
        if confirm {
            guard try readHidden("again: ") == first else { throw KuraError.invalidArgument("the two passwords differ") }
        }
        return first
    }

    private static func readHidden(_ prompt: String) throws -> [UInt8] {
        clearProgress()
        write(prompt)
        var saved = termios()
        let hasTerminal = tcgetattr(STDIN_FILENO, &saved) == 0
        if hasTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer {
            if hasTerminal { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) }
            write("\n")
        }
        guard let line = readLine(strippingNewline: true) else { throw KuraError.invalidArgument("no password typed") }
        return Array(line.utf8)
    }
}
