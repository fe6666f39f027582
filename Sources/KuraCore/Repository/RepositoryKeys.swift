import Foundation

/// Keys of an encrypted repository (docs/FORMAT.md, "Key files"): opening it with a password or
/// its paper key, and `kura key list|add|remove|passwd|export`.
extension Repository {
    /// What opens an encrypted repository.
    public enum Credentials {
        /// A password, asked for only when the repository turns out to be encrypted.
        case password(() throws -> [UInt8])
        /// The master key, from its paper copy (`kura key export --paper`).
        case masterKey(MasterKey)
    }

    /// A password for a new key file, with the scrypt parameters to wrap it under.
    public struct NewPassword {
        public var password: [UInt8]
        public var kdf: ScryptParameters

        /// `kdf` defaults to parameters calibrated on this machine (`ScryptParameters.calibrated`).
        public init(_ password: [UInt8], kdf: ScryptParameters = .calibrated()) {
            self.password = password
            self.kdf = kdf
        }
    }

    /// One key file, as `kura key list` shows it.
    public struct KeyDescription: Encodable, Sendable {
        public var id: String
        /// Whether this key opened the repository in this process.
        public var current: Bool
        public var created: String?
        public var host: String?
        public var username: String?
        public var kdf: ScryptParameters?
        /// Why the file cannot be used, when it cannot.
        public var damage: String?
    }

    /// The unlocked master key and the key file it came from (nil with the paper key), for an
    /// encrypted repository; nil for a plain one. `hintFile` remembers (in the local cache) which
    /// key opened the repository last, so that the right password costs one scrypt, not one per key.
    static func unlock(_ store: ObjectStore, config: RepositoryConfig, credentials: Credentials?, location: String,
                       hintFile: String) throws -> (id: String, masterKey: MasterKey)? {
        guard config.isEncrypted else {
            // A plain config beside key files was put there: writing plaintext into an encrypted
            // repository would give its content away.
            guard try store.list("keys").isEmpty else {
                throw KuraError.unsupportedFormat("\(location) holds key files but its config says it is not encrypted: the config was replaced; put back the original (any copy of the repository has it)")
            }
            return nil
        }
        switch credentials {
        case nil:
            throw KuraError.noPassword(choices: PasswordSource.choices)
        case .masterKey(let key):
            guard key.check(repositoryID: config.id) == config.keyCheck else {
                throw KuraError.invalidArgument("that master key is not the key of \(location)")
            }
            return (id: "", masterKey: key)
        case .password(let provider):
            var names = try store.list("keys").filter { $0.utf8.count == 64 && Hex.isHex($0) }.sorted()
            let hint = (try? FileSystem.readFile(hintFile, limit: 128)).map { String(decoding: $0, as: UTF8.self) }
            if let hint, let first = names.firstIndex(of: hint) {
                names.insert(names.remove(at: first), at: 0)
            }
            let files = names.compactMap { name in (try? readKeyFile(store, name)).map { (name, $0) } }
            guard !files.isEmpty else { throw KuraError.noKeyFiles(location: location, damaged: names.count) }
            let password = try provider()
            for (name, file) in files {
                guard let key = try file.unwrap(password: password, repositoryID: config.id),
                      key.check(repositoryID: config.id) == config.keyCheck else { continue }
                // Rewritten only when another key opened it: two fsyncs saved on every command.
                guard name != hint else { return (id: name, masterKey: key) }
                try? FileSystem.makeDirectories(FileSystem.parent(of: hintFile))
                try? FileSystem.writeAtomically(Array(name.utf8), to: hintFile, temporaryDirectory: FileSystem.parent(of: hintFile),
                                                mode: FilePermissions.ownerOnly.file)
                return (id: name, masterKey: key)
            }
            throw KuraError.wrongPassword(tried: files.count, damaged: names.count - files.count)
        }
    }

    /// Reads and checks a key file: its name must be the SHA-256 of its bytes.
    private static func readKeyFile(_ store: ObjectStore, _ name: String) throws -> KeyFile {
        let bytes = try store.read(RepositoryLayout.keyName(name), limit: KeyFile.maxFileSize)
        guard SHA256Hasher.hash(bytes).hex == name else { throw KuraError.unsupportedFormat("key file \(name.prefix(8)) does not match its name") }
        return try KeyFile.decode(bytes)
    }

    /// Every key file, damaged ones included (with what is wrong).
    public func keys() throws -> [KeyDescription] {
        try requireEncrypted()
        return try store.list("keys").sorted().map { name in
            do {
                let file = try Self.readKeyFile(store, name)
                return KeyDescription(id: name, current: name == unlockedKey?.id, created: file.created, host: file.host,
                                      username: file.username, kdf: file.kdf)
            } catch {
                return KeyDescription(id: name, current: false, damage: "\(error)")
            }
        }
    }

    /// Adds a key file holding the master key under `password`; returns its id.
    @discardableResult
    public func addKey(_ password: NewPassword) throws -> String {
        let masterKey = try requireEncrypted()
        let bytes = try KeyFile.wrap(masterKey, password: password.password, kdf: password.kdf, repositoryID: config.id).encoded()
        let id = SHA256Hasher.hash(bytes).hex
        try store.write(bytes, as: RepositoryLayout.keyName(id))
        return id
    }

    /// Removes the key file whose id starts with `reference` (8 hex digits or more); refuses the
    /// key in use and the last key. Returns the full id.
    @discardableResult
    public func removeKey(_ reference: String) throws -> String {
        try requireEncrypted()
        let names = try store.list("keys")
        let matches = names.filter { $0.hasPrefix(reference.lowercased()) }
        guard reference.utf8.count >= 4, matches.count == 1, let id = matches.first else {
            throw KuraError.invalidArgument(matches.count > 1 ? "key '\(reference)' is ambiguous: give more digits (kura key list)"
                                                              : "no key '\(reference)' in \(path): see kura key list")
        }
        guard id != unlockedKey?.id else {
            throw KuraError.invalidArgument("key \(id.prefix(8)) is the one in use: open the repository with another key to remove it, or use 'kura key passwd'")
        }
        let usable = try keys().filter { $0.damage == nil && $0.id != id }
        guard !usable.isEmpty else { throw KuraError.invalidArgument("key \(id.prefix(8)) is the last key: add another first (kura key add)") }
        try store.delete([RepositoryLayout.keyName(id)])
        return id
    }

    /// Replaces the key in use by a new key file under `password` (written before the old one is
    /// removed); returns the new id.
    @discardableResult
    public func changePassword(_ password: NewPassword) throws -> String {
        try requireEncrypted()
        let id = try addKey(password)
        if let old = unlockedKey?.id, !old.isEmpty { try store.delete([RepositoryLayout.keyName(old)]) }
        return id
    }

    /// The master key's paper form (`KURA-MASTER-KEY-1…`).
    public func paperKey() throws -> String {
        try requireEncrypted().paperText
    }

    @discardableResult
    private func requireEncrypted() throws -> MasterKey {
        guard let masterKey = unlockedKey?.masterKey else {
            throw KuraError.invalidArgument("\(path) is not encrypted: it has no keys (kura init makes encrypted repositories unless --no-encryption)")
        }
        return masterKey
    }
}
