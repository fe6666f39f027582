import Foundation

/// A restic-style path pattern for `--include` and `find`: shell globs (`*`, `?`, `[...]`) on
/// `/`-separated paths of the snapshot tree.
///
/// A pattern selects a path when it matches a run of the path's components — so it also selects
/// everything below a matching directory. A pattern starting with `/` is anchored at the snapshot
/// root (`/media/receipts`); one without matches at any depth (`receipts/*.pdf`, `reçu*.pdf`).
public struct PathPattern: Sendable, CustomStringConvertible {
    public let text: String
    private let anchored: Bool
    private let body: String
    /// `body`, NUL-terminated, for fnmatch.
    private let bodyC: [CChar]
    private let componentCount: Int

    public init(_ text: String) throws {
        self.text = text
        anchored = text.hasPrefix("/")
        var body = text
        while body.hasPrefix("/") { body.removeFirst() }
        while body.hasSuffix("/") { body.removeLast() }
        guard !body.isEmpty else { throw KuraError.invalidArgument("empty path pattern '\(text)'") }
        self.body = body
        bodyC = Array(body.utf8CString)
        componentCount = body.split(separator: "/").count
    }

    public var description: String { text }

    /// A SQLite `GLOB` that every path this pattern selects also matches — GLOB's `*` and `?`
    /// cross `/`, so it lets more through, and `matches` decides — for SQLite to skip most of a
    /// large snapshot before a row becomes an entry. nil for brackets and escapes, whose syntax
    /// differs between GLOB and fnmatch.
    var supersetGlob: String? {
        guard !body.contains("["), !body.contains("\\") else { return nil }
        return anchored ? body + "*" : "*" + body + "*"
    }

    /// True when the pattern selects `path` (or one of its ancestors). `path` is a snapshot path
    /// (no empty component). Each run of components is matched where it lies in one
    /// NUL-terminated copy of the path — the `/` after the run set to NUL for the call — rather
    /// than split into substrings and joined again for every run: `find` and `--include` test
    /// every path of a million-file snapshot that SQLite's prefilter lets through.
    public func matches(_ path: String) -> Bool {
        var path = path
        return path.withUTF8 { utf8 in
            let length = utf8.count
            var slashes = 0
            for byte in utf8 where byte == UInt8(ascii: "/") { slashes += 1 }
            guard slashes + 1 >= componentCount else { return false }
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: slashes + 2) { cuts in
                    // cuts[i] + 1 is where component i starts, cuts[i + 1] where it ends.
                    cuts[0] = -1
                    var next = 1
                    for index in 0..<length {
                        text[index] = CChar(bitPattern: utf8[index])
                        if utf8[index] == UInt8(ascii: "/") {
                            cuts[next] = index
                            next += 1
                        }
                    }
                    text[length] = 0
                    cuts[next] = length
                    guard let base = text.baseAddress else { return false }
                    let lastStart = anchored ? 0 : slashes + 1 - componentCount
                    for start in 0...lastStart {
                        let end = cuts[start + componentCount]
                        text[end] = 0
                        let matched = fnmatch(bodyC, base + cuts[start] + 1, FNM_PATHNAME) == 0
                        if end < length { text[end] = CChar(bitPattern: UInt8(ascii: "/")) }
                        if matched { return true }
                    }
                    return false
                }
            }
        }
    }

    /// SQLite `GLOB`s that together let through every path `patterns` select (an empty list:
    /// no filter — also when one pattern has none).
    static func supersetGlobs(_ patterns: [PathPattern]) -> [String] {
        let globs = patterns.compactMap(\.supersetGlob)
        return globs.count == patterns.count ? globs : []
    }

    /// True when any of `patterns` selects `path`; an empty list selects everything.
    public static func selects(_ patterns: [PathPattern], _ path: String) -> Bool {
        patterns.isEmpty || patterns.contains { $0.matches(path) }
    }
}
