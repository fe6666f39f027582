import Foundation
@testable import KuraCore

/// One libFuzzer harness per parser of bytes Kura reads from outside the process. Each takes the
/// fuzzer's input and must end in a value or a thrown error — a trap, an out-of-bounds access
/// (AddressSanitizer), a leak or a hang is a finding. `KURA_FUZZ_HARNESS` picks the harness.
enum Harness: String, CaseIterable {
    case tar, gzip, packTrailer = "pack-trailer", indexFile = "index-file", snapshotRecord = "snapshot-record"
    case snapshotDatabase = "snapshot-database", archiveJSON = "archive-json", databaseURL = "database-url", pathPattern = "path-pattern"
    case age, keyFile = "key-file", config

    static let selected: Harness = {
        let name = ProcessInfo.processInfo.environment["KURA_FUZZ_HARNESS"] ?? ""
        guard let harness = Harness(rawValue: name) else {
            FileHandle.standardError.write(Data("KURA_FUZZ_HARNESS must be one of: \(allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return harness
    }()

    func run(_ bytes: UnsafeRawBufferPointer) {
        switch self {
        case .tar: Self.tar(bytes)
        case .gzip: Self.gzip(bytes)
        case .packTrailer: Self.packTrailer(bytes)
        case .indexFile: Self.indexFile(bytes)
        case .snapshotRecord: _ = try? JSONDecoder().decode(SnapshotRecord.self, from: Data(bytes))
        case .snapshotDatabase: Self.snapshotDatabase(bytes)
        case .archiveJSON: _ = try? ArchiveFile.expectedHash(json: Array(bytes), name: "fuzz.json")
        case .databaseURL: Self.databaseURL(bytes)
        case .pathPattern: Self.pathPattern(bytes)
        case .age: Self.age(bytes)
        case .keyFile: Self.keyFile(bytes)
        case .config: Self.config(bytes)
        }
    }

    // MARK: Harnesses

    /// The input is a tar stream. Every block that carries the ustar magic gets its checksum
    /// recomputed (else nearly every mutation of a header field would stop at "bad checksum"),
    /// the stream is wrapped in gzip as inside an archive, and every member is read to the end.
    static func tar(_ bytes: UnsafeRawBufferPointer) {
        var tar = Array(bytes)
        TarChecksum.fix(&tar)
        guard let file = tar.withUnsafeBytes({ Scratch.write(Gzip.compress($0)) }) else { return }
        guard let reader = try? TarReader(path: file) else { return }
        _ = try? reader.forEachMember { _, content in try content { _ in } }
    }

    /// The fuzzing key of the `age` corpus (a test key, public: it protects nothing).
    static let ageIdentity = "AGE-SECRET-KEY-17FX67EWXRDL544HSUTAK7GV2DH7LDSKMNYEYMDLHJN802823MDWS5LVJNQ"

    /// The input is an age file (the corpus: files encrypted to `ageIdentity`), decrypted to the
    /// end with that key (no passphrase: scrypt's cost is the file's to choose).
    static func age(_ bytes: UnsafeRawBufferPointer) {
        guard let file = Scratch.write(Array(bytes)), let (_, secret) = Bech32.decode(ageIdentity),
              let source = try? FileByteSource(path: file),
              let reader = try? AgeDecryptor(source: source, path: file, identities: [.x25519(secretKey: secret)]) else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while let got = try? reader.read(into: buffer), got > 0 {}
    }

    /// The input is a gzip file, read to the end.
    static func gzip(_ bytes: UnsafeRawBufferPointer) {
        guard let file = Scratch.write(Array(bytes)), let reader = try? GzipReader(path: file) else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { buffer.deallocate() }
        while let got = try? reader.read(into: buffer), got > 0 {}
    }

    /// The input is a whole pack. The footer's digest of the trailer is recomputed (else nearly
    /// every mutation of an entry would stop at "damaged trailer"), then the trailer is parsed and
    /// every entry's blob decoded.
    static func packTrailer(_ input: UnsafeRawBufferPointer) {
        var pack = Array(input)
        PackDigest.fix(&pack)
        pack.withUnsafeBytes { packTrailer(parsing: $0) }
    }

    /// The fuzzing key of sealed pack trailers (an encrypted repository's footer and lengths are
    /// read before anything opens; a mutation rarely keeps a tag valid).
    static let cipher = RepositoryCipher(masterKey: MasterKey(bytes: [UInt8](repeating: 7, count: 32))!)

    private static func packTrailer(parsing bytes: UnsafeRawBufferPointer) {
        let read: (Int64, Int) throws -> [UInt8] = { offset, count in Array(bytes[Int(offset)..<(Int(offset) + count)]) }
        _ = try? PackFormat.trailer(packSize: UInt64(bytes.count), name: "fuzz", cipher: cipher, read: read)
        guard let entries = try? PackFormat.trailer(packSize: UInt64(bytes.count), name: "fuzz", cipher: nil, read: read) else { return }
        let decompressor = ChunkDecompressor()
        for entry in entries.prefix(64) {
            let plain = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(entry.plainLength), alignment: 16)
            defer { plain.deallocate() }
            let start = Int(entry.offset), end = start + Int(entry.storedLength)
            _ = decompressor.decompress(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), codec: entry.codec, into: plain)
        }
    }

    /// The input is a key file (JSON): decoded and checked as opening a repository does, and
    /// unwrapped with a fixed password when its scrypt cost is small (a fuzzer-made 2^20 would
    /// take a second per run; the bounds check itself is what `decode` exercises).
    static func keyFile(_ bytes: UnsafeRawBufferPointer) {
        guard let file = try? KeyFile.decode(Array(bytes)), file.kdf.logN <= 12 else { return }
        _ = try? file.unwrap(password: Array("fuzz".utf8), repositoryID: "fuzz")
    }

    /// The input is an index file: decoded whole, and its header read as `supersedes` does.
    static func indexFile(_ bytes: UnsafeRawBufferPointer) {
        _ = IndexFile.decode(bytes)
        _ = IndexFile.supersedes(fileSize: bytes.count) { offset, count in
            guard offset <= bytes.count else { return [] }
            return Array(bytes[offset..<min(bytes.count, offset + count)])
        }
    }

    /// The input is a snapshot database file (SQLite): opened, checked and listed as restore does.
    static func snapshotDatabase(_ bytes: UnsafeRawBufferPointer) {
        guard let file = Scratch.write(Array(bytes)), let reader = try? SnapshotReader(path: file) else { return }
        _ = try? reader.integrityProblems()
        _ = try? reader.metadata()
        _ = try? reader.databaseTables()
        _ = try? reader.totals()
        var count = 0
        _ = try? reader.forEachEntry { _ in
            count += 1
            if count > 10_000 { throw KuraError.interrupted }
        }
    }

    /// The input is a kura.toml: TOML parsing (toml++ through TOMLKit), the line index, every
    /// section's checks. Files it names are only looked at, never written.
    static func config(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = TOMLLineIndex(text).line(of: "retention.keep_daily")
        _ = try? ConfigurationLoader.parse(text, file: "/nonexistent/kura.toml", environment: [:])
    }

    static func databaseURL(_ bytes: UnsafeRawBufferPointer) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let url = try? DatabaseURL(text) else { return }
        _ = url.description
        if url.engine == .postgresql, let parameters = try? PostgresParameters(url: url) {
            _ = parameters.redacted
            _ = try? url.replacingDatabase(with: "other")
        }
    }

    /// The input's first line is a pattern; the other lines are paths it is matched against.
    static func pathPattern(_ bytes: UnsafeRawBufferPointer) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let first = lines.first, let pattern = try? PathPattern(first) else { return }
        for path in lines.dropFirst().prefix(32) { _ = pattern.matches(path) }
        _ = Entry.isSafeRelativePath(first)
    }
}

/// One temp file per process, rewritten for each input (in /dev/shm when there is one).
enum Scratch {
    static let path: String = {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return folder + "/kura-fuzz-\(getpid())"
    }()

    static func write(_ bytes: [UInt8]) -> String? {
        unlink(path)
        for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
        return FileManager.default.createFile(atPath: path, contents: Data(bytes)) ? path : nil
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    Harness.selected.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// SwiftPM links an executable target's entry point as `<Target>_main`; libFuzzer's driver runs
/// from it (LLVMFuzzerRunDriver) with the harness above as the callback.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("KuraFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzTestOneInput(data, size) }
}
