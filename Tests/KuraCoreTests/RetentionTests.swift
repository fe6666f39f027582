import Foundation
import Testing
@testable import KuraCore
import KuraTestSupport

/// `forget` policies on synthetic snapshot records (no data needed to decide what to keep).
@Suite struct RetentionTests {
    static func snapshot(_ time: String, host: String = "web1", tags: [String] = []) -> Snapshot {
        let record = SnapshotRecord(version: 1, time: time, host: host, tags: tags, paths: ["/srv/media"], database: nil,
                                    databaseEngine: nil, parent: nil, tree: .init(size: 0, chunks: []), kuraVersion: "test",
                                    summary: BackupSummary())
        return Snapshot(id: SHA256Hasher.hash(Array((time + host + tags.joined()).utf8)), record: record)
    }

    /// The clock of these tests: 2027-01-01 00:00 UTC, after every night of `year`.
    static let now = 1_798_761_600.0

    /// One snapshot per night of 2026 at 02:00 (+01:00).
    static let year: [Snapshot] = (0..<365).map { day in
        let date = Date(timeIntervalSince1970: 1_767_225_600 + Double(day) * 86_400)  // 2026-01-01 00:00 UTC
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return snapshot(String(format: "%04d-%02d-%02dT02:00:00.000000000+01:00", parts.year!, parts.month!, parts.day!))
    }

    static func keptDays(_ groups: [ForgetGroup]) -> [String] {
        groups.flatMap(\.kept).map { String($0.snapshot.record.time.prefix(10)) }.sorted()
    }

