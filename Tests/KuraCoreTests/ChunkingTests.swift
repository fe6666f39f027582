import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

@Suite struct ChunkingTests {
    let chunker = FastCDC(.data)

    @Test func cutsRespectMinAndMaxAndCoverTheInput() {
        let data = randomBytes(40 << 20, seed: 1)
        let lengths = data.withUnsafeBytes { chunker.chunkLengths($0) }
        #expect(lengths.reduce(0, +) == data.count)
        #expect(lengths.dropLast().allSatisfy { $0 >= ChunkerParameters.data.min && $0 <= ChunkerParameters.data.max })
        // Normalized chunking keeps the average near 1 MiB on random data.
        let average = data.count / lengths.count
        #expect(average > 512 << 10 && average < 2 << 20, "average chunk \(average)")
    }

    @Test func insertingBytesAtTheFrontReusesAllButTheFirstChunks() {
        let original = randomBytes(64 << 20, seed: 2)
        let shifted = randomBytes(1000, seed: 3) + original
        func ids(_ bytes: [UInt8]) -> [ChunkID] {
            bytes.withUnsafeBytes { raw in
                var start = 0
                return chunker.chunkLengths(raw).map { length in
                    defer { start += length }
                    return SHA256Hasher.hash(UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
                }
            }
        }
        let before = ids(original)
        let after = ids(shifted)
        let reused = Set(before).intersection(after).count
        #expect(before.count > 20)
        #expect(reused >= before.count - 2, "reused \(reused) of \(before.count)")
    }

    /// The cut loop (two bytes per round, resumable) against FastCDC as docs/FORMAT.md defines
    /// it, one byte at a time; and a chunk's end searched in pieces, as the backup's reader
    /// does between reads, against the same search made at once.
    @Test(arguments: [ChunkerParameters.data, ChunkerParameters.dump])
    func cutsMatchTheDefinitionWholeAndInPieces(parameters: ChunkerParameters) {
        let chunker = FastCDC(parameters)
        let bits = parameters.avg.trailingZeroBitCount
        func top(_ count: Int) -> UInt64 { ~UInt64(0) << UInt64(64 - count) }
        func reference(_ bytes: ArraySlice<UInt8>) -> Int {
            var hash: UInt64 = 0
            var index = parameters.min
            let limit = min(bytes.count, parameters.max)
            while index < limit {
                hash = (hash &<< 1) &+ FastCDC.gear[Int(bytes[bytes.startIndex + index])]
                let mask = index < parameters.avg ? top(bits + parameters.normalization) : top(bits - parameters.normalization)
                if hash & mask == 0 { return index + 1 }
                index += 1
            }
            return limit
        }
        let data = randomBytes(24 * parameters.avg + 12345, seed: 9)
        var start = 0
        var cuts = 0
        data.withUnsafeBytes { raw in
            while start < data.count {
                let expected = reference(data[start...])
                #expect(chunker.cut(UnsafeRawBufferPointer(rebasing: raw[start...]), atEnd: true) == expected)
                // The same chunk found by a search given 1/7 of the bytes more at each call.
                var scan = FastCDC.Scan()
                var given = 0
                var found: Int?
                while found == nil {
                    given = min(data.count - start, given + parameters.avg / 7 + 1)
                    let atEnd = start + given == data.count
                    found = chunker.cut(UnsafeRawBufferPointer(rebasing: raw[start..<(start + given)]), atEnd: atEnd, resuming: &scan)
                }
                #expect(found == expected)
                start += expected
                cuts += 1
            }
        }
        #expect(cuts > 10)
    }

    @Test func cutNeedsMoreDataOnlyBeforeMax() {
        let data = randomBytes(ChunkerParameters.data.max + 10, seed: 4)
        data.withUnsafeBytes { raw in
            let short = UnsafeRawBufferPointer(rebasing: raw[0..<(ChunkerParameters.data.min - 1)])
            #expect(chunker.cut(short, atEnd: false) == nil)
            #expect(chunker.cut(short, atEnd: true) == short.count)
            #expect(chunker.cut(raw, atEnd: false) != nil)
        }
    }

    @Test func sha256MatchesAKnownVector() {
        #expect(SHA256Hasher.hash(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test(arguments: ["zstd:3", "zstd:19", "zlib:6"])
    func compressibleChunksRoundTrip(setting: String) throws {
        let compressor = ChunkCompressor(try CompressionSetting(parsing: setting))
        let plain = Array(String(repeating: "INSERT INTO payments VALUES (42, 'paid');\n", count: 20000).utf8)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: ChunkCompressor.bound(plain.count), alignment: 16)
        defer { output.deallocate() }
        let (codec, length) = plain.withUnsafeBytes { compressor.compress($0, into: output) }
        #expect(codec != .raw)
        #expect(length < plain.count / 10)
        let back = UnsafeMutableRawBufferPointer.allocate(byteCount: plain.count, alignment: 16)
        defer { back.deallocate() }
        #expect(ChunkDecompressor().decompress(UnsafeRawBufferPointer(rebasing: output[0..<length]), codec: codec, into: back))
        #expect(Array(back) == plain)
    }

    @Test func incompressibleChunksAreStoredRaw() {
        let compressor = ChunkCompressor(.default)
        let plain = randomBytes(1 << 20, seed: 5)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: ChunkCompressor.bound(plain.count), alignment: 16)
        defer { output.deallocate() }
        let (codec, length) = plain.withUnsafeBytes { compressor.compress($0, into: output) }
        #expect(codec == .raw)
        #expect(length == plain.count)
    }

