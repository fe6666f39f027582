import Foundation

/// One member of an archive, its path already checked.
struct TarMember: Equatable {
    enum Kind: Equatable {
        case file
        case directory
        case symlink(target: String)
    }

    /// Relative, `/`-separated, no `.`/`..`/empty component, no trailing `/`.
    var path: String
    var kind: Kind
    var mode: UInt32
    var size: Int64
    /// Nanoseconds since the epoch (pax `mtime` when present, else whole seconds).
    var mtimeNanoseconds: Int64
}

/// Reads a tar stream (ustar, pax, GNU long names) out of a gzip file and refuses anything that
/// could write outside a target or is not a plain file, directory or symlink: absolute paths,
/// `..`, hard links, device nodes, FIFOs, duplicate members, bad header checksums, truncation.
/// Every refusal is an integrity error naming the member.
final class TarReader {
    private let gzip: GzipReader
    private let path: String
    private var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
    private var start = 0
    private var end = 0
    private var seen = Set<String>()

    /// The tar stream in the gzip data of `source`; `path` names it in errors.
    init(source: ByteSource, path: String) throws {
        self.path = path
        gzip = try GzipReader(source: source, path: path)
    }

    convenience init(path: String) throws {
        try self.init(source: try FileByteSource(path: path), path: path)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` for each member with a function that streams its content (files only; the
    /// content must be consumed or skipped by calling it — unread content is skipped).
    func forEachMember(_ body: (TarMember, (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> Void) throws {
        var pax: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while true {
            guard let header = try readBlock() else {
                throw KuraError.integrity(.archive(path: path, .tarTruncated))
            }
            if header.allSatisfy({ $0 == 0 }) { return try drainEnd() }
            guard Self.checksumOK(header) else { throw KuraError.integrity(.archive(path: path, .badHeaderChecksum)) }
            let type = header[156]
            let size = try checkedSize(try Self.number(header, 124, 12, in: path))
            switch type {
            case UInt8(ascii: "x"):
                pax = Self.parsePax(try readData(size))
                continue
            case UInt8(ascii: "g"):
                _ = try readData(size)
                continue
            case UInt8(ascii: "L"):
                longName = String(decoding: try readData(size).prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "K"):
                longLink = String(decoding: try readData(size).prefix { $0 != 0 }, as: UTF8.self)
                continue
            default:
                break
            }
            var name = pax["path"] ?? longName ?? Self.ustarName(header)
            let linkTarget = pax["linkpath"] ?? longLink ?? Self.string(header, 157, 100)
            let memberSize = try pax["size"].map { text -> Int64 in
                guard let value = Int64(text) else { throw KuraError.integrity(.archive(path: path, .paxSizeNotNumber(String(text.prefix(40))))) }
                return try checkedSize(value)
            } ?? size
            let mtime = try pax["mtime"].flatMap(Self.paxTime) ?? Self.nanoseconds(seconds: Self.number(header, 136, 12, in: path))
            pax = [:]
            longName = nil
            longLink = nil
            while name.hasPrefix("./") { name.removeFirst(2) }
            while name.hasSuffix("/") { name.removeLast() }
            guard Entry.isSafeRelativePath(name) else {
                throw KuraError.integrity(.archive(path: path, .unsafePath(name)))
            }
            guard seen.insert(name).inserted else {
                throw KuraError.integrity(.archive(path: path, .duplicateMember(name)))
            }
            let kind: TarMember.Kind
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
            case UInt8(ascii: "5"): kind = .directory
            case UInt8(ascii: "2"): kind = .symlink(target: linkTarget)
            case UInt8(ascii: "1"): throw KuraError.integrity(.archive(path: path, .hardLink(name)))
            default: throw KuraError.integrity(.archive(path: path, .unsupportedType(name)))
            }
            let member = TarMember(path: name, kind: kind, mode: UInt32(truncatingIfNeeded: try Self.number(header, 100, 8, in: path)) & 0o7777,
                                   size: kind == .file ? memberSize : 0, mtimeNanoseconds: mtime)
            var remaining = member.size
            try body(member) { sink in
                while remaining > 0 {
                    try self.fill(1)
                    let take = Int(min(Int64(self.end - self.start), remaining))
                    try sink(UnsafeRawBufferPointer(rebasing: self.buffer[self.start..<(self.start + take)]))
                    self.start += take
                    remaining -= Int64(take)
                }
            }
            try skip(remaining + Int64(TarHeader.padding(member.size)))
        }
    }

    /// The largest member size accepted: 2^50 bytes (1 PiB), far above any site and far below
    /// where a size, its padding or a running total could overflow.
    static let maxMemberSize: Int64 = 1 << 50

    /// A size from a header or a pax record, refused when negative or implausibly large.
    private func checkedSize(_ size: Int64) throws -> Int64 {
        guard size >= 0, size <= Self.maxMemberSize else {
            throw KuraError.integrity(.archive(path: path, .implausibleSize(size)))
        }
        return size
    }

    // MARK: Blocks

    /// Makes at least `count` bytes available; throws when the stream ends first.
    private func fill(_ count: Int) throws {
        if end - start >= count { return }
        if start > 0 {
            let pending = end - start
            if pending > 0 { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[start..<end])) }
            start = 0
            end = pending
        }
        while end - start < count {
            let got = try gzip.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if got == 0 { throw KuraError.integrity(.archive(path: path, .memberTruncated)) }
            end += got
        }
    }

    private func readBlock() throws -> [UInt8]? {
        do {
            try fill(TarHeader.blockSize)
        } catch KuraError.integrity(.archive(_, .memberTruncated)) {
            return nil
        }
        let block = Array(buffer[start..<(start + TarHeader.blockSize)])
        start += TarHeader.blockSize
        return block
    }

    private func readData(_ size: Int64) throws -> [UInt8] {
        guard size >= 0, size <= 1 << 20 else { throw KuraError.integrity(.archive(path: path, .extendedHeaderTooLarge)) }
        try fill(Int(size))
        let data = Array(buffer[start..<(start + Int(size))])
        start += Int(size)
        try skip(Int64(TarHeader.padding(size)))
        return data
    }

    private func skip(_ count: Int64) throws {
        var left = count
        while left > 0 {
            try fill(1)
            let take = Int(min(Int64(end - start), left))
            start += take
            left -= Int64(take)
        }
    }

    /// After the first zero block: the rest must be zeros (the second block and record padding).
    private func drainEnd() throws {
        while true {
            if start == end {
                let got = try gzip.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0...]))
                if got == 0 { return }
                start = 0
                end = got
            }
            guard buffer[start..<end].allSatisfy({ $0 == 0 }) else {
                throw KuraError.integrity(.archive(path: path, .dataAfterEnd))
            }
            start = end
        }
    }

    // MARK: Header fields

    static func checksumOK(_ header: [UInt8]) -> Bool {
        let stored = Int64(string(header, 148, 8).trimmingCharacters(in: .whitespaces), radix: 8)
        var sum: Int64 = 0
        for (index, byte) in header.enumerated() { sum += (148..<156).contains(index) ? 32 : Int64(byte) }
        return stored == sum
    }

    static func string(_ header: [UInt8], _ offset: Int, _ width: Int) -> String {
        String(decoding: header[offset..<(offset + width)].prefix { $0 != 0 }, as: UTF8.self)
    }

    static func number(_ header: [UInt8], _ offset: Int, _ width: Int, in path: String) throws -> Int64 {
        let field = header[offset..<(offset + width)]
        if let first = field.first, first & 0x80 != 0 {
            // GNU base-256 for large values (0xff starts a negative one, refused). More than 63
            // bits, which 12 bytes can hold, are refused too.
            var value = Int64(first & 0x7f)
            guard first & 0x40 == 0 else { throw KuraError.integrity(.archive(path: path, .negativeNumber)) }
            for byte in field.dropFirst() {
                guard value <= Int64.max >> 8 else { throw KuraError.integrity(.archive(path: path, .numberTooLarge)) }
                value = value << 8 | Int64(byte)
            }
            return value
        }
        let text = string(header, offset, width).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return 0 }
        guard let value = Int64(text, radix: 8) else { throw KuraError.integrity(.archive(path: path, .badNumber(text))) }
        return value
    }

    static func ustarName(_ header: [UInt8]) -> String {
        let name = string(header, 0, 100)
        let prefix = string(header, 345, 155)
        return prefix.isEmpty || string(header, 257, 5) != "ustar" ? name : prefix + "/" + name
    }

    /// Seconds since the epoch in nanoseconds, clamped to what an Int64 of nanoseconds holds
    /// (years 1678 to 2262) instead of overflowing.
    static func nanoseconds(seconds: Int64) -> Int64 {
        let limit = Int64.max / 1_000_000_000
        return max(-limit, min(limit, seconds)) * 1_000_000_000
    }

    /// A pax time "1795573306.9827652" in nanoseconds, exactly (no floating point); clamped like
    /// `nanoseconds(seconds:)`.
    static func paxTime(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1)
        guard let seconds = parts.first.flatMap({ Int64($0) }) else { return nil }
        let fraction = parts.count > 1 ? String(parts[1].prefix(9)) : ""
        guard fraction.allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        let nanoseconds = Int64(fraction.padding(toLength: 9, withPad: "0", startingAt: 0)) ?? 0
        let whole = Self.nanoseconds(seconds: seconds)
        return text.hasPrefix("-") ? whole - nanoseconds : whole + nanoseconds
    }

    /// "len key=value\n" records.
    static func parsePax(_ data: [UInt8]) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index < data.count {
            // The length counts the whole record: its digits, the space, "key=value" and "\n".
            guard let space = data[index...].firstIndex(of: 32), let length = Int(String(decoding: data[index..<space], as: UTF8.self)),
                  length > space - index + 1, length <= data.count - index else { break }
            let record = data[(space + 1)..<(index + length - 1)]
            if let equals = record.firstIndex(of: 61) {
                result[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            index += length
        }
        return result
    }
}
