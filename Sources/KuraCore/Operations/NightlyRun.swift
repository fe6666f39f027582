import Foundation

/// One night of a site, as `kura.toml` describes it (`kura run`): before-hooks → backup → copy →
/// forget → prune (when due) → verify → restore-test (when due) → export + rotation →
/// after-hooks, with the monitor's pings around it.
///
/// A failed step stops what depends on it and not the rest: without a new snapshot there is
/// nothing to copy or export and nothing is forgotten (a night that added nothing must not thin
/// the history); verify and the restore test check what the repository holds either way. A failed
/// before-hook stops everything. The run's exit code is the worst step's (a failed before-hook's
/// own code); its record is written into the repository (`RunRecord`), its figures to the
/// Prometheus textfile, and it never throws: every failure is a step's result.
public final class NightlyRun {
    public struct Options: Sendable {
        /// Say what would run; run no hook, send no ping, write nothing.
        public var dryRun: Bool
        /// How long each step waits for a conflicting lock.
        public var lockWait: TimeInterval
        /// Run the restore test tonight whatever `[checks]` says.
        public var restoreTest: Bool
        public var now: Date

        public init(dryRun: Bool = false, lockWait: TimeInterval = 1800, restoreTest: Bool = false, now: Date = Date()) {
            self.dryRun = dryRun
            self.lockWait = lockWait
            self.restoreTest = restoreTest
            self.now = now
        }
    }

    private let configuration: SiteConfiguration
    private let options: Options
    private let output: (String) -> Void
    private let cancellation: CancellationFlag
    /// Every line the run said, for the monitor's body.
    private var log: [String] = []
    private var steps: [RunStep] = []
    /// The repository's run records, read once (`pastRuns`).
    private var runsRead: [RunRecord]?

