import Foundation

/// Which packs `verify --read-data-subset` reads: a deterministic slice of the pack id space, so
/// that repeated runs cover the whole repository.
///
/// - `n/t`: the n-th of t equal slices (by the pack id's first 64 bits): running 1/t … t/t reads
///   everything once.
/// - `N%`: a window of N % of the id space that moves by N % each day (days since 1970-01-01 UTC):
///   nightly runs of `5%` read every pack within 20 days.
public struct ReadDataSubset: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case slice(Int, of: Int)
        case percent(Double)
    }

    public var kind: Kind
    /// The day number for `N%` windows (default: today).
    public var day: Int

    public init(kind: Kind, day: Int = Int(Date().timeIntervalSince1970 / 86_400)) {
        self.kind = kind
        self.day = day
    }

    /// Parses `N%` (0 < N ≤ 100, decimals allowed) or `n/t` (1 ≤ n ≤ t).
    public init(parsing text: String, day: Int = Int(Date().timeIntervalSince1970 / 86_400)) throws {
        let invalid = KuraError.invalidArgument("--read-data-subset '\(text)': give a percentage such as 5% or a slice n/t such as 2/7")
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent > 0, percent <= 100 else { throw invalid }
            self.init(kind: .percent(percent), day: day)
        } else {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let n = Int(parts[0]), let t = Int(parts[1]), t >= 1, n >= 1, n <= t else { throw invalid }
            self.init(kind: .slice(n, of: t), day: day)
        }
    }

    /// True when the pack belongs to this subset.
    public func contains(_ pack: ChunkID) -> Bool {
        let position = pack.unitInterval
        switch kind {
        case .slice(let n, let t):
            return min(Int(position * Double(t)), t - 1) == n - 1
        case .percent(let percent):
            let width = percent / 100
            if width >= 1 { return true }
            let start = (Double(day) * width).truncatingRemainder(dividingBy: 1)
            let offset = (position - start + 1).truncatingRemainder(dividingBy: 1)
            return offset < width
        }
    }

    public var description: String {
        switch kind {
        case .slice(let n, let t): return "\(n)/\(t)"
        case .percent(let percent): return String(format: "%g%% (window of day %d)", percent, day)
        }
    }
}
