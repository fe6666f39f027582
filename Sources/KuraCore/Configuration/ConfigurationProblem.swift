/// One thing wrong in a configuration file: `kura.toml:12: …`, as compilers say it, so that an
/// editor can jump to it.
public struct ConfigurationProblem: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based; nil when the problem is not on one line (a file that cannot be read).
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}