    /// `output` receives each line of the log as it is said.
    public init(configuration: SiteConfiguration, options: Options = Options(), cancellation: CancellationFlag = CancellationFlag(),
                output: @escaping (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.options = options
        self.cancellation = cancellation
        self.output = output
    }

    /// Runs the night and returns its record (already stored in the repository when it opened).
    public func run() -> RunRecord {
        let started = Date()
        let time = Timestamp.now()
        let pings = MonitorPings(settings: configuration.monitor)
        say("kura run \(options.dryRun ? "--dry-run " : "")with \(configuration.file) on \(LockInfo.currentHost)")
        if !options.dryRun, let problem = pings.start() { say("monitor: \(problem)") }

        let beforeFailed = runHooks(.beforeHooks, configuration.hooks.before, phase: "before")
        var repository: Result<Repository, Error>?
        if beforeFailed {
            for name in [RunStep.Name.backup, .copy, .forget, .prune, .verify, .restoreTest, .export] {
                record(RunStep(name: name, status: .skipped, message: "a before hook failed"))
            }
        } else {
            let opened = Result { try configuration.openRepository() }
            repository = opened
            runSteps(opened)
            _ = runHooks(.afterHooks, configuration.hooks.after, phase: "after")
        }
        if steps.contains(where: { $0.status == .failed }) { _ = runHooks(.errorHooks, configuration.hooks.onError, phase: "on_error") }

        let failed = steps.filter { $0.status == .failed }
        let before = steps.first { $0.name == .beforeHooks && $0.status == .failed }
        let exitCode = before?.exitCode ?? steps.map(\.exitCode).max() ?? 0
        let ran = steps.filter { $0.status != .skipped }.count
        let duration = Date().timeIntervalSince(started)
        let snapshot = steps.first { $0.name == .backup }?.produced.map { " (snapshot \($0.prefix(8)))" } ?? ""
        let summary = failed.isEmpty
            ? "kura run: OK — \(ran) step(s) ok, \(steps.count - ran) skipped in \(String(format: "%.1f", duration)) s\(snapshot)"
            : "kura run: FAILED — \(failed.map { "\($0.name.rawValue): \($0.message)" }.joined(separator: "; ")) — exit \(exitCode)"
        let record = RunRecord(time: time, host: LockInfo.currentHost, config: configuration.file, kuraVersion: KuraVersion.current,
                               durationSeconds: duration, exitCode: exitCode, steps: steps, summary: summary)
        guard !options.dryRun else {
            say(summary)
            return record
        }
        var facts: RepositoryFacts?
        if case .success(let repo)? = repository {
            do {
                try repo.withLock(.append, wait: options.lockWait) { _ = try repo.writeRun(record) }
            } catch {
                say("could not store the run record: \(error)")
            }
            // This night's record joins the ones read before the steps: no second read of runs/.
            facts = try? Self.facts(of: repo, runs: pastRuns(repo) + [record])
        }
        if let path = configuration.monitor.prometheusTextfile {
            do {
                try PrometheusTextfile.of(record, configFile: configuration.file, facts: facts).write(to: path)
            } catch {
                say("could not write \(path): \(error)")
            }
        }
        say(summary)
        for problem in pings.finish(ok: failed.isEmpty, summary: summary, log: log) { say("monitor: \(problem)") }
        return record
    }

    /// What a repository holds: snapshot count, the newest one's time, stored bytes, the newest
    /// restore test (from its verification records and `runs`, its run records).
    static func facts(of repository: Repository, runs: [RunRecord]) throws -> RepositoryFacts {
        let snapshots = try repository.snapshots()
        let totals = try repository.index().totals()
        let tests = RestoreTestHistory.of(verifications: try repository.verifications().map(\.record), runs: runs)
        return RepositoryFacts(snapshots: snapshots.count, lastSnapshotTime: snapshots.map(\.record.epochSeconds).max(),
                               repositoryBytes: totals.stored, lastRestoreTest: tests.last)
    }

    // MARK: - Steps

    private func runSteps(_ opened: Result<Repository, Error>) {
        let repository: Repository
        switch opened {
        case .success(let repo): repository = repo
        case .failure(let error):
            say("cannot open \(configuration.repository): \(error)")
            for name in [RunStep.Name.backup, .copy, .forget, .prune, .verify, .restoreTest, .export] {
                record(RunStep(name: name, status: .failed, exitCode: Self.exitCode(of: error), message: "\(error)"))
            }
            return
        }
        let backup = step(.backup) { try self.backup(repository) }
        // In a dry run the backup "succeeds" without a snapshot: what depends on it would run.
        let snapshot = backup.produced.flatMap { try? repository.resolve($0) }
        let noSnapshot = backup.status == .ok ? nil : backup.status == .skipped ? "no backup" : "the backup failed"
        step(.copy, skip: configuration.copyTo.isEmpty ? "no copy_to" : noSnapshot) {
            try self.copy(snapshot, from: repository)
        }
        let forget = step(.forget, skip: configuration.retention == nil ? "no [retention]" : noSnapshot) {
            try self.forget(repository)
        }
        step(.prune, skip: forget.status != .ok ? (forget.status == .failed ? "forget failed" : forget.message) : pruneSkipReason(repository)) {
            try self.prune(repository)
        }
        step(.verify) { try self.verify(repository) }
        step(.restoreTest, skip: restoreTestSkipReason(repository)) { try self.restoreTest(repository, snapshot: snapshot) }
        step(.export, skip: configuration.export == nil ? "no [export]" : noSnapshot) {
            try self.export(repository, snapshot: snapshot)
        }
    }

    /// What a step's body reports when it ends without throwing.
    private struct Outcome {
        var message: String
        var figures: [String: Double] = [:]
        var produced: String?
        var exitCode: Int32 = 0
        var failed = false
    }

    /// Runs one step (or records why it is skipped; in a dry run, says what would run).
    @discardableResult
    private func step(_ name: RunStep.Name, skip reason: String? = nil, _ body: () throws -> Outcome) -> RunStep {
        if let reason { return record(RunStep(name: name, status: .skipped, message: reason)) }
        if cancellation.isCancelled { return record(RunStep(name: name, status: .skipped, message: "interrupted")) }
        if options.dryRun { return record(RunStep(name: name, status: .ok, message: "would run")) }
        let started = Date()
        do {
            let outcome = try body()
            return record(RunStep(name: name, status: outcome.failed ? .failed : .ok, seconds: Date().timeIntervalSince(started),
                                  exitCode: outcome.exitCode, message: outcome.message, figures: outcome.figures, produced: outcome.produced))
        } catch {
            return record(RunStep(name: name, status: .failed, seconds: Date().timeIntervalSince(started),
                                  exitCode: Self.exitCode(of: error), message: "\(error)"))
        }
    }

    @discardableResult
    private func record(_ step: RunStep) -> RunStep {
        steps.append(step)
        let seconds = step.status == .skipped || options.dryRun ? "" : " in \(String(format: "%.2f", step.seconds)) s"
        let status = options.dryRun && step.status == .ok ? "run" : step.status == .failed ? "FAILED" : step.status.rawValue
        say("\(step.name.rawValue): \(status)\(seconds)\(step.message.isEmpty ? "" : " — " + step.message)")
        return step
    }

    private func say(_ line: String) {
        log.append(line)
        output(line)
    }

    static func exitCode(of error: Error) -> Int32 {
        (error as? KuraError)?.exitCode ?? 1
    }

    private func backup(_ repository: Repository) throws -> Outcome {
        let result = try repository.withLock(.append, wait: options.lockWait, notice: say) {
            try Archiver(repository: repository).backup(configuration.backupOptions, cancellation: cancellation)
        }
        result.notices.forEach(say)
        for path in result.unreadable { say("could not read \(path.path): \(path.reason)") }
        let summary = result.summary
        return Outcome(message: "snapshot \(result.snapshot.id.short): \(summary.filesNew) new, \(summary.filesChanged) changed, "
                       + "\(summary.filesUnchanged) unchanged files; \(HumanReadable.bytes(summary.dataAddedStored)) added"
                       + (result.unreadable.isEmpty ? "" : "; \(result.unreadable.count) path(s) could not be read"),
                       figures: ["files_new": Double(summary.filesNew), "files_changed": Double(summary.filesChanged),
                                 "files_unchanged": Double(summary.filesUnchanged), "bytes_read": Double(summary.bytesRead),
                                 "total_bytes": Double(summary.totalBytes), "bytes_added": Double(summary.dataAdded),
                                 "bytes_added_stored": Double(summary.dataAddedStored), "unreadable": Double(result.unreadable.count)],
                       produced: result.snapshot.id.hex, exitCode: result.unreadable.isEmpty ? 0 : 3)
    }

    private func copy(_ snapshot: Snapshot?, from repository: Repository) throws -> Outcome {
        guard let snapshot else { throw KuraError.unknownSnapshot(reference: "latest") }
        var sent: Int64 = 0
        var problems: [String] = []
        var worst: Int32 = 0
        for destination in configuration.copyTo {
            do {
                let target = try configuration.openCopyDestination(destination)
                guard target.config.id != repository.config.id || target.path != repository.path else {
                    throw KuraError.invalidArgument("copy_to names the repository itself")
                }
                let report = try repository.withLock(.read, wait: options.lockWait) {
                    try target.withLock(.append, wait: options.lockWait) {
                        try SnapshotCopier(from: repository, to: target).copy([snapshot.id.hex], cancellation: cancellation)
                    }
                }
                sent += report.bytesSent
                say("copied snapshot \(snapshot.id.short) to \(destination): \(HumanReadable.bytes(report.bytesSent)) sent")
            } catch {
                problems.append("\(destination): \(error)")
                worst = max(worst, Self.exitCode(of: error))
            }
        }
        return Outcome(message: problems.isEmpty ? "\(configuration.copyTo.count) repositor\(configuration.copyTo.count == 1 ? "y" : "ies"), "
                       + "\(HumanReadable.bytes(sent)) sent" : problems.joined(separator: "; "),
                       figures: ["bytes_sent": Double(sent)], exitCode: worst, failed: !problems.isEmpty)
    }

    private func forget(_ repository: Repository) throws -> Outcome {
        guard let policy = configuration.retention else { return Outcome(message: "no [retention]") }
        let removed = try repository.withLock(.exclusive, wait: options.lockWait, notice: say) { () -> Int in
            let groups = try repository.forgetPlan(policy, host: configuration.host ?? LockInfo.currentHost)
            let removed = groups.flatMap(\.removed).map(\.snapshot)
            try repository.forget(removed)
            try repository.forgetRuns(keepingNewest: RunRecord.kept)
            return removed.count
        }
        return Outcome(message: "\(removed) snapshot(s) forgotten", figures: ["removed": Double(removed)])
    }

    /// The run records of earlier nights (none when they cannot be read).
    private func pastRuns(_ repository: Repository) -> [RunRecord] {
        if let runsRead { return runsRead }
        let runs = (try? repository.runs()) ?? []
        runsRead = runs
        return runs
    }

    private func pruneSkipReason(_ repository: Repository) -> String? {
        switch configuration.prune {
        case .never: return "prune = never"
        case .always: return nil
        case .everyDays(let days):
            let last = pastRuns(repository).last { $0.step(.prune)?.status == .ok }
            guard let last else { return nil }
            let age = options.now.timeIntervalSince1970 - last.epochSeconds
            return age >= Double(days) * 86_400 - 3600 ? nil : "last pruned \(HumanReadable.age(age)) ago; every \(days) days"
        }
    }

    private func prune(_ repository: Repository) throws -> Outcome {
        let report = try repository.withLock(.exclusive, wait: options.lockWait, notice: say) {
            try Pruner(repository: repository).prune(PruneOptions(maxUnused: configuration.pruneMaxUnused))
        }
        return Outcome(message: "\(HumanReadable.bytes(report.bytesFreed)) freed, \(report.packsDeleted) pack(s) deleted, \(report.packsRepacked) repacked",
                       figures: ["bytes_freed": Double(report.bytesFreed), "packs_deleted": Double(report.packsDeleted)])
    }

    private func verify(_ repository: Repository) throws -> Outcome {
        let report = try repository.withLock(.read, wait: options.lockWait) {
            try RepositoryChecker(repository: repository).check(CheckOptions(subset: configuration.checks.readDataSubset), cancellation: cancellation)
        }
        report.errors.forEach { say("verify: \($0)") }
        let read = configuration.checks.readDataSubset.map { ", read \(report.packsRead) pack(s) (subset \($0))" } ?? ""
        return Outcome(message: report.ok ? "no errors in \(report.snapshots) snapshots, \(report.packs) packs\(read)"
                                          : "\(report.errors.count) error(s): \(report.errors.first ?? "")",
                       figures: ["errors": Double(report.errors.count), "packs_read": Double(report.packsRead), "bytes_read": Double(report.bytesRead)],
                       exitCode: report.ok ? 0 : 12, failed: !report.ok)
    }

    private func restoreTestSkipReason(_ repository: Repository) -> String? {
        if options.restoreTest { return nil }
        guard let days = configuration.checks.restoreTestEveryDays else { return "no restore_test_every_days in [checks]" }
        // Verification records go with their snapshot when it is forgotten; run records stay.
        let tests = RestoreTestHistory.of(verifications: ((try? repository.verifications()) ?? []).map(\.record), runs: pastRuns(repository))
        guard let last = tests.last?.epochSeconds else { return nil }
        let age = options.now.timeIntervalSince1970 - last
        return age >= Double(days) * 86_400 - 3600 ? nil : "last restore test \(HumanReadable.age(age)) ago; every \(days) days"
    }

    private func restoreTest(_ repository: Repository, snapshot: Snapshot?) throws -> Outcome {
        let target = try snapshot ?? repository.resolve("latest")
        let checks = configuration.checks
        let lines = try checks.checkSQL.map { path -> [String] in
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw KuraError.invalidArgument("cannot read check_sql file \(path)") }
            return text.components(separatedBy: "\n")
        } ?? []
        let options = RestoreTestOptions(scratchDatabase: checks.scratchDatabase, checkSQL: lines, mediaSample: checks.mediaSample,
                                         liveMedia: configuration.media.first)
        let record = try repository.withLock(.append, wait: self.options.lockWait) { () -> VerificationRecord in
            let record = try RestoreTester(repository: repository).test(target, options, cancellation: cancellation)
            try repository.writeVerification(record)
            return record
        }
        for check in record.checks where !check.ok { say("restore test: \(check.name): \(check.detail)") }
        return Outcome(message: record.ok ? "snapshot \(target.id.short): \(record.checks.count) check(s) passed"
                                          : "snapshot \(target.id.short): \(record.checks.filter { !$0.ok }.map(\.name).joined(separator: ", ")) failed",
                       figures: ["checks": Double(record.checks.count), "failed": Double(record.checks.filter { !$0.ok }.count)],
                       exitCode: record.ok ? 0 : 12, failed: !record.ok)
    }