    @Test func compressionSettingsParse() throws {
        #expect(try CompressionSetting(parsing: "zstd") == CompressionSetting(codec: .zstd, level: 1))
        #expect(try CompressionSetting(parsing: "none").codec == .raw)
        #expect(kuraError { _ = try CompressionSetting(parsing: "lz4") } != nil)
        #expect(kuraError { _ = try CompressionSetting(parsing: "zstd:99") } != nil)
    }
}

@Suite struct FormatTests {
    @Test func indexFilesRoundTripAndRejectTruncation() {
        let entry = PackEntry(chunk: SHA256Hasher.hash([1]), offset: 16, storedLength: 10, plainLength: 20, codec: .zstd)
        let index = IndexFile(packs: [.init(pack: SHA256Hasher.hash([2]), entries: [entry, entry])])
        let bytes = index.encoded()
        #expect(bytes.withUnsafeBytes { IndexFile.decode($0) } == index)
        #expect(bytes.dropLast().withUnsafeBytes { IndexFile.decode($0) } == nil)
    }

    @Test func packTrailerRoundTripsAndDetectsDamage() {
        let entries = (0..<3).map { PackEntry(chunk: SHA256Hasher.hash([UInt8($0)]), offset: UInt64(16 + $0 * 10), storedLength: 10, plainLength: 10, codec: .raw) }
        var trailer = PackFormat.trailer(entries, cipher: nil)
        let packSize = UInt64(16 + 30 + trailer.count)
        func parse(_ bytes: [UInt8]) -> [PackEntry]? {
            bytes.withUnsafeBytes { raw in
                let footer = UnsafeRawBufferPointer(rebasing: raw[(raw.count - PackFormat.footerSize)...])
                guard let (count, digest) = PackFormat.entryCount(footer: footer) else { return nil }
                let body = UnsafeRawBufferPointer(rebasing: raw[0..<(count * PackEntry.encodedSize)])
                return PackFormat.entries(body, digest: digest, dataEnd: packSize - UInt64(count * PackEntry.encodedSize + PackFormat.footerSize))
            }
        }
        #expect(parse(trailer) == entries)
        trailer[5] ^= 1
        #expect(parse(trailer) == nil)
    }

    /// New repositories cut dumps small; a config from before `dump_chunker` keeps cutting them
    /// with the data chunker (the same bytes must keep cutting the same way in one repository).
    @Test func dumpChunkerIsRecordedAndOptional() throws {
        let config = RepositoryConfig.new()
        #expect(config.chunkerForDumps == .dump)
        let encoded = String(decoding: try JSONEncoder.kura.encode(config), as: UTF8.self)
        #expect(encoded.contains("\"dump_chunker\":{"))
        let old = encoded.replacingOccurrences(of: #","dump_chunker":{"algorithm":"fastcdc-gear-v1","avg":16384,"max":131072,"min":4096,"normalization":2}"#, with: "")
        #expect(old != encoded)
        let decoded = try JSONDecoder().decode(RepositoryConfig.self, from: Data(old.utf8))
        #expect(decoded.dumpChunker == nil && decoded.chunkerForDumps == .data)
        try decoded.validate()
    }

    @Test func timestampsRoundTrip() throws {
        let text = Timestamp.format(seconds: 1_764_000_000, nanoseconds: 123_456_789)
        let parsed = try #require(Timestamp.parse(text))
        #expect(abs(parsed - 1_764_000_000.123456789) < 1e-6)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    @Test func unsafePathsAreRecognised() {
        for good in ["media/a b/reçu.pdf", "media", "a/.hidden/..b/...", "media/x.", ".env"] {
            #expect(Entry.isSafeRelativePath(good), "\(good)")
        }
        for bad in ["../etc/passwd", "media/../../x", "/etc/passwd", "media//x", "media/./x", "", "media/", "media/..", ".", "..",
                    "media/a\u{0}b", "./media"] {
            #expect(!Entry.isSafeRelativePath(bad), "\(bad)")
        }
    }

    @Test func pathPatterns() throws {
        let path = "media/receipts/2025/reçu été.pdf"
        #expect(try PathPattern("media/receipts").matches(path))
        #expect(try PathPattern("/media/receipts/2025/*.pdf").matches(path))
        #expect(try PathPattern("reçu*.pdf").matches(path))
        #expect(try PathPattern("receipts/2025").matches(path))
        #expect(try !PathPattern("/receipts").matches(path))
        #expect(try !PathPattern("*.jpg").matches(path))
        #expect(try !PathPattern("media/rec").matches(path))
    }
}
