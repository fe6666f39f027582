import Foundation
import Testing
import KuraTestSupport

/// `kura export --encrypt-to` / `--encrypt-passphrase`: a `.tar.gz.age` that Debian's `age` opens,
/// and that `kura restore`, `verify` and `import` take with `--identity` or a passphrase.
@Suite(.enabled(if: Program.isInstalled("age") && Program.isInstalled("age-keygen"), "Debian's age is not installed: run tools/test"))
struct EncryptedArchiveTests {
    typealias Sandbox = CLISandbox

    func keygen(_ box: Sandbox, _ name: String) throws -> (file: String, recipient: String) {
        (box.root + "/" + name, try Program.ageKeygen(box.root + "/" + name))
    }

    @Test func anEncryptedExportOpensWithAgeAndWithKura() throws {
        let box = try Sandbox()
        try Sandbox.addFiles(box.media + "/receipts", count: 5, seed: 31)
        let database = try box.siteDatabase()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media, "--database", database).status == 0)
        let (key, recipient) = try keygen(box, "key.txt")
        let (otherKey, _) = try keygen(box, "other.txt")
        let export = try box.kura("export", "latest", "--output", box.root + "/exports", "--encrypt-to", recipient)
        #expect(export.status == 0, "\(export.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports")
        let archive = box.root + "/exports/" + (try #require(files.first { $0.hasSuffix(".tar.gz.age") }))
        #expect(!files.contains { $0.hasSuffix(".tar.gz") }, "no plaintext archive beside it")
        // The JSON: plaintext, the documented keys, naming the .age file and its hash.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: String(archive.dropLast(".tar.gz.age".count)) + ".json"))) as? [String: Any])
        #expect(json["backup_file"] as? String == FileManager.default.displayName(atPath: archive))
        #expect(json["encryption"] as? String == "age")
        #expect(json["type"] as? String == "COMPLETE" && json["status"] as? String == "completed")
        let sha = try Program.run("/usr/bin/sha256sum", [archive])
        #expect(String(decoding: sha.stdout, as: UTF8.self).hasPrefix(try #require(json["hash"] as? String)))
        // Nothing but age and tar: the members list.
        let listed = try Program.sh("age -d -i \"$0\" \"$1\" | tar -tz", key, archive)
        #expect(listed.status == 0, "\(listed.stderr)")
        let names = String(decoding: listed.stdout, as: UTF8.self)
        #expect(names.contains("database_site.sqlite3") && names.contains("media/receipts/file31-0.jpg"), "\(names)")
        // Kura: verify, restore, import with the identity.
        let verify = try box.kura("verify", archive, "--identity", key)
        #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        let restore = try box.kura("restore", archive, "--target", box.root + "/out", "--identity", key)
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.contents(atPath: box.root + "/out/media/receipts/file31-2.jpg")
                == FileManager.default.contents(atPath: box.media + "/receipts/file31-2.jpg"))
        let otherRepository = ["KURA_REPO": box.root + "/other-repo"]
        #expect(try box.run(["init"], environment: otherRepository).status == 0)
        let imported = try box.run(["import", archive, "--identity", key], environment: otherRepository)
        #expect(imported.status == 0, "\(imported.stderr)")
        // The wrong key: exit 12, one line; no key at all: exit 2 naming the choices.
        let wrong = try box.kura("restore", archive, "--target", box.root + "/out2", "--identity", otherKey)
        #expect(wrong.status == 12 && wrong.stderr.contains("wrong password or no key matches"), "\(wrong.status) \(wrong.stderr)")
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        // No key at all: restore says how to give one (exit 2); verify checks the hash only.
        let noPassword = ["KURA_PASSWORD_FILE": ""]
        let none = try box.run(["restore", archive, "--target", box.root + "/out3"], environment: noPassword)
        #expect(none.status == 2 && none.stderr.contains("--identity FILE"), "\(none.status) \(none.stderr)")
        // The repository's password (in the sandbox's KURA_PASSWORD_FILE) is not tried on an
        // archive made for a key: the same answer, not "wrong password".
        let withRepositoryPassword = try box.kura("restore", archive, "--target", box.root + "/out4")
        #expect(withRepositoryPassword.status == 2, "\(withRepositoryPassword.stderr)")
        let hashOnly = try box.run(["verify", archive], environment: noPassword)
        #expect(hashOnly.status == 0 && hashOnly.stdout.contains("content was not checked"), "\(hashOnly.stdout) \(hashOnly.stderr)")
        var bytes = try #require(FileManager.default.contents(atPath: archive))
        bytes[bytes.count - 100] ^= 1
        try bytes.write(to: URL(fileURLWithPath: archive))
        #expect(try box.run(["verify", archive], environment: noPassword).status == 12)
    }

    @Test func aPassphraseExportOpensWithThePasswordFile() throws {
        let box = try Sandbox()
        try Sandbox.addFiles(box.media + "/photos", count: 3, seed: 32)
        // A plain repository: the password sources then give the archive's passphrase alone.
        #expect(try box.kura("init", "--no-encryption").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let passwordFile = box.root + "/password"
        FileManager.default.createFile(atPath: passwordFile, contents: Data("a long passphrase\n".utf8), attributes: [.posixPermissions: 0o600])
        let export = try box.run(["export", "latest", "--output", box.root + "/exports", "--encrypt-passphrase"],
                                 environment: ["KURA_PASSWORD_FILE": passwordFile])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(!export.stderr.contains("a long passphrase") && !export.stdout.contains("a long passphrase"))
        let archive = box.root + "/exports/" + (try #require(try FileManager.default.contentsOfDirectory(atPath: box.root + "/exports").first { $0.hasSuffix(".age") }))
        let restore = try box.kura("restore", archive, "--target", box.root + "/out", "--password-file", passwordFile)
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(FileManager.default.contents(atPath: box.root + "/out/media/photos/file32-1.jpg")
                == FileManager.default.contents(atPath: box.media + "/photos/file32-1.jpg"))
        // Another passphrase: exit 12; a password file others can read: a warning, then it goes on.
        let other = box.root + "/other-password"
        FileManager.default.createFile(atPath: other, contents: Data("not it\n".utf8), attributes: [.posixPermissions: 0o644])
        let wrong = try box.kura("verify", archive, "--password-file", other)
        #expect(wrong.status == 12 && wrong.stdout.contains("wrong password or no key matches"), "\(wrong.status) \(wrong.stdout) \(wrong.stderr)")
        #expect(wrong.stderr.contains("can be read by other users"), "\(wrong.stderr)")
        #expect(try box.kura("export", "latest", "--output", box.root + "/x", "--encrypt-passphrase", "--encrypt-to", "age1x").status == 2)
    }
}
