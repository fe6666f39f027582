import Foundation
import Testing
import KuraTestSupport

/// `kura copy` and `kura backup --copy-to` between backends: only missing chunks are sent, ids
/// are kept, a killed copy is finished by the next run, and a round trip restores byte-identical.
@Suite struct CopyTests {
    typealias Sandbox = CLISandbox

    static func json(_ run: Sandbox.Run) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    /// The snapshots' times: the same in a copy (between encrypted repositories, the ids are not:
    /// a record sealed under another key has another hash).
    static func snapshotTimes(_ box: Sandbox, repo: String, environment: [String: String] = [:]) throws -> [String] {
        let run = try box.run(["snapshots", "--json", "--repo", repo], environment: environment)
        return ((try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["time"] as? String }
    }

    @Test(arguments: TestBackend.available.filter { $0 != .local })
    func killedCopyIsFinishedByTheNextRunAndARoundTripIsByteIdentical(_ backend: TestBackend) throws {
        let box = try Sandbox()
        let offsite = backend.repository(in: box.root)
        let env = backend.environment
        try Sandbox.addFiles(box.media + "/photos", count: 10, seed: 61)
        #expect(try box.kura("init", "--pack-size", "1").status == 0)
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        try Data("second night".utf8).write(to: URL(fileURLWithPath: box.media + "/receipts/night2.pdf"))
        #expect(try box.kura("backup", "--media", box.media).status == 0)
        #expect(try box.run(["init", "--repo", offsite], environment: env).status == 0)

        // Killed before each of its first durable steps (locks, packs, index files, records):
        // every time the destination stays a valid repository.
        var completed = false
        for step in 1...16 {
            let run = try box.run(["copy", "--to", offsite], environment: env.merging(["KURA_TEST_KILL_AT": String(step)]) { $1 })
            if run.status == 0 { completed = true; break }
            #expect(run.status == 9 || run.status == 137, "\(backend) step \(step): \(run.stderr)")
            let check = try box.run(["verify", "--repo", offsite], environment: env)
            #expect(check.status == 0, "\(backend) step \(step): \(check.stdout)\(check.stderr)")
        }
        if !completed {
            let finish = try box.run(["copy", "--to", offsite, "--json"], environment: env)
            #expect(finish.status == 0, "\(backend): \(finish.stderr)")
        }
        let times = try Self.snapshotTimes(box, repo: box.repo)
        let offsiteTimes = try Self.snapshotTimes(box, repo: offsite, environment: env)
        #expect(times.count == 2 && offsiteTimes == times)
        // Nothing is left to send.
        let again = Self.json(try box.run(["copy", "--to", offsite, "--json"], environment: env))
        #expect(again["chunks_sent"] as? Int == 0 && again["already_there"] as? Int == 2, "\(again)")

        // backup --copy-to: one command for the night, the new snapshot offsite too.
        try Data("third night".utf8).write(to: URL(fileURLWithPath: box.media + "/receipts/night3.pdf"))
        let night = try box.run(["backup", "--media", box.media, "--copy-to", offsite], environment: env)
        #expect(night.status == 0, "\(backend): \(night.stderr)")
        #expect(night.stdout.contains("copied 1 snapshot(s)"))

        // Offsite → a new local repository → restore: the same bytes.
        let back = box.root + "/back"
        #expect(try box.run(["init", "--repo", back], environment: env).status == 0)
        let home = try box.run(["copy", "--repo", offsite, "--to", back], environment: env)
        #expect(home.status == 0, "\(backend): \(home.stderr)")
        #expect(try box.run(["verify", "--read-data", "--repo", back]).status == 0)
        let restore = try box.run(["restore", "latest", "--repo", back, "--target", box.root + "/restored"])
        #expect(restore.status == 0, "\(restore.stderr)")
        for name in try FileManager.default.contentsOfDirectory(atPath: box.media + "/photos") {
            #expect(FileManager.default.contents(atPath: box.root + "/restored/media/photos/" + name)
                    == FileManager.default.contents(atPath: box.media + "/photos/" + name), "\(name)")
        }
        #expect(try String(contentsOfFile: box.root + "/restored/media/receipts/night3.pdf", encoding: .utf8) == "third night")
    }

    @Test func copyRefusesItselfAndAMissingDestination() throws {
        let box = try Sandbox()
        #expect(try box.kura("init").status == 0)
        #expect(try box.kura("copy", "--to", box.repo).status == 1)
        #expect(try box.kura("copy", "--to", box.root + "/nowhere").status == 10)
    }
}
