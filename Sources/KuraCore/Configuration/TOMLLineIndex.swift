import Foundation

/// The line of each key of a TOML document, for error messages: TOMLKit gives parse errors a
/// position but not the values it returns.
///
/// Keys are named by their path: `repository`, `retention.keep_daily`, `database[1].url` (the
/// second `[[database]]`); a table by its header's path. A line-oriented scan that understands
/// `[table]`, `[[array of tables]]`, `key = …` and dotted keys — enough for configuration files;
/// a key it cannot place (inside an inline table) falls back to its table's line.
struct TOMLLineIndex {
    private var lines: [String: Int] = [:]

    init(_ text: String) {
        var prefix = ""
        var arrayCounts: [String: Int] = [:]
        var openBrackets = 0
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            // Inside a multi-line array, nothing starts a key.
            if openBrackets > 0 {
                openBrackets += Self.bracketBalance(line)
                continue
            }
            if line.hasPrefix("[[") {
                let name = Self.keyPath(line.dropFirst(2).prefix { $0 != "]" })
                let index = arrayCounts[name, default: 0]
                arrayCounts[name] = index + 1
                prefix = "\(name)[\(index)]."
                lines["\(name)[\(index)]", default: number + 1] = number + 1
                lines[name, default: number + 1] = number + 1
            } else if line.hasPrefix("[") {
                let name = Self.keyPath(line.dropFirst().prefix { $0 != "]" })
                prefix = name + "."
                lines[name, default: number + 1] = number + 1
            } else if let equals = line.firstIndex(of: "="), !line.hasPrefix("#") {
                let key = Self.keyPath(line[..<equals])
                lines[prefix + key, default: number + 1] = number + 1
                openBrackets = Self.bracketBalance(line[line.index(after: equals)...])
            }
        }
    }

    /// The line of `path`, else of the nearest enclosing table that has one.
    func line(of path: String) -> Int? {
        var path = path
        while true {
            if let line = lines[path] { return line }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = String(path[..<cut])
        }
    }

    /// `a . "b"` → `a.b`.
    private static func keyPath<S: StringProtocol>(_ text: S) -> String {
        text.split(separator: ".").map {
            $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
        }.joined(separator: ".")
    }

    /// `[` minus `]` outside strings and comments: how many arrays the line leaves open.
    private static func bracketBalance<S: StringProtocol>(_ text: S) -> Int {
        var balance = 0
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "\"", "'": quote = character
            case "#": return balance
            case "[": balance += 1
            case "]": balance -= 1
            default: break
            }
        }
        return max(balance, 0)
    }
}
