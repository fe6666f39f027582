import Foundation

/// A test-only hook for crash tests: with `KURA_TEST_KILL_AT=N` in the environment, the process
/// sends itself SIGKILL just before its N-th durable step (a rename that publishes a file, a
/// deletion by maintenance, a restored file put in place). Without the variable it costs one
/// atomic increment per step. Crash tests run a command with N = 1, 2, … until it completes, so
/// every step of its write order is interrupted once (docs/DESIGN.md, "Crash tests").
enum FaultInjection {
    private static let killAt: Int? = ProcessInfo.processInfo.environment["KURA_TEST_KILL_AT"].flatMap { Int($0) }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var steps = 0

    /// Called before every durable step.
    static func step() {
        guard let killAt else { return }
        lock.lock()
        steps += 1
        let current = steps
        lock.unlock()
        if current == killAt { kill(getpid(), SIGKILL) }
    }
}
