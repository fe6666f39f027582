@testable import KuraCore

// What the harnesses do to an input before the parser sees it: frame it as it would arrive (gzip
// around a tar stream) and recompute the checksums that would otherwise reject nearly every
// mutation. Shared with Tests/KuraCoreTests (a symlink), which replays Tests/Fuzz/Regressions.
/// gzip framing for the tar harness, so that the fuzzer mutates tar bytes rather than a deflate
/// stream: the input goes into deflate stored blocks (RFC 1951 §3.2.4) between a gzip header and
/// its CRC-32 and length (RFC 1952).
enum Gzip {
    static func compress(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var output: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]
        var start = 0
        repeat {
            let count = min(65_535, bytes.count - start)
            let final: UInt8 = start + count == bytes.count ? 1 : 0
            output += [final, UInt8(count & 0xff), UInt8(count >> 8), UInt8(~count & 0xff), UInt8((~count >> 8) & 0xff)]
            output += bytes[start..<(start + count)]
            start += count
        } while start < bytes.count
        output += littleEndian(crc32(bytes)) + littleEndian(UInt32(truncatingIfNeeded: bytes.count))
        return output
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    private static let table: [UInt32] = (0..<256).map { index -> UInt32 in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    private static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return ~crc
    }
}

/// Tar header checksums for the tar harness: the sum of the header's bytes with the checksum
/// field counted as spaces, written as six octal digits, NUL, space.
enum TarChecksum {
    static func fix(_ tar: inout [UInt8]) {
        var start = 0
        while start + 512 <= tar.count {
            if Array(tar[(start + 257)..<(start + 262)]) == Array("ustar".utf8) {
                var sum = 0
                for index in start..<(start + 512) { sum += (148..<156).contains(index - start) ? 32 : Int(tar[index]) }
                let digits = Array(String(sum & 0o777777, radix: 8).utf8)
                let field = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0, 32]
                tar.replaceSubrange((start + 148)..<(start + 156), with: field)
            }
            start += 512
        }
    }
}

/// The pack trailer's digest for the pack-trailer harness: when the footer's entry count fits
/// the input, the SHA-256 of those trailer bytes is written into the footer.
enum PackDigest {
    static func fix(_ pack: inout [UInt8]) {
        let footer = PackFormat.footerSize
        guard pack.count >= PackFormat.headerSize + footer else { return }
        let countAt = pack.count - footer + 32
        let count = (0..<4).reduce(0) { $0 | Int(pack[countAt + $1]) << (8 * $1) }
        let trailerStart = pack.count - footer - count * PackEntry.encodedSize
        guard trailerStart >= PackFormat.headerSize else { return }
        let digest = pack[trailerStart..<(pack.count - footer)].withUnsafeBytes { SHA256Hasher.hash($0) }
        pack.replaceSubrange((pack.count - footer)..<(pack.count - footer + 32), with: digest.bytes)
    }
}
