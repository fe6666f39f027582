import ArgumentParser
import Foundation
import KuraCore

struct ForgetCommand: RepositoryCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Remove snapshots by a retention policy (or by id); --prune also frees their data.",
        discussion: """
            Snapshots are grouped by host and paths; in each group, newest first, a snapshot is kept when \
            a rule keeps it: --keep-last N newest; --keep-hourly/daily/weekly/monthly/yearly N: the newest \
            of each of the N most recent hours/days/ISO weeks/months/years that have one (local time of the \
            backup); --keep-within DURATION (1y6m, 14d, 36h): all newer than the group's newest minus \
            DURATION; --keep-tag T: all tagged T (e.g. pre-restore). N = -1 means unlimited. See \
            docs/DESIGN.md, "Retention", for a worked example.
            """)

    @OptionGroup var repository: RepositoryOptions
    var lockMode: LockMode { dryRun ? .read : .exclusive }
    @OptionGroup var output: OutputOptions

    @Argument(help: "Snapshots to forget explicitly (id, prefix, 'latest', export name), instead of a policy.")
    var snapshots: [String] = []

    @Option(help: "Keep the N newest snapshots.") var keepLast = 0
    @Option(help: "Keep the newest snapshot of each of the last N hours.") var keepHourly = 0
    @Option(help: "Keep the newest snapshot of each of the last N days.") var keepDaily = 0
    @Option(help: "Keep the newest snapshot of each of the last N ISO weeks.") var keepWeekly = 0
    @Option(help: "Keep the newest snapshot of each of the last N months.") var keepMonthly = 0
    @Option(help: "Keep the newest snapshot of each of the last N years.") var keepYearly = 0
    @Option(help: ArgumentHelp("Keep snapshots newer than the newest minus DURATION (e.g. 14d, 1y6m).", valueName: "DURATION"))
    var keepWithin: KeepDuration?
    @Option(name: .customLong("keep-tag"), help: "Keep snapshots with this tag (repeatable).") var keepTags: [String] = []
    @Option(help: "Only consider snapshots of this host.") var host: String?

    @Flag(help: "Only show what would be removed, and why each kept snapshot is kept.") var dryRun = false
    @Flag(help: "Run prune afterwards.") var prune = false
    @Option(help: ArgumentHelp("With --prune: repack packs more than this share unused.", valueName: "N%")) var maxUnused = Percentage(10)

    var policy: ForgetPolicy {
        ForgetPolicy(last: keepLast, hourly: keepHourly, daily: keepDaily, weekly: keepWeekly, monthly: keepMonthly,
                     yearly: keepYearly, within: keepWithin, tags: keepTags)
    }

    func validate() throws {
        let policy = self.policy
        if snapshots.isEmpty && policy.isEmpty {
            throw ValidationError("no policy given: pass --keep-* options (or snapshot ids); forget refuses to remove everything")
        }
        if !snapshots.isEmpty && !policy.isEmpty { throw ValidationError("give either snapshot ids or --keep-* options, not both") }
    }

    struct Report: Encodable {
        struct Group: Encodable {
            var host: String
            var paths: [String]
            var keep: [Item]
            var remove: [Item]
        }
        struct Item: Encodable {
            var id: String
            var time: String
            var reasons: [String]
        }
        var dryRun: Bool
        var groups: [Group]
        var prune: PruneReport?

        enum CodingKeys: String, CodingKey { case dryRun = "dry_run", groups, prune }
    }

    func run() throws {
        try withRepository { repo in
            let groups = try repo.forgetPlan(policy, host: host, naming: snapshots)
            let removed = groups.flatMap(\.removed).map(\.snapshot)
            if !dryRun { try repo.forget(removed) }
            var pruneReport: PruneReport?
            if prune && !dryRun {
                pruneReport = try Pruner(repository: repo).prune(PruneOptions(maxUnused: maxUnused.fraction))
            }
            if output.json {
                let item = { (decision: ForgetDecision) in
                    Report.Item(id: decision.snapshot.id.hex, time: decision.snapshot.record.time, reasons: decision.reasons)
                }
                try Terminal.printJSON(Report(dryRun: dryRun, groups: groups.map {
                    Report.Group(host: $0.key.host, paths: $0.key.paths, keep: $0.kept.map(item), remove: $0.removed.map(item))
                }, prune: pruneReport))
                return
            }
            for group in groups {
                if snapshots.isEmpty { print("host \(group.key.host), paths \(group.key.paths.joined(separator: ", ")):") }
                print("keep \(group.kept.count) snapshot(s):")
                for decision in group.kept where snapshots.isEmpty {
                    print("  \(decision.snapshot.id.short)  \(Format.time(decision.snapshot.record.time))  \(decision.reasons.joined(separator: ", "))")
                }
                print("\(dryRun ? "would remove" : "removed") \(group.removed.count) snapshot(s):")
                for decision in group.removed {
                    print("  \(decision.snapshot.id.short)  \(Format.time(decision.snapshot.record.time))")
                }
            }
            if let pruneReport { PruneCommand.printText(pruneReport) }
        }
    }
}
