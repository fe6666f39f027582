import ArgumentParser
import KuraCore

// Option values that have a type parse as that type, so that a bad value is a usage error
// (exit 2) that names its own flag: "The value 'abc' is invalid for '--media-sample <N%>'".

/// A share given as `N%` or `N`, from 0 to 100 (`--max-unused`, `--media-sample`).
struct Percentage: ExpressibleByArgument, CustomStringConvertible, Sendable {
    /// 0.0 to 1.0.
    let fraction: Double

    init(_ percent: Double) { fraction = percent / 100 }

    init?(argument: String) {
        let digits = argument.hasSuffix("%") ? String(argument.dropLast()) : argument
        guard let value = Double(digits), value.isFinite, (0...100).contains(value) else { return nil }
        fraction = value / 100
    }

    var description: String {
        let percent = fraction * 100
        return (percent == percent.rounded() ? String(Int(percent)) : String(percent)) + "%"
    }
}

/// A KuraCore type the CLI takes as an option value through its throwing parser: a value it
/// refuses is nil here, which the argument parser reports as invalid for that flag.
public protocol ParsedArgument: ExpressibleByArgument {
    static func parse(_ text: String) throws -> Self
}

extension ParsedArgument {
    public init?(argument: String) {
        guard let value = try? Self.parse(argument) else { return nil }
        self = value
    }
}

extension KeepDuration: ParsedArgument {
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
}

extension CompressionSetting: ParsedArgument {
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
}

extension ReadDataSubset: ParsedArgument {
    public static func parse(_ text: String) throws -> Self { try Self(parsing: text) }
}

extension DatabaseURL: ParsedArgument {
    public static func parse(_ text: String) throws -> Self { try Self(text) }
}

extension PathPattern: ParsedArgument {
    public static func parse(_ text: String) throws -> Self { try Self(text) }
}
