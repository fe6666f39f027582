import Foundation
import TOMLKit

/// Reads one TOML table against the keys a section allows: each typed getter marks its key as
/// known and records a `ConfigurationProblem` (with the key's line) for a value of the wrong type;
/// `finish()` reports every key no getter asked for.
final class TOMLTableReader {
    private let table: TOMLTable
    /// `retention.`, `database[0].`, or empty for the top level.
    private let prefix: String
    /// How the section is named in messages: `[retention]`, `the top level`.
    private let section: String
    private let context: Context
    private var known: [String] = []

    /// What every reader of one file shares.
    final class Context {
        let file: String
        let lines: TOMLLineIndex
        /// The keys of the top level, to explain one found inside a table.
        let topLevelKeys: Set<String>
        var problems: [ConfigurationProblem] = []

        init(file: String, lines: TOMLLineIndex, topLevelKeys: Set<String> = []) {
            self.file = file
            self.lines = lines
            self.topLevelKeys = topLevelKeys
        }

        func report(_ message: String, at path: String) {
            problems.append(ConfigurationProblem(file: file, line: lines.line(of: path), message: message))
        }
    }

    init(_ table: TOMLTable, prefix: String, section: String, context: Context) {
        self.table = table
        self.prefix = prefix
        self.section = section
        self.context = context
    }

    /// Records a problem with the table as a whole (at its header's line).
    func reportTable(_ message: String) {
        context.report("\(section): \(message)", at: String(prefix.dropLast()))
    }

    /// Records a problem with `key`'s value.
    func report(_ key: String, _ message: String) {
        context.report("\(prefix)\(key): \(message)", at: prefix + key)
    }

    private func value(_ key: String) -> TOMLValueConvertible? {
        known.append(key)
        return table[key]
    }

    private func wrongType(_ key: String, _ expected: String, _ value: TOMLValueConvertible) {
        report(key, "expected \(expected), found \(value.type)")
    }

    func string(_ key: String) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.string else {
            wrongType(key, "a string", value)
            return nil
        }
        return text
    }

    /// A string naming a file or folder: `~/` is expanded; a relative path is taken from the
    /// configuration file's folder.
    func path(_ key: String) -> String? {
        guard let text = string(key) else { return nil }
        guard !text.isEmpty else {
            report(key, "an empty path")
            return nil
        }
        return Self.resolve(text, relativeTo: context.file)
    }

    /// `text` as an absolute path.
    static func resolve(_ text: String, relativeTo file: String) -> String {
        var text = text
        if text.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] { text = home + text.dropFirst() }
        if text.hasPrefix("/") { return URL(fileURLWithPath: text).standardizedFileURL.path }
        return URL(fileURLWithPath: text, relativeTo: URL(fileURLWithPath: file).deletingLastPathComponent()).standardizedFileURL.path
    }

    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = value(key) else { return nil }
        guard let number = value.int else {
            wrongType(key, "an integer", value)
            return nil
        }
        guard range.contains(number) else {
            report(key, "\(number) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return number
    }

    /// An integer or a floating-point number.
    func number(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.double ?? value.int.map(Double.init) else {
            wrongType(key, "a number", value)
            return nil
        }
        guard range.contains(number) else {
            report(key, "\(number) is out of range (\(range.lowerBound)…\(range.upperBound))")
            return nil
        }
        return number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.bool else {
            wrongType(key, "true or false", value)
            return nil
        }
        return flag
    }

    /// A list of strings; a single string counts as a list of one.
    func strings(_ key: String) -> [String] {
        guard let value = value(key) else { return [] }
        if let text = value.string { return [text] }
        guard let array = value.array else {
            wrongType(key, "a string or an array of strings", value)
            return []
        }
        var texts: [String] = []
        for element in array {
            guard let text = element.string else {
                wrongType(key, "an array of strings", element)
                return []
            }
            texts.append(text)
        }
        return texts
    }

    /// A sub-table (`[name]`), nil when absent.
    func table(_ key: String) -> TOMLTableReader? {
        guard let value = value(key) else { return nil }
        guard let table = value.table else {
            wrongType(key, "a table ([\(prefix)\(key)])", value)
            return nil
        }
        return TOMLTableReader(table, prefix: prefix + key + ".", section: "[\(prefix)\(key)]", context: context)
    }

    /// An array of tables (`[[name]]`).
    func tables(_ key: String) -> [TOMLTableReader] {
        guard let value = value(key) else { return [] }
        guard let array = value.array else {
            wrongType(key, "an array of tables ([[\(key)]])", value)
            return []
        }
        return array.enumerated().compactMap { index, element in
            guard let table = element.table else {
                wrongType(key, "an array of tables ([[\(key)]])", element)
                return nil
            }
            return TOMLTableReader(table, prefix: "\(prefix)\(key)[\(index)].", section: "[[\(prefix)\(key)]] #\(index + 1)", context: context)
        }
    }

    /// Reports every key of the table that no getter asked for, with the closest known key.
    func finish() {
        for key in table.keys where !known.contains(key) {
            let misplaced = !prefix.isEmpty && context.topLevelKeys.contains(key)
                ? " (a top-level key: in TOML a key after a [table] header belongs to that table; move it above the first table)" : nil
            let suggestion = misplaced ?? known.min { Self.distance($0, key) < Self.distance($1, key) }
                .flatMap { Self.distance($0, key) <= 3 ? " (did you mean \($0)?)" : nil } ?? ""
            context.report("unknown key '\(key)' in \(section)\(suggestion); known: \(known.joined(separator: ", "))", at: prefix + key)
        }
    }

    /// Levenshtein distance, for suggestions.
    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
