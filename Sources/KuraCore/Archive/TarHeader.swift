/// POSIX tar (ustar) headers, with pax extended headers where ustar cannot say it exactly: names
/// or link targets that are long or not ASCII, sizes of 8 GiB and more. GNU tar and Python's
/// `tarfile` read both. Owner and group are always 0 with empty names, so archives do not depend
/// on who wrote them.
enum TarHeader {
    static let blockSize = 512
    /// GNU tar's default record: archives are padded to a multiple of 20 blocks.
    static let recordSize = 10240

    enum Kind: UInt8 {
        case file = 48      // '0'
        case symlink = 50   // '2'
        case directory = 53 // '5'
        case paxExtended = 120 // 'x'
    }

    /// The header block(s) of one member: a pax header first when needed, then the ustar header.
    static func encode(path: String, kind: Kind, mode: UInt32, size: Int64, mtime: Int64, linkTarget: String? = nil) -> [UInt8] {
        let name = kind == .directory && !path.hasSuffix("/") ? path + "/" : path
        var pax: [(String, String)] = []
        if !fitsUstar(name, limit: 100) { pax.append(("path", name)) }
        if let linkTarget, !fitsUstar(linkTarget, limit: 100) { pax.append(("linkpath", linkTarget)) }
        if size > 0o77777777777 { pax.append(("size", String(size))) }
        var result: [UInt8] = []
        if !pax.isEmpty {
            let records = pax.map(record).joined()
            let body = Array(records.utf8)
            result += ustar(name: "PaxHeaders/" + asciiFallback(name), kind: .paxExtended, mode: 0o644, size: Int64(body.count), mtime: mtime, link: "")
            result += body + [UInt8](repeating: 0, count: padding(Int64(body.count)))
        }
        result += ustar(name: asciiFallback(name), kind: kind, mode: mode, size: size > 0o77777777777 ? 0 : size, mtime: mtime,
                        link: asciiFallback(linkTarget ?? ""))
        return result
    }

    /// Zero bytes that round `size` up to a whole block.
    static func padding(_ size: Int64) -> Int {
        Int((Int64(blockSize) - size % Int64(blockSize)) % Int64(blockSize))
    }

    private static func fitsUstar(_ text: String, limit: Int) -> Bool {
        text.utf8.count < limit && text.utf8.allSatisfy { $0 < 128 }
    }

    /// Keeps ASCII, replaces the rest with '_' and truncates to 99 bytes: what a pax-unaware
    /// reader sees (pax readers use the pax record).
    private static func asciiFallback(_ text: String) -> String {
        String(String(text.unicodeScalars.map { $0.isASCII ? Character($0) : "_" }).prefix(99))
    }

    /// A pax record: "<length> <key>=<value>\n", where length counts itself.
    private static func record(_ pair: (String, String)) -> String {
        let body = " \(pair.0)=\(pair.1)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return String(length) + body
    }

    private static func ustar(name: String, kind: Kind, mode: UInt32, size: Int64, mtime: Int64, link: String) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: blockSize)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: Int64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            put(String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits, at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(Int64(mode & 0o7777), at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(max(0, mtime), at: 136, width: 12)
        block[156] = kind.rawValue
        put(link, at: 157, width: 100)
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        // The checksum is computed with its own field as spaces.
        for index in 148..<156 { block[index] = 32 }
        let sum = block.reduce(0) { $0 + Int64($1) }
        octal(sum, at: 148, width: 7)
        block[154] = 0
        block[155] = 32
        return block
    }
}
