import Foundation

/// A calendar duration as restic writes it: `1y6m`, `14d`, `2w`, `36h` (years, months, weeks,
/// days, hours, in that order, each optional). Used by `forget --keep-within` and `--retry-lock`.
public struct KeepDuration: Equatable, Sendable, CustomStringConvertible {
    public var years = 0, months = 0, days = 0, hours = 0, minutes = 0, seconds = 0

    public init(years: Int = 0, months: Int = 0, days: Int = 0, hours: Int = 0, minutes: Int = 0, seconds: Int = 0) {
        (self.years, self.months, self.days, self.hours, self.minutes, self.seconds) = (years, months, days, hours, minutes, seconds)
    }

    /// Parses digits followed by a unit: `y` years, `m` months, `w` weeks, `d` days, `h` hours,
    /// and for lock waits `min` minutes and `s` seconds.
    public init(parsing text: String) throws {
        let invalid = KuraError.invalidArgument("duration '\(text)': write it as e.g. 7d, 2w, 1y6m, 36h, 30s or 5min")
        var number = ""
        var unit = ""
        var parts: [(Int, String)] = []
        for character in text + "0" {
            if character.isNumber {
                if !unit.isEmpty {
                    guard let value = Int(number) else { throw invalid }
                    parts.append((value, unit))
                    (number, unit) = ("", "")
                }
                number.append(character)
            } else {
                guard !number.isEmpty else { throw invalid }
                unit.append(character)
            }
        }
        guard !parts.isEmpty, number == "0", unit.isEmpty else { throw invalid }
        for (value, unit) in parts {
            switch unit {
            case "y": years += value
            case "m": months += value
            case "w": days += 7 * value
            case "d": days += value
            case "h": hours += value
            case "min": minutes += value
            case "s": seconds += value
            default: throw invalid
            }
        }
    }

    /// The instant `self` before `epochSeconds`, calendar-aware for years and months (UTC).
    public func before(_ epochSeconds: Double) -> Double {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        var components = DateComponents()
        (components.year, components.month, components.day) = (-years, -months, -days)
        (components.hour, components.minute, components.second) = (-hours, -minutes, -seconds)
        let start = Date(timeIntervalSince1970: epochSeconds)
        return (calendar.date(byAdding: components, to: start) ?? start).timeIntervalSince1970
    }

    /// Approximate length in seconds (months of 30 days, years of 365): for waits.
    public var approximateInterval: TimeInterval {
        Double(((years * 365 + months * 30 + days) * 24 + hours) * 3600 + minutes * 60 + seconds)
    }

    public var description: String {
        let parts = [(years, "y"), (months, "m"), (days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
        return parts.filter { $0.0 != 0 }.map { "\($0.0)\($0.1)" }.joined()
    }
}
