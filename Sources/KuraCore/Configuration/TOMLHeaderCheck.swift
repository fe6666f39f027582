/// Finds what TOMLKit's bundled toml++ 3.4 cannot be given: a table header whose name does not
/// start with a bare-key character or a quote (`[]`, `[.a]`, `[é]`, `[[=]]`), and a `}` that closes
/// no inline table (`a = [}]`). toml++ asserts (aborts the process) on those instead of reporting
/// an error, so they are refused here first (both found by the `config` fuzz harness). A scan
/// that knows strings, comments and brackets: table headers are recognised only at the start of a
/// line outside values.
enum TOMLHeaderCheck {
    /// The line and message of the first such header, or nil.
    static func firstProblem(_ text: String) -> (line: Int, message: String)? {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var line = 1
        var atLineStart = true
        // The open `[` (arrays) and `{` (inline tables) of the value being read.
        var open: [Unicode.Scalar] = []
        func at(_ offset: Int) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\n":
                line += 1
                atLineStart = true
                index += 1
                continue
            case " ", "\t", "\r":
                index += 1
                continue
            case "#":
                while index < scalars.count && scalars[index] != "\n" { index += 1 }
                continue
            case "\"", "'":
                let triple = at(1) == scalar && at(2) == scalar
                index += triple ? 3 : 1
                while index < scalars.count {
                    let current = scalars[index]
                    if current == "\\" && scalar == "\"" {
                        index += 2
                        continue
                    }
                    if current == "\n" {
                        if !triple { break }
                        line += 1
                    }
                    if current == scalar && (!triple || (at(1) == scalar && at(2) == scalar)) {
                        index += triple ? 3 : 1
                        // A multi-line string may end with up to two more quotes of its own.
                        while triple && index < scalars.count && scalars[index] == scalar { index += 1 }
                        break
                    }
                    index += 1
                }
            case "[" where atLineStart && open.isEmpty:
                index += at(1) == "[" ? 2 : 1
                while let next = at(0), next == " " || next == "\t" { index += 1 }
                guard let first = at(0), isBareKey(first) || first == "\"" || first == "'" else {
                    return (line, "a table name must start with a letter, a digit, _ or -, or be quoted: [\"name\"]")
                }
                // The rest of the header (quoted parts included) stays on this line.
                while index < scalars.count && scalars[index] != "\n" && scalars[index] != "#" {
                    if scalars[index] == "\"" || scalars[index] == "'" { break }
                    index += 1
                }
            case "[", "{":
                open.append(scalar)
                index += 1
            case "}":
                guard open.last == "{" else { return (line, "a '}' that closes no inline table") }
                open.removeLast()
                index += 1
            case "]":
                if open.last == "[" { open.removeLast() }
                index += 1
            default:
                index += 1
            }
            atLineStart = false
        }
        return nil
    }

    private static func isBareKey(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
    }
}
