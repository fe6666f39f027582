import Foundation

/// Runs `count` copies of a loop at once on threads of their own (the caller's thread is one of
/// them) and returns when all have ended. For work that waits on the network — restoring from
/// object storage — where `concurrentPerform` would run no more loops at once than there are cores.
enum Workers {
    static func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1 else { body(0); return }
        withoutActuallyEscaping(body) { body in
            // Every thread has called `body` for the last time before `group.wait()` returns, and
            // the box lets go of it then, whenever the threads themselves are freed.
            let shared = UncheckedBox(body)
            let group = DispatchGroup()
            for index in 1..<count {
                group.enter()
                let thread = Thread {
                    shared.value?(index)
                    group.leave()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
            body(0)
            group.wait()
            shared.value = nil
        }
    }

    private final class UncheckedBox<T>: @unchecked Sendable {
        var value: T?
        init(_ value: T) { self.value = value }
    }
}
