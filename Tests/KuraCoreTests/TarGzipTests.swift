import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// The archive's gzip writer and reader and the tar reader on their own, against GNU tar and gzip.
@Suite struct TarGzipTests {
    @Test func gzipWriterOutputIsReadByGzipAndByGzipReader() throws {
        let scratch = Scratch()
        let text = Array(String(repeating: "reçu de paiement 2026, ", count: 200_000).utf8)
        let noise = randomBytes(3 << 20, seed: 11)
        var output: [UInt8] = []
        let writer = try GzipWriter(level: 2) { output.append(contentsOf: $0) }
        // Segments of several settings (a pg_dump's filtered, tuned one among them) and
        // incompressible ones (deflate stored blocks), interleaved.
        try writer.write(text)
        try noise.withUnsafeBytes { try writer.write($0, as: .stored) }
        try text.prefix(1000).withUnsafeBytes { try writer.write($0, as: .level(6)) }
        try text.withUnsafeBytes { try writer.write($0, as: .dumpText) }
        try writer.finish()
        let expected = text + noise + Array(text.prefix(1000)) + text
        #expect(output.count < expected.count && output.count > noise.count, "text shrinks, noise does not: \(output.count)")
        let path = scratch.sub("out.gz")
        try write(output, to: path)
        // GNU gzip agrees...
        let gunzip = try Subprocess.run("/usr/bin/env", ["sh", "-c", "gzip -dc '\(path)' | sha256sum"])
        #expect(gunzip.stdout.hasPrefix(SHA256Hasher.hash(expected).hex), "\(gunzip.stdout) \(gunzip.stderr)")
        // ...and so does Kura's reader.
        let reader = try GzipReader(path: path)
        var read: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 100_000)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if got == 0 { break }
            read += buffer[0..<got]
        }
        #expect(read == expected)
    }

    @Test func aSinkThatFailsEndsTheStreamWithItsError() throws {
        struct Full: Error, Equatable {}
        var received = 0, callsAfterFailure = 0, failed = false
        let writer = try GzipWriter(level: 2) { bytes in
            if failed { callsAfterFailure += 1 }
            if received + bytes.count > 3 << 20 { failed = true; throw Full() }
            received += bytes.count
        }
        let noise = randomBytes(1 << 20, seed: 5)
        var thrown: Error?
        do {
            // Far more than the ring holds: the error must come back to a `write`, not only `finish`.
            for _ in 0..<64 { try noise.withUnsafeBytes { try writer.write($0, as: .stored) } }
            try writer.finish()
        } catch {
            thrown = error
        }
        #expect(thrown as? Full == Full())
        #expect(callsAfterFailure == 0, "nothing is written after the sink failed")
        writer.abandon()
    }

    @Test func tarReaderReadsWhatGnuTarWrites() throws {
        let scratch = Scratch()
        let root = scratch.sub("tree")
        let longName = "media/" + String(repeating: "dossier-très-long/", count: 8) + "reçu.pdf"
        try write(randomBytes(70_000, seed: 4), to: root + "/" + longName)
        try write(Array("photo".utf8), to: root + "/media/photo.jpg")
        try FileManager.default.createSymbolicLink(atPath: root + "/media/latest.jpg", withDestinationPath: "photo.jpg")
        chmod(root + "/media/photo.jpg", 0o640)
        let archive = scratch.sub("gnu.tar.gz")
        let tar = try Subprocess.run("/usr/bin/env", ["tar", "-czf", archive, "-C", root, "--sort=name", "media"])
        #expect(tar.status == 0, "\(tar.stderr)")
        var members: [String: TarMember] = [:]
        var contents: [String: [UInt8]] = [:]
        try TarReader(path: archive).forEachMember { member, content in
            members[member.path] = member
            var bytes: [UInt8] = []
            try content { bytes += $0 }
            contents[member.path] = bytes
        }
        #expect(members[longName]?.kind == .file && members[longName]?.size == 70_000)
        #expect(contents[longName] == randomBytes(70_000, seed: 4))
        #expect(members["media/photo.jpg"]?.mode == 0o640)
        #expect(members["media/latest.jpg"]?.kind == .symlink(target: "photo.jpg"))
        #expect(members["media"]?.kind == .directory)

        // Cut short: a typed refusal, not a partial listing.
        let bytes = try read(archive)
        let cut = scratch.sub("cut.tar.gz")
        try write(Array(bytes.prefix(bytes.count - 40)), to: cut)
        let error = kuraError { try TarReader(path: cut).forEachMember { _, content in try content { _ in } } }
        #expect(error == .integrity(.archive(path: cut, .gzipTruncated)), "\(String(describing: error))")
    }
}