    private func export(_ repository: Repository, snapshot: Snapshot?) throws -> Outcome {
        guard let settings = configuration.export, let snapshot else { return Outcome(message: "nothing to export") }
        try FileSystem.makeDirectories(settings.folder)
        let exporter = ArchiveExporter(repository: repository)
        exporter.effort = settings.level.map(DeflateEffort.fixed) ?? .automatic
        exporter.recipients = try settings.recipients.map { try AgeRecipient(parsing: $0) }
        let result = try repository.withLock(.read, wait: options.lockWait) {
            try exporter.export(snapshot, to: .directory(settings.folder), cancellation: cancellation)
        }
        let deleted = try ExportRotation.rotate(folder: settings.folder, database: snapshot.record.database ?? "files", keep: settings.keep)
        deleted.forEach { say("export: deleted \($0) (keep = \(settings.keep))") }
        return Outcome(message: "\(FileSystem.name(of: result.archivePath ?? "")) (\(HumanReadable.bytes(result.manifest.sizeBytes)))"
                       + (deleted.isEmpty ? "" : ", \(deleted.count) old archive(s) deleted"),
                       figures: ["archive_bytes": Double(result.manifest.sizeBytes), "deleted": Double(deleted.count)],
                       produced: result.archivePath)
    }

    // MARK: - Hooks

