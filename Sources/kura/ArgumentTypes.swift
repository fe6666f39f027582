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

extension KeepDuration: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? KeepDuration(parsing: argument) else { return nil }
        self = value
    }
}

extension CompressionSetting: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? CompressionSetting(parsing: argument) else { return nil }
        self = value
    }
}

extension ReadDataSubset: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? ReadDataSubset(parsing: argument) else { return nil }
        self = value
    }
}

extension DatabaseURL: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? DatabaseURL(argument) else { return nil }
        self = value
    }
}

extension PathPattern: ExpressibleByArgument {
    public init?(argument: String) {
        guard let value = try? PathPattern(argument) else { return nil }
        self = value
    }
}