    /// The worked example of docs/DESIGN.md: 7 daily, 4 weekly, 12 monthly over a year of nights.
    @Test func dailyWeeklyMonthlyOverAYear() {
        let groups = ForgetPolicy(daily: 7, weekly: 4, monthly: 12).apply(to: Self.year, now: Self.now)
        let expected = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31",
                        "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-13", "2026-12-20",
                        "2026-12-25", "2026-12-26", "2026-12-27", "2026-12-28", "2026-12-29", "2026-12-30", "2026-12-31"]
        #expect(Self.keptDays(groups) == expected)
        #expect(groups.flatMap(\.removed).count == 365 - expected.count)
        let newest = groups.flatMap(\.kept).first { $0.snapshot.record.time.hasPrefix("2026-12-31") }
        #expect(newest?.reasons == ["daily snapshot", "weekly snapshot", "monthly snapshot"])
    }

    @Test func lastWithinYearlyAndUnlimited() {
        #expect(Self.keptDays(ForgetPolicy(last: 3).apply(to: Self.year, now: Self.now)) == ["2026-12-29", "2026-12-30", "2026-12-31"])
        // Within 3 days of the newest: strictly newer than 2026-12-28T02:00.
        #expect(Self.keptDays(ForgetPolicy(within: KeepDuration(days: 3)).apply(to: Self.year, now: Self.now)) == ["2026-12-29", "2026-12-30", "2026-12-31"])
        #expect(Self.keptDays(ForgetPolicy(yearly: 5).apply(to: Self.year, now: Self.now)) == ["2026-12-31"])
        #expect(ForgetPolicy(monthly: -1).apply(to: Self.year, now: Self.now).flatMap(\.kept).count == 12)
        #expect(ForgetPolicy(hourly: 2).apply(to: Self.year, now: Self.now).flatMap(\.kept).count == 2)
    }

    @Test func tagsAndHostsAreKeptApart() {
        let snapshots = Self.year.prefix(10) + [
            Self.snapshot("2026-01-03T05:00:00.000000000+01:00", tags: ["pre-restore"]),
            Self.snapshot("2026-01-02T02:00:00.000000000+01:00", host: "web2"),
        ]
        let groups = ForgetPolicy(last: 1, tags: ["pre-restore"]).apply(to: Array(snapshots), now: Self.now)
        #expect(groups.map(\.key.host) == ["web1", "web2"])
        let kept = groups.flatMap(\.kept).map { "\($0.snapshot.record.host) \($0.snapshot.record.time.prefix(13)) \($0.reasons)" }
        #expect(kept.sorted() == [
            "web1 2026-01-03T05 [\"has tag pre-restore\"]",
            "web1 2026-01-10T02 [\"last snapshot\"]",
            "web2 2026-01-02T02 [\"last snapshot\"]",
        ])
        #expect(ForgetPolicy().isEmpty)
        #expect(!ForgetPolicy(tags: ["x"]).isEmpty)
    }

    @Test func latestIsTheNewestBackupNotASafetySnapshot() throws {
        let backup = Self.snapshot("2026-01-02T02:00:00.000000000+01:00")
        let safety = Self.snapshot("2026-01-02T09:00:00.000000000+01:00", tags: ["pre-restore"])
        #expect(try SnapshotReference("latest").resolve(in: [backup, safety]) == backup)
        #expect(try SnapshotReference("latest").resolve(in: [safety]) == safety, "only safety snapshots: the newest of them")
        #expect(try SnapshotReference(safety.id.short).resolve(in: [backup, safety]) == safety)
    }

    @Test func durations() throws {
        #expect(try KeepDuration(parsing: "1y6m") == KeepDuration(years: 1, months: 6))
        #expect(try KeepDuration(parsing: "2w3d12h") == KeepDuration(days: 17, hours: 12))
        #expect(try KeepDuration(parsing: "5min30s").approximateInterval == 330)
        for bad in ["", "7", "d", "3x", "1d2", "-1d"] {
            #expect(kuraError { _ = try KeepDuration(parsing: bad) } != nil, "\(bad)")
        }
        // Calendar-aware: one month before 2026-03-31 is 2026-02-28.
        let end = try #require(Timestamp.parse("2026-03-31T12:00:00+00:00"))
        #expect(KeepDuration(months: 1).before(end) == Timestamp.parse("2026-02-28T12:00:00+00:00"))
    }

    @Test func readDataSubsetsCoverEveryPackOnce() throws {
        let packs = (0..<2000).map { SHA256Hasher.hash(Array("pack \($0)".utf8)) }
        var counts = [ChunkID: Int]()
        for n in 1...7 {
            let subset = try ReadDataSubset(parsing: "\(n)/7")
            for pack in packs where subset.contains(pack) { counts[pack, default: 0] += 1 }
        }
        #expect(counts.count == packs.count && counts.values.allSatisfy { $0 == 1 })
        // 5% windows on 20 consecutive days read every pack; one day reads about 5%.
        var covered = Set<ChunkID>()
        for day in 20_000..<20_020 {
            covered.formUnion(packs.filter(try ReadDataSubset(parsing: "5%", day: day).contains))
        }
        #expect(covered.count == packs.count)
        let oneDay = packs.filter(try ReadDataSubset(parsing: "5%", day: 20_000).contains).count
        #expect((60...140).contains(oneDay))
        for bad in ["0%", "101%", "0/3", "4/3", "x", "1/0"] {
            #expect(kuraError { _ = try ReadDataSubset(parsing: bad) } != nil, "\(bad)")
        }
    }

    /// A record dated in the future (a compromised host's lie) is kept but takes no rule's place:
    /// `--keep-last 3` still keeps the three real newest nights.
    @Test func snapshotsDatedInTheFutureCountForNoRule() {
        let forged = Self.snapshot("2031-01-01T02:00:00.000000000+01:00")
        let groups = ForgetPolicy(last: 3, daily: 2).apply(to: Self.year + [forged], now: Self.now)
        #expect(Self.keptDays(groups) == ["2026-12-29", "2026-12-30", "2026-12-31", "2031-01-01"])
        #expect(groups.flatMap(\.kept).first { $0.snapshot.id == forged.id }?.reasons == ["dated in the future: counted by no rule"])
        // Within the clock-skew tolerance a snapshot counts as usual.
        let skewed = Self.snapshot("2027-01-01T01:30:00.000000000+01:00")
        #expect(Self.keptDays(ForgetPolicy(last: 1).apply(to: Self.year + [skewed], now: Self.now)) == ["2027-01-01"])
    }
}
