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
    private let componentCount: Int

    public init(_ text: String) throws {
        self.text = text
        anchored = text.hasPrefix("/")
        var body = text
        while body.hasPrefix("/") { body.removeFirst() }
        while body.hasSuffix("/") { body.removeLast() }
        guard !body.isEmpty else { throw KuraError.invalidArgument("empty path pattern '\(text)'") }
        self.body = body
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

    /// True when the pattern selects `path` (or one of its ancestors).
    public func matches(_ path: String) -> Bool {
        let components = path.split(separator: "/")
        guard components.count >= componentCount else { return false }
        let starts = anchored ? 0...0 : 0...(components.count - componentCount)
        for start in starts {
            let run = components[start..<(start + componentCount)].joined(separator: "/")
            if fnmatch(body, run, FNM_PATHNAME) == 0 { return true }
        }
        return false
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
