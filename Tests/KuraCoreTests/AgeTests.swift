import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The age format (age-encryption.org/v1), checked against Debian's `age` both ways, and every
/// way an age file can be wrong.
@Suite(.enabled(if: Program.isInstalled("age") && Program.isInstalled("age-keygen"), "Debian's age is not installed: run tools/test"))
struct AgeTests {
    /// A key pair made by `age-keygen`: the identity file and its recipient.
    static func keygen(_ scratch: Scratch, _ name: String = "key.txt") throws -> (file: String, recipient: String) {
        (scratch.sub(name), try Program.ageKeygen(scratch.sub(name)))
    }

    static func encrypt(_ plain: [UInt8], to recipients: [AgeRecipient], scryptLogN: Int = 10) throws -> [UInt8] {
        var sealed: [UInt8] = []
        let encryptor = try AgeEncryptor(recipients: recipients, scryptLogN: scryptLogN) { sealed += $0 }
        // In uneven pieces, so chunk boundaries fall inside writes.
        var offset = 0
        while offset < plain.count {
            let count = min(plain.count - offset, 1 + offset % 50_000)
            try plain[offset..<(offset + count)].withUnsafeBytes { try encryptor.write($0) }
            offset += count
        }
        try encryptor.finish()
        return sealed
    }

