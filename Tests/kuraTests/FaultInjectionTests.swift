import Foundation
import Testing
import KuraTestSupport

/// Backups through `tools/lib/fault_proxy.py`, a loopback proxy between Kura and SeaweedFS that
/// answers 503 SlowDown, resets connections, truncates responses, trickles them, or plays a
/// server restarting: each fault is retried to success; a server that keeps failing ends the
/// backup with one line naming the object and the status, and leaves a repository that verifies.
@Suite(.enabled(if: TestBackend.s3.isAvailable, "KURA_TEST_S3 is not set: run tools/test, which starts SeaweedFS"))
struct FaultInjectionTests {
    typealias Sandbox = CLISandbox

    /// A running proxy and the `s3:` repository URL that goes through it. Started in the
    /// background by a shell, not as a Foundation `Process`: Foundation's child reaper would wait
    /// on this long-lived child and stop noticing other children's exits.
    final class Proxy {
        let pid: pid_t
        let port: String

        init(mode: String, every: Int, seconds: Double = 3) throws {
            let upstream = (TestBackend.s3Endpoint?.url ?? "").replacingOccurrences(of: "http://", with: "")
            var folder = URL(fileURLWithPath: #filePath)
            while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("tools/lib/fault_proxy.py").path) && folder.path != "/" {
                folder.deleteLastPathComponent()
            }
            let portFile = NSTemporaryDirectory() + "kura-proxy-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: portFile) }
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", "python3 \"$0\" --upstream \"$1\" --mode \"$2\" --every \"$3\" --seconds \"$4\" >\"$5\" 2>/dev/null </dev/null & echo $!",
                               folder.appendingPathComponent("tools/lib/fault_proxy.py").path, upstream, mode, String(every), String(seconds), portFile]
            let output = Pipe()
            shell.standardOutput = output
            try shell.run()
            let started = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            shell.waitUntilExit()
            pid = pid_t(started.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            var text = ""
            for _ in 0..<100 where !text.hasSuffix("\n") {
                usleep(50_000)
                text = (try? String(contentsOfFile: portFile, encoding: .utf8)) ?? ""
            }
            port = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit { if pid > 0 { kill(pid, SIGKILL) } }

        func repository(_ path: String) -> String { "s3:http://127.0.0.1:\(port)/\(TestBackend.s3Endpoint?.bucket ?? "")/\(path)" }
    }

    static func direct(_ path: String) -> String { "s3:\(TestBackend.s3Endpoint?.url ?? "")/\(TestBackend.s3Endpoint?.bucket ?? "")/\(path)" }

    @Test(arguments: [("status", 3), ("reset", 4), ("truncate", 5), ("slow", 2), ("down", 6)])
    func transientFaultsAreRiddenOut(_ mode: String, _ every: Int) throws {
        let path = "faults/\(mode)-\(UUID().uuidString.prefix(8))"
        let box = try Sandbox(repository: Self.direct(path), environment: TestBackend.s3Credentials("ADMIN"))
        try Sandbox.addFiles(box.media + "/photos", count: 8, seed: 77)
        #expect(try box.kura("init", "--pack-size", "1").status == 0)
        let proxy = try Proxy(mode: mode, every: every)
        let through = ["--repo", proxy.repository(path)]
        let backup = try box.run(["backup", "--media", box.media] + through)
        #expect(backup.status == 0, "\(mode): \(backup.stderr)")
        let restore = try box.run(["restore", "latest", "--target", box.root + "/out"] + through)
        #expect(restore.status == 0, "\(mode): \(restore.stderr)")
        #expect(FileManager.default.contents(atPath: box.root + "/out/media/photos/file77-3.jpg")
                == FileManager.default.contents(atPath: box.media + "/photos/file77-3.jpg"))
        #expect(try box.kura("verify", "--read-data").status == 0)
    }

    @Test func aServerThatKeepsFailingEndsTheBackupWithOneLineAndARepositoryThatWorks() throws {
        let path = "faults/always-\(UUID().uuidString.prefix(8))"
        let box = try Sandbox(repository: Self.direct(path), environment: TestBackend.s3Credentials("ADMIN"))
        try Sandbox.addFiles(box.media + "/photos", count: 8, seed: 78)
        #expect(try box.kura("init", "--pack-size", "1").status == 0)
        // From the 6th request on (config, lock, listings, the first uploads done), every answer is 500.
        let proxy = try Proxy(mode: "always", every: 6)
        let failed = try box.run(["backup", "--media", box.media, "--repo", proxy.repository(path)], environment: ["KURA_RETRIES": "3"])
        #expect(failed.status == 1, "\(failed.stderr)")
        let lines = failed.stderr.split(separator: "\n").filter { !$0.hasPrefix("kura: ") || $0.contains("error") }
        #expect(lines.count == 1 && failed.stderr.contains("HTTP 500 InternalError"), "\(failed.stderr)")
        // The next run, straight to the server, finds a repository as if nothing happened.
        #expect(try box.kura("verify").status == 0)
        let again = try box.kura("backup", "--media", box.media)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try box.kura("verify", "--read-data").status == 0)
    }
}
