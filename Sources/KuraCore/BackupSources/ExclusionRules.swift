import Foundation

/// What a backup leaves out of its media folders: `--exclude` patterns, `--exclude-caches` and
/// `--one-file-system`, as restic and borg take them.
///
/// Patterns follow restic's rules: a pattern is split at `/` into parts, each matched against one
/// path component with shell wildcards (`*`, `?`, `[abc]`, fnmatch(3)); `**` matches any number
/// of components. A pattern starting with `/` is anchored at the file system root (it matches the
/// absolute path); any other pattern matches the end of a path starting at any component
/// (`*.tmp`, `cache`, `thumbnails/*.jpg`). A directory that matches is left out with everything
/// under it. Lines of an exclude file are patterns; blank lines and lines starting with `#` are
/// skipped.
public struct ExclusionRules: Sendable, Equatable {
    public var patterns: [String]
    /// Leave out folders holding a `CACHEDIR.TAG` with the standard signature
    /// (https://bford.info/cachedir/), tag and all.
    public var excludeCaches: Bool
    /// Do not descend into folders on another file system than the media folder's (the mount
    /// point itself is recorded, empty).
    public var oneFileSystem: Bool

    public init(patterns: [String] = [], excludeCaches: Bool = false, oneFileSystem: Bool = false) {
        self.patterns = patterns
        self.excludeCaches = excludeCaches
        self.oneFileSystem = oneFileSystem
    }

    /// Nothing is left out.
    public var isEmpty: Bool { patterns.isEmpty && !excludeCaches && !oneFileSystem }

    /// The patterns of an exclude file.
    public static func patterns(fromFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw KuraError.posix("cannot read exclude file", path) }
        return patterns(fromText: String(decoding: data, as: UTF8.self))
    }

    /// The patterns of an exclude file's text.
    public static func patterns(fromText text: String) -> [String] {
        text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    }

    /// Why `pattern` cannot be used, or nil.
    public static func problem(with pattern: String) -> String? {
        if pattern.isEmpty { return "an empty pattern" }
        if pattern.utf8.contains(0) { return "a pattern with a NUL byte" }
        if pattern.split(separator: "/", omittingEmptySubsequences: true).isEmpty { return "a pattern that matches the root" }
        return nil
    }

    /// The compiled matcher; nil when there are no patterns.
    var matcher: PathMatcher? { patterns.isEmpty ? nil : PathMatcher(patterns) }

    /// The signature that opens a valid `CACHEDIR.TAG`.
    static let cacheTagSignature = Array("Signature: 8a477f597d28d172789f06886806bc55".utf8)

    /// Whether `directory` holds a `CACHEDIR.TAG` beginning with the signature.
    static func isCacheDirectory(_ directory: String) -> Bool {
        let descriptor = open(directory + "/CACHEDIR.TAG", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var head = [UInt8](repeating: 0, count: cacheTagSignature.count)
        let count = head.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count == cacheTagSignature.count && head == cacheTagSignature
    }
}

/// Exclude patterns compiled into component lists, matched against absolute paths.
struct PathMatcher {
    private struct Pattern {
        let parts: [[CChar]]
        let anchored: Bool
    }
    private let patterns: [Pattern]

    init(_ patterns: [String]) {
        self.patterns = patterns.map { text in
            Pattern(parts: text.split(separator: "/").map { Array(String($0).utf8CString) }, anchored: text.hasPrefix("/"))
        }
    }

    /// Whether the absolute path, given as its components, matches any pattern.
    func matches(components: [[CChar]]) -> Bool {
        patterns.contains { pattern in
            if pattern.anchored { return Self.match(pattern.parts[...], components[...]) }
            return (0..<components.count).contains { Self.match(pattern.parts[...], components[$0...]) }
        }
    }

    /// Whether the components match the parts. The path must end where the pattern ends.
    private static func match(_ parts: ArraySlice<[CChar]>, _ components: ArraySlice<[CChar]>) -> Bool {
        guard let part = parts.first else { return components.isEmpty }
        if part == Array("**".utf8CString) {
            let rest = parts.dropFirst()
            return (components.startIndex...components.endIndex).contains { match(rest, components[$0...]) }
        }
        guard let component = components.first else { return false }
        let matched = part.withUnsafeBufferPointer { p in
            component.withUnsafeBufferPointer { c in fnmatch(p.baseAddress, c.baseAddress, 0) == 0 }
        }
        return matched && match(parts.dropFirst(), components.dropFirst())
    }
}