    static func decrypt(_ path: String, _ identities: [AgeIdentity]) throws -> [UInt8] {
        let decryptor = try AgeDecryptor(source: try FileByteSource(path: path), path: path, identities: identities)
        var plain: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 10_000)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try decryptor.read(into: $0) }
            if got == 0 { return plain }
            plain += buffer[0..<got]
        }
    }

    static let sizes = [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 200_000]

    @Test func keysFromAgeKeygenParseAndTheirPublicKeyMatches() throws {
        let scratch = Scratch()
        let (file, recipient) = try Self.keygen(scratch)
        guard case .x25519(let secret) = try #require(try AgeIdentity.load(file: file).first),
              case .x25519(let publicKey) = try AgeRecipient(parsing: recipient) else { Issue.record("not X25519 keys"); return }
        #expect(Primitives.x25519PublicKey(of: secret) == publicKey)
        #expect(Bech32.encode(hrp: "age", publicKey) == recipient)
        // A changed character breaks the checksum; other prefixes and lengths are refused.
        let broken = String(recipient.dropLast()) + (recipient.hasSuffix("q") ? "p" : "q")
        #expect(throws: KuraError.self) { try AgeRecipient(parsing: broken) }
        #expect(throws: KuraError.self) { try AgeRecipient(parsing: "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq") }
        let generated = AgeIdentity.generate()
        #expect(generated.identity.hasPrefix("AGE-SECRET-KEY-1") && generated.recipient.hasPrefix("age1"))
    }

    @Test func whatKuraEncryptsAgeDecrypts() throws {
        let scratch = Scratch()
        let (key, recipient) = try Self.keygen(scratch)
        let (_, other) = try Self.keygen(scratch, "other.txt")
        for size in Self.sizes {
            let plain = randomBytes(size, seed: UInt64(size) + 1)
            let sealed = try Self.encrypt(plain, to: [try AgeRecipient(parsing: other), try AgeRecipient(parsing: recipient)])
            try write(sealed, to: scratch.sub("f.age"))
            let opened = try Program.run("/usr/bin/age", ["-d", "-i", key, scratch.sub("f.age")])
            #expect(opened.status == 0, "\(size): \(opened.stderr)")
            #expect([UInt8](opened.stdout) == plain, "\(size) bytes")
        }
    }

    @Test func whatAgeEncryptsKuraDecrypts() throws {
        let scratch = Scratch()
        let (key, recipient) = try Self.keygen(scratch)
        let (_, other) = try Self.keygen(scratch, "other.txt")
        for size in Self.sizes {
            let plain = randomBytes(size, seed: UInt64(size) + 7)
            try write(plain, to: scratch.sub("plain"))
            let sealed = try Program.run("/usr/bin/age", ["-r", other, "-r", recipient, "-o", scratch.sub("f.age"), scratch.sub("plain")])
            #expect(sealed.status == 0, "\(sealed.stderr)")
            #expect(try Self.decrypt(scratch.sub("f.age"), try AgeIdentity.load(file: key)) == plain, "\(size) bytes")
        }
    }

    @Test func aPassphraseOpensWhatItSealedAndNothingElseDoes() throws {
        let scratch = Scratch()
        let plain = randomBytes(100_000, seed: 3)
        try write(try Self.encrypt(plain, to: [.passphrase(Array("correct horse".utf8))]), to: scratch.sub("p.age"))
        #expect(try Self.decrypt(scratch.sub("p.age"), [.passphrase(Array("correct horse".utf8))]) == plain)
        let wrong = kuraError { _ = try Self.decrypt(scratch.sub("p.age"), [.passphrase(Array("wrong".utf8))]) }
        #expect(wrong == .integrity(.archive(path: scratch.sub("p.age"), .noMatchingKey)))
        #expect("\(wrong.map { "\($0)" } ?? "")".contains("wrong password or no key matches"))
        // A work factor above 2^20 (a hostile file asking for gigabytes) is refused before scrypt runs.
        var sealed = try read(scratch.sub("p.age"))
        let at = try #require((0..<200).first { Array(sealed[$0..<($0 + 4)]) == Array(" 10\n".utf8) })
        sealed.replaceSubrange((at + 1)..<(at + 3), with: Array("21".utf8))
        try write(sealed, to: scratch.sub("big.age"))
        let refused = kuraError { _ = try Self.decrypt(scratch.sub("big.age"), [.passphrase(Array("correct horse".utf8))]) }
        #expect(refused == .integrity(.archive(path: scratch.sub("big.age"), .notAge(reason: "its scrypt work factor 2^21 is above 2^20"))))
        // age's rule: a passphrase only alone.
        #expect(throws: KuraError.self) { _ = try Self.encrypt([], to: [.passphrase([1]), .x25519(publicKey: randomBytes(32, seed: 4))]) }
    }

    /// `tools/lib/age_with_passphrase.py`: age reads a passphrase only from a terminal.
    static let passphraseDriver: String = {
        var folder = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("tools/lib/age_with_passphrase.py").path) && folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("tools/lib/age_with_passphrase.py").path
    }()

    @Test func passphraseFilesGoBothWaysWithAge() throws {
        let scratch = Scratch()
        let passphrase = scratch.sub("passphrase")
        try write(Array("correct horse battery\n".utf8), to: passphrase)
        let plain = randomBytes(150_000, seed: 8)
        // Kura → age (a work factor age accepts; Kura's default is age's 2^18).
        try write(try Self.encrypt(plain, to: [.passphrase(Array("correct horse battery".utf8))], scryptLogN: 14), to: scratch.sub("k.age"))
        let opened = try Program.run("/usr/bin/env", ["python3", Self.passphraseDriver, passphrase, "-d", "-o", scratch.sub("k.out"), scratch.sub("k.age")])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(try read(scratch.sub("k.out")) == plain)
        // age → Kura (age's own work factor).
        try write(plain, to: scratch.sub("plain"))
        let sealed = try Program.run("/usr/bin/env", ["python3", Self.passphraseDriver, passphrase, "-p", "-o", scratch.sub("a.age"), scratch.sub("plain")])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        #expect(try Self.decrypt(scratch.sub("a.age"), [.passphrase(Array("correct horse battery".utf8))]) == plain)
    }

    @Test func everyDamageIsOneTypedError() throws {
        let scratch = Scratch()
        let (key, recipient) = try Self.keygen(scratch)
        let (otherKey, _) = try Self.keygen(scratch, "other.txt")
        let identities = try AgeIdentity.load(file: key)
        let plain = randomBytes(3 * 65_536 + 500, seed: 5)
        let sealed = try Self.encrypt(plain, to: [try AgeRecipient(parsing: recipient)])
        let headerEnd = try #require(sealed.indices.first { sealed[$0] == UInt8(ascii: "-") && sealed[$0 + 1] == UInt8(ascii: "-") && sealed[$0 + 2] == UInt8(ascii: "-") })
        let payload = try #require(sealed[headerEnd...].firstIndex(of: UInt8(ascii: "\n"))) + 1 + 16
        let path = scratch.sub("d.age")
        func failure(_ bytes: [UInt8], _ identities: [AgeIdentity]) throws -> ArchiveDamage? {
            try write(bytes, to: path)
            guard case .integrity(.archive(_, let damage))? = kuraError({ _ = try Self.decrypt(path, identities) }) else { return nil }
            return damage
        }
        var flipped = sealed
        flipped[payload + 70_000] ^= 1
        #expect(try failure(flipped, identities) == .ageDamaged)
        var header = sealed
        header[headerEnd + 5] = header[headerEnd + 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")  // in the MAC
        #expect(try failure(header, identities) == .ageHeaderDamaged)
        // Cut at a chunk boundary: every chunk authentic, the last one missing.
        #expect(try failure(Array(sealed.prefix(payload + 3 * (65_536 + 16))), identities) == .ageTruncated)
        #expect(try failure(Array(sealed.prefix(payload + 100_000)), identities) == .ageDamaged)
        #expect(try failure(Array(sealed.prefix(payload - 5)), identities) == .ageTruncated)
        #expect(try failure(Array(sealed.prefix(headerEnd)), identities) == .notAge(reason: "its header ends early"))
        #expect(try failure([], identities) == .notAge(reason: "it is empty"))
        #expect(try failure(Array("not age at all\n".utf8), identities) == .notAge(reason: "no age header"))
        #expect(try failure(sealed, try AgeIdentity.load(file: otherKey)) == .noMatchingKey)
        // A full last chunk followed by more bytes.
        let exact = try Self.encrypt(randomBytes(2 * 65_536, seed: 6), to: [try AgeRecipient(parsing: recipient)])
        #expect(try failure(exact + [1, 2, 3], identities) == .ageTrailingData)
    }
}
