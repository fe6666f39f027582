import ArgumentParser
import Foundation
import KuraCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a repository in a new or empty directory, bucket prefix or remote path.",
        discussion: """
            The repository is encrypted (AES-256-GCM) under a password from --password-file, \
            KURA_PASSWORD_FILE, --password-command, KURA_PASSWORD or the terminal (asked twice). \
            Keep the password, and the paper key ('kura key export --paper'): without either, \
            the backups cannot be read. --no-encryption makes a plain repository.
            """)

    @OptionGroup var repository: RepositoryOptions
    @OptionGroup var output: OutputOptions

    @Option(help: ArgumentHelp("Default compression of new chunks: zstd[:1-19], zlib[:1-9] or none.", valueName: "CODEC[:LEVEL]"))
    var compression = CompressionSetting.default

    @Option(help: ArgumentHelp("Target pack size in MiB (1-128).", valueName: "MiB"))
    var packSize = 16

    @Option(help: ArgumentHelp("Media chunk sizes in bytes, as borg's option: minimum, average (a power of two), maximum. Smaller chunks deduplicate finer and make a larger index (default 262144,1048576,8388608).",
                               valueName: "MIN,AVG,MAX"))
    var chunkerParams: String?

    @Flag(help: "Make a plain repository: nothing encrypted, no password (anyone who can read its files reads the backups).")
    var noEncryption = false

    @OptionGroup var kdf: KeyDerivationOptions

    func validate() throws {
        guard (1...128).contains(packSize) else { throw ValidationError("--pack-size must be 1-128 (MiB)") }
        _ = try chunker
    }

    /// `--chunker-params`, checked; the default media chunker without it.
    private var chunker: ChunkerParameters {
        get throws {
            guard let chunkerParams else { return .data }
            let sizes = chunkerParams.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard sizes.count == 3 else { throw ValidationError("--chunker-params takes three sizes in bytes: MIN,AVG,MAX") }
            let parameters = ChunkerParameters(min: sizes[0], avg: sizes[1], max: sizes[2], normalization: ChunkerParameters.data.normalization)
            do { try parameters.validate() } catch { throw ValidationError("--chunker-params: \(error)") }
            return parameters
        }
    }

    func run() throws {
        let location = try repository.location
        let path = location.description
        let config = RepositoryConfig.new(chunker: try chunker, compression: compression, packSize: packSize << 20)
        let password = noEncryption ? nil
            : Repository.NewPassword(try repository.password.password(confirm: true, for: "new password for \(path)"), kdf: kdf.parameters)
        let created = try Repository.initialize(location, config: config, password: password)
        if output.json {
            var fields: [String: String] = ["id": created.config.id, "path": path, "encryption": created.config.encryption ?? "none"]
            if let password { fields["kdf"] = KeyDerivationOptions.describe(password.kdf) }
            try Terminal.printJSON(fields)
        } else if let password {
            print("created encrypted Kura repository \(created.config.id.prefix(8)) at \(path) (key: \(KeyDerivationOptions.describe(password.kdf)))")
            Terminal.notice("keep the password safe, and a paper copy of the key ('kura key export --paper'): without them the backups cannot be read")
        } else {
            print("created Kura repository \(created.config.id.prefix(8)) at \(path), not encrypted")
        }
    }
}

/// How hard a new key's password is stretched (`init`, `key add`, `key passwd`).
struct KeyDerivationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Stretch the new password with scrypt for about this many seconds on this machine (default 0.04: a single-file restore stays under 100 ms; use 1 or more for a password typed by a person).",
                               valueName: "SECONDS"))
    var kdfTime: Double?

    func validate() throws {
        if let kdfTime, !(0...60).contains(kdfTime) { throw ValidationError("--kdf-time must be 0-60 seconds") }
    }

    var parameters: ScryptParameters { .calibrated(target: kdfTime ?? ScryptParameters.defaultTarget) }

    /// "scrypt N=2^13 r=8 p=1, 8 MiB".
    static func describe(_ kdf: ScryptParameters) -> String {
        "scrypt N=2^\(kdf.logN) r=\(kdf.r) p=\(kdf.p), \(kdf.memory >> 20) MiB"
    }
}
