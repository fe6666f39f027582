import Foundation

/// Which snapshots `kura forget` keeps, with restic's semantics (docs/DESIGN.md, "Retention"):
/// within each group of snapshots with the same host and paths, newest first, a snapshot is kept
/// when any rule keeps it:
/// - `last`: the n newest;
/// - `hourly`/`daily`/`weekly`/`monthly`/`yearly`: the newest snapshot of each of the n most recent
///   hours/days/ISO weeks/months/years that have a snapshot (local time of the backup);
/// - `within`: every snapshot less than the duration older than the group's newest;
/// - `tags`: every snapshot carrying one of the tags.
/// A count of -1 means unlimited. Everything no rule keeps is forgotten.
///
/// A snapshot dated more than `futureTolerance` after now is kept and counted by no rule: a
/// record that lies about its time (written by a compromised host into an append-only
/// repository) must not push real snapshots out of `last` or the calendar buckets.
public struct ForgetPolicy: Equatable, Sendable {
    public var last = 0
    public var hourly = 0
    public var daily = 0
    public var weekly = 0
    public var monthly = 0
    public var yearly = 0
    public var within: KeepDuration?
    public var tags: [String] = []

    public init(last: Int = 0, hourly: Int = 0, daily: Int = 0, weekly: Int = 0, monthly: Int = 0, yearly: Int = 0,
                within: KeepDuration? = nil, tags: [String] = []) {
        (self.last, self.hourly, self.daily, self.weekly, self.monthly, self.yearly) = (last, hourly, daily, weekly, monthly, yearly)
        self.within = within
        self.tags = tags
    }

    /// True when no rule is given (forget then refuses rather than forgetting everything).
    public var isEmpty: Bool {
        [last, hourly, daily, weekly, monthly, yearly].allSatisfy { $0 == 0 } && within == nil && tags.isEmpty
    }

    /// How far ahead of this machine's clock a snapshot may be dated and still count (clock skew).
    public static let futureTolerance: Double = 3600

    /// Applies the policy to each group (host + paths) of `snapshots`; `now` decides which are
    /// dated in the future.
    public func apply(to snapshots: [Snapshot], now: Double = Date().timeIntervalSince1970) -> [ForgetGroup] {
        let grouped = Dictionary(grouping: snapshots) { ForgetGroup.Key(host: $0.record.host, paths: $0.record.paths.sorted()) }
        return grouped.keys.sorted().map { key in
            let group = grouped[key] ?? []
            let future = group.filter { Self.isInTheFuture($0, now: now) }
            let kept = future.map { ForgetDecision(snapshot: $0, keep: true, reasons: ["dated in the future: counted by no rule"]) }
            return ForgetGroup(key: key, decisions: kept + decide(group.filter { !Self.isInTheFuture($0, now: now) }))
        }
    }

    /// True when `snapshot` is dated more than `futureTolerance` after `now`.
    public static func isInTheFuture(_ snapshot: Snapshot, now: Double = Date().timeIntervalSince1970) -> Bool {
        snapshot.record.epochSeconds > now + futureTolerance
    }

    /// The decision for `kura forget SNAP…`: the named snapshots go, the others stay, in one group.
    public static func naming(_ ids: Set<ChunkID>, in snapshots: [Snapshot]) -> [ForgetGroup] {
        [ForgetGroup(key: ForgetGroup.Key(host: "", paths: []), decisions: snapshots.reversed().map {
            ForgetDecision(snapshot: $0, keep: !ids.contains($0.id), reasons: ids.contains($0.id) ? [] : ["not named"])
        })]
    }

    private func decide(_ group: [Snapshot]) -> [ForgetDecision] {
        let newestFirst = group.sorted { ($0.record.epochSeconds, $0.id) > ($1.record.epochSeconds, $1.id) }
        let cutoff = within.map { $0.before(newestFirst.first?.record.epochSeconds ?? 0) }
        var buckets: [Bucket] = [
            Bucket(count: last, reason: "last snapshot") { _, position in "\(position)" },
            Bucket(count: hourly, reason: "hourly snapshot") { time, _ in time.hour },
            Bucket(count: daily, reason: "daily snapshot") { time, _ in time.day },
            Bucket(count: weekly, reason: "weekly snapshot") { time, _ in time.isoWeek },
            Bucket(count: monthly, reason: "monthly snapshot") { time, _ in time.month },
            Bucket(count: yearly, reason: "yearly snapshot") { time, _ in time.year },
        ]
        var decisions: [ForgetDecision] = []
        for (position, snapshot) in newestFirst.enumerated() {
            var reasons: [String] = []
            if let tag = snapshot.record.tags.first(where: tags.contains) { reasons.append("has tag \(tag)") }
            if let cutoff, let within, snapshot.record.epochSeconds > cutoff { reasons.append("within \(within)") }
            let time = LocalTime(snapshot.record.time)
            for index in buckets.indices where buckets[index].count != 0 {
                let value = buckets[index].key(time, position)
                if value != buckets[index].lastValue {
                    buckets[index].lastValue = value
                    if buckets[index].count > 0 { buckets[index].count -= 1 }
                    reasons.append(buckets[index].reason)
                }
            }
            decisions.append(ForgetDecision(snapshot: snapshot, keep: !reasons.isEmpty, reasons: reasons))
        }
        return decisions
    }

    private struct Bucket {
        var count: Int
        let reason: String
        let key: (LocalTime, Int) -> String
        var lastValue: String?

        init(count: Int, reason: String, key: @escaping (LocalTime, Int) -> String) {
            (self.count, self.reason, self.key) = (count, reason, key)
        }
    }
}

/// The calendar buckets of a snapshot's local (backup-time) clock.
struct LocalTime {
    let year: String, month: String, day: String, hour: String, isoWeek: String

    init(_ timestamp: String) {
        let text = Array(timestamp.utf8)
        func part(_ range: Range<Int>) -> String {
            range.upperBound <= text.count ? String(decoding: text[range], as: UTF8.self) : ""
        }
        year = part(0..<4)
        month = part(0..<7)
        day = part(0..<10)
        hour = part(0..<13)
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let components = DateComponents(year: Int(part(0..<4)), month: Int(part(5..<7)), day: Int(part(8..<10)), hour: 12)
        if let date = calendar.date(from: components) {
            let week = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
            isoWeek = String(format: "%04d-W%02d", week.yearForWeekOfYear ?? 0, week.weekOfYear ?? 0)
        } else {
            isoWeek = day
        }
    }
}

/// The snapshots of one host and set of paths, and what the policy decided for each.
public struct ForgetGroup: Sendable {
    public struct Key: Hashable, Comparable, Sendable {
        public var host: String
        public var paths: [String]

        public static func < (a: Key, b: Key) -> Bool {
            (a.host, a.paths.joined(separator: "\n")) < (b.host, b.paths.joined(separator: "\n"))
        }
    }

    public var key: Key
    /// Newest first.
    public var decisions: [ForgetDecision]

    public var kept: [ForgetDecision] { decisions.filter(\.keep) }
    public var removed: [ForgetDecision] { decisions.filter { !$0.keep } }
}

/// One snapshot's fate, with the rules that keep it.
public struct ForgetDecision: Sendable {
    public var snapshot: Snapshot
    public var keep: Bool
    public var reasons: [String]
}
