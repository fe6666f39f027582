import Foundation

/// Figures as people read them, shared by the command line and the run log.
public enum HumanReadable {
    /// `1.50 MiB`.
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.2f %@", value, units[unit])
    }

    /// `45 s`, `12 min`, `31 h`, `3 days`: an age to a useful precision.
    public static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<90: return "\(Int(seconds.rounded())) s"
        case ..<5400: return "\(Int((seconds / 60).rounded())) min"
        case ..<(72 * 3600): return "\(Int((seconds / 3600).rounded())) h"
        default: return "\(Int((seconds / 86_400).rounded())) days"
        }
    }
}
