import Foundation
import GRDB

/// `kura verify ARCHIVE.tar.gz`: the hash against the JSON, gzip integrity, tar structure, every
/// member's path, and the dump readable (`pg_restore --list`, or SQLite's `integrity_check`). An
/// encrypted archive (`.tar.gz.age`) without `identities` gets the hash check only: a host that
/// exports to an offline key can still check what it wrote.
public enum ArchiveVerifier {
    /// One line per finding; empty when the archive is sound.
    public static func verify(_ path: String, identities: [AgeIdentity] = [],
                              temporaryDirectory: String = NSTemporaryDirectory()) -> [String] {
        let archive = ArchiveFile(path: path, identities: identities)
        var findings: [String] = []
        do {
            if try archive.checkHash() == .missingManifest {
                findings.append("no \(FileSystem.name(of: archive.manifestPath)) beside the archive: its hash cannot be checked")
            }
        } catch {
            findings.append("\(error)")
        }
        if archive.isEncrypted && identities.isEmpty { return findings }
        let members: [TarMember]
        do {
            members = try archive.scan()
        } catch {
            findings.append("\(error)")
            return findings
        }
        if !members.contains(where: { $0.path == "media" || $0.path.hasPrefix("media/") }) && ArchiveFile.dumpMember(members) == nil {
            findings.append("\(path) holds neither a database dump nor media/")
        }
        if let dump = ArchiveFile.dumpMember(members) {
            let file = temporaryDirectory + "/kura-verify-" + FileSystem.randomName()
            defer { unlink(file) }
            do {
                let fd = try FileSystem.createFile(file)
                defer { close(fd) }
                try ArchiveRestorer(path: path, identities: identities).readDump { try FileSystem.writeFully(fd, $0, path: file) }
                if dump.path.hasSuffix(".sqlite3") {
                    var configuration = Configuration()
                    configuration.readonly = true
                    _ = try SQLiteCopier.check(try DatabaseQueue(path: file, configuration: configuration), label: dump.path)
                } else {
                    let tools = try PostgresTools.find(forServerVersion: 0)
                    let list = try Subprocess.run(tools.pgRestore, ["--list", file], captureOutput: false)
                    if list.status != 0 { findings.append("\(dump.path) is not readable by pg_restore: \(list.stderr)") }
                }
            } catch {
                findings.append("\(dump.path): \(error)")
            }
        }
        return findings
    }
}
