import Foundation

/// One restore test's outcome, from a verification record (`kura verify --restore-test`) or a run
/// record's `restore_test` step (`kura run`).
public struct RestoreTestResult: Codable, Equatable, Sendable {
    /// When it ran (RFC 3339).
    public var time: String
    public var ok: Bool
    /// The snapshot tested (hex), when known.
    public var snapshot: String?

    public var epochSeconds: Double { Timestamp.parse(time) ?? 0 }
}

/// Every restore test a repository remembers, oldest first. A verification record goes when its
/// snapshot is forgotten, a run record stays (the newest 400): together they keep the history
/// whatever the retention. A run's restore test is also a verification record while its snapshot
/// lives, so one test may appear twice — harmless for "newest" and "failing since".
public enum RestoreTestHistory {
    public static func of(verifications: [VerificationRecord], runs: [RunRecord]) -> [RestoreTestResult] {
        let recorded = verifications.map { RestoreTestResult(time: $0.time, ok: $0.ok, snapshot: $0.snapshot) }
        let run = runs.compactMap { record -> RestoreTestResult? in
            guard let step = record.step(.restoreTest), step.status != .skipped else { return nil }
            return RestoreTestResult(time: record.time, ok: step.status == .ok, snapshot: nil)
        }
        return (recorded + run).sorted { $0.epochSeconds < $1.epochSeconds }
    }

    /// The time of the first failure after the last success, when the newest test failed.
    public static func failingSince(_ history: [RestoreTestResult]) -> String? {
        guard let newest = history.last, !newest.ok else { return nil }
        let lastPass = history.last { $0.ok }?.epochSeconds ?? 0
        return history.first { !$0.ok && $0.epochSeconds > lastPass }?.time
    }
}