    /// Runs a phase's hooks in order, stopping at the first that fails; records one step.
    /// Returns whether one failed.
    private func runHooks(_ name: RunStep.Name, _ commands: [String], phase: String) -> Bool {
        guard !commands.isEmpty else { return false }
        if options.dryRun {
            record(RunStep(name: name, status: .ok, message: "would run \(commands.count) command(s)"))
            return false
        }
        let failed = steps.filter { $0.status == .failed }
        var environment = [
            "KURA_HOOK": phase, "KURA_CONFIG": configuration.file, "KURA_REPOSITORY": configuration.repository,
            "KURA_RUN_STATUS": failed.isEmpty ? "ok" : "failed",
            "KURA_FAILED_STEPS": failed.map(\.name.rawValue).joined(separator: ","),
            "KURA_ERROR": failed.first.map { "\($0.name.rawValue): \($0.message)" } ?? "",
        ]
        if let snapshot = steps.first(where: { $0.name == .backup })?.produced { environment["KURA_SNAPSHOT"] = snapshot }
        let runner = HookRunner(environment: environment, timeout: configuration.hooks.timeout)
        let started = Date()
        for (index, command) in commands.enumerated() {
            do {
                let outcome = try runner.run(command) { self.say("  \(phase)[\(index + 1)]: \($0)") }
                if outcome.status != 0 {
                    let why = outcome.timedOut ? "timed out after \(Int(configuration.hooks.timeout)) s" : "exited \(outcome.status)"
                    record(RunStep(name: name, status: .failed, seconds: Date().timeIntervalSince(started), exitCode: outcome.status,
                                   message: "\(phase) hook #\(index + 1) \(why)"))
                    return true
                }
            } catch {
                record(RunStep(name: name, status: .failed, seconds: Date().timeIntervalSince(started), exitCode: 1, message: "\(error)"))
                return true
            }
        }
        record(RunStep(name: name, status: .ok, seconds: Date().timeIntervalSince(started), message: "\(commands.count) command(s)"))
        return false
    }
}
