import Foundation
import Testing
import KuraTestSupport

/// `kura init` (encrypted by default), the password sources and `kura key …`, as a user runs them.
@Suite struct EncryptedRepositoryCLITests {
    typealias Sandbox = CLISandbox
    static let noPassword = ["KURA_PASSWORD_FILE": ""]

    func file(_ box: Sandbox, _ name: String, _ text: String, mode: Int = 0o600) -> String {
        let path = box.root + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
        return path
    }

    @Test func initIsEncryptedByDefaultAndNeedsAPassword() throws {
        let box = try Sandbox()
        let none = try box.run(["init"], environment: Self.noPassword)
        #expect(none.status == 2 && none.stderr.split(separator: "\n").count == 1, "\(none.status) \(none.stderr)")
        #expect(none.stderr.contains("--password-file FILE, KURA_PASSWORD_FILE, --password-command CMD, KURA_PASSWORD"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: box.repo + "/config"))

        let created = try box.kura("init", "--json")
        #expect(created.status == 0, "\(created.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: created.stdoutBytes) as? [String: String])
        #expect(json["encryption"] == "aes-256-gcm" && json["kdf"]?.hasPrefix("scrypt N=2^") == true, "\(json)")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: box.repo + "/config"))) as? [String: Any])
        #expect(config["version"] as? Int == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.repo + "/keys").count == 1)

        let plain = try box.run(["init", "--no-encryption", "--repo", box.root + "/plain"], environment: Self.noPassword)
        #expect(plain.status == 0 && plain.stdout.contains("not encrypted"), "\(plain.stdout) \(plain.stderr)")
        #expect(try box.run(["snapshots", "--repo", box.root + "/plain"], environment: Self.noPassword).status == 0)
    }

    @Test func everyPasswordSourceOpensItAndAWrongOneIsExit12() throws {
        let box = try Sandbox()
        try Sandbox.addFiles(box.media + "/photos", count: 2, seed: 41)
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let password = "correct horse battery staple"
        #expect(try box.run(["snapshots", "--password-command", "cat '\(box.passwordFile)'"], environment: Self.noPassword).status == 0)
        #expect(try box.run(["snapshots"], environment: ["KURA_PASSWORD_FILE": "", "KURA_PASSWORD": password]).status == 0)
        let open = file(box, "open-password", password + "\n", mode: 0o644)
        let warned = try box.run(["snapshots", "--password-file", open], environment: Self.noPassword)
        #expect(warned.status == 0 && warned.stderr.contains("can be read by other users"), "\(warned.stderr)")

        let wrong = try box.run(["snapshots", "--password-file", file(box, "wrong", "Tr0ub4dor&3\n")], environment: Self.noPassword)
        #expect(wrong.status == 12 && wrong.stderr.contains("wrong password or no key matches (tried 1 key)"), "\(wrong.status) \(wrong.stderr)")
        #expect(wrong.stderr.split(separator: "\n").count == 1)
        let none = try box.run(["snapshots"], environment: Self.noPassword)
        #expect(none.status == 2, "\(none.stderr)")
        // Nothing of the password on any output.
        for run in [warned, wrong, none] { #expect(!(run.stdout + run.stderr).contains(password)) }
    }

    @Test func keysAreAddedChangedRemovedAndThePaperKeyGetsBackIn() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        let second = file(box, "second", "second password\n")
        let added = try box.kura("key", "add", "--new-password-file", second)
        #expect(added.status == 0 && added.stdout.hasPrefix("added key "), "\(added.stderr)")
        let listed = try box.kura("key", "list", "--json")
        let keys = try #require(try JSONSerialization.jsonObject(with: listed.stdoutBytes) as? [[String: Any]])
        #expect(keys.count == 2 && keys.filter { $0["current"] as? Bool == true }.count == 1)
        #expect(try box.run(["snapshots", "--password-file", second], environment: Self.noPassword).status == 0)

        // passwd replaces the key in use; then the old password fails.
        let third = file(box, "third", "third password\n")
        #expect(try box.run(["key", "passwd", "--password-file", second, "--new-password-file", third], environment: Self.noPassword).status == 0)
        #expect(try box.run(["snapshots", "--password-file", second], environment: Self.noPassword).status == 12)
        let inUse = try box.kura("key", "list")
        #expect(inUse.stdout.contains("2 key(s)"), "\(inUse.stdout)")

        // The key in use cannot be removed; another one can; the last one cannot.
        let current = String(try #require(keys.first { $0["current"] as? Bool == true }?["id"] as? String).prefix(8))
        let refused = try box.kura("key", "remove", current)
        #expect(refused.status == 1 && refused.stderr.contains("in use"), "\(refused.stderr)")
        #expect(try box.run(["key", "remove", current, "--password-file", third], environment: Self.noPassword).status == 0)
        let last = try box.run(["key", "remove", current, "--password-file", third], environment: Self.noPassword)
        #expect(last.status == 1, "\(last.stderr)")

        // Every password lost: the paper key adds a new one.
        #expect(try box.kura("key", "export").status == 2, "--paper is required")
        let paper = try box.run(["key", "export", "--paper", "--password-file", third], environment: Self.noPassword)
        #expect(paper.status == 0 && paper.stdout.contains("KURA-MASTER-KEY-1"), "\(paper.stderr)")
        let paperFile = file(box, "paper.txt", paper.stdout)
        let fresh = file(box, "fresh", "after the loss\n")
        let recovered = try box.run(["key", "add", "--from-paper", paperFile, "--new-password-file", fresh], environment: Self.noPassword)
        #expect(recovered.status == 0, "\(recovered.stderr)")
        #expect(try box.run(["restore", "latest", "--target", box.root + "/out", "--password-file", fresh], environment: Self.noPassword).status == 0)
        #expect(FileManager.default.contents(atPath: box.root + "/out/media/photo.jpg") == Data("photo".utf8))
    }

    @Test func copyToAnEncryptedDestinationUsesItsOwnPassword() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        let other = file(box, "other", "the offsite password\n")
        let destination = box.root + "/offsite"
        #expect(try box.run(["init", "--repo", destination, "--password-file", other], environment: Self.noPassword).status == 0)
        let backup = try box.kura("backup", "--media", box.media, "--copy-to", destination, "--to-password-file", other)
        #expect(backup.status == 0 && backup.stdout.contains("copied 1 snapshot(s)"), "\(backup.stdout) \(backup.stderr)")
        let again = try box.kura("copy", "--to", destination, "--to-password-file", other)
        #expect(again.status == 0 && again.stdout.contains("1 already there"), "\(again.stdout) \(again.stderr)")
        let wrong = try box.kura("copy", "--to", destination)
        #expect(wrong.status == 12, "the source's password does not open the destination: \(wrong.stderr)")
        let restored = try box.run(["restore", "latest", "--repo", destination, "--target", box.root + "/out", "--password-file", other],
                                   environment: Self.noPassword)
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(FileManager.default.contents(atPath: box.root + "/out/media/receipts/reçu été.pdf") == Data("reçu".utf8))
    }
}
