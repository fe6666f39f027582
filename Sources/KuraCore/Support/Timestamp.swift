import Foundation

/// Formats and parses the times Kura writes: RFC 3339 with nanoseconds and the local UTC offset
/// at the moment of the backup (`2026-11-24T23:05:01.123456789+01:00`), so the local wall-clock
/// time of a snapshot survives and can be shown or exported later.
public enum Timestamp {
    /// Formats `seconds`/`nanoseconds` since the epoch in the process's local time zone.
    public static func format(seconds: Int, nanoseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        let offset = Int(parts.tm_gmtoff)
        let sign = offset < 0 ? "-" : "+"
        let zone = String(format: "%@%02d:%02d", sign, abs(offset) / 3600, (abs(offset) % 3600) / 60)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%09d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), nanoseconds) + zone
    }

    /// The current time, formatted.
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: Int(spec.tv_sec), nanoseconds: Int(spec.tv_nsec))
    }

    /// Seconds since the epoch of a formatted timestamp; nil when it is not one.
    public static func parse(_ text: String) -> Double? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 25 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= utf8.count else { return nil }
            return Int(String(decoding: utf8[range], as: UTF8.self))
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19) else { return nil }
        var index = 19
        var fraction = 0.0
        if index < utf8.count && utf8[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < utf8.count && utf8[index] >= 48 && utf8[index] <= 57 { index += 1 }
            fraction = Double("0." + String(decoding: utf8[start..<index], as: UTF8.self)) ?? 0
        }
        guard index + 6 == utf8.count, let zoneHours = number((index + 1)..<(index + 3)),
              let zoneMinutes = number((index + 4)..<(index + 6)) else { return nil }
        let zoneSign = utf8[index] == UInt8(ascii: "-") ? -1 : 1
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let utc = timegm(&parts)
        return Double(utc) - Double(zoneSign * (zoneHours * 3600 + zoneMinutes * 60)) + fraction
    }

    /// A user-given time (`backup --time`): `YYYY-MM-DD HH:MM:SS` in local time, or RFC 3339 with an
    /// offset; returned formatted in local time. Nil when it is neither.
    public static func fromUser(_ text: String) -> String? {
        if let seconds = parse(text) {
            let whole = seconds.rounded(.down)
            return format(seconds: Int(whole), nanoseconds: Int(((seconds - whole) * 1e9).rounded()))
        }
        let numbers = text.split(whereSeparator: { "-: T".contains($0) }).compactMap { Int($0) }
        guard numbers.count == 6 || numbers.count == 5 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(numbers[0] - 1900)
        parts.tm_mon = Int32(numbers[1] - 1)
        parts.tm_mday = Int32(numbers[2])
        parts.tm_hour = Int32(numbers[3])
        parts.tm_min = Int32(numbers[4])
        parts.tm_sec = Int32(numbers.count == 6 ? numbers[5] : 0)
        parts.tm_isdst = -1
        let seconds = mktime(&parts)
        guard seconds != -1 else { return nil }
        return format(seconds: Int(seconds), nanoseconds: 0)
    }
}
