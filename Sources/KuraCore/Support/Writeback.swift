import CKuraSystem

/// Starts the kernel's writeback of a file while it is still being written
/// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` every `step` bytes and at the end; it does not wait),
/// so that the disk works in parallel with whatever produces the bytes and the final `fsync` or
/// `syncfs` finds little left to write. Without it, the page cache holds gigabytes before the
/// kernel writes anything here (`vm.dirty_background_ratio`), and the durable end of a restore or
/// an export waits for all of it (docs/BENCHMARKS.md, "Writeback while writing"). A hint only:
/// its failure (a pipe, a filesystem without it) changes nothing.
struct Writeback {
    static let step: Int64 = 8 << 20
    private let fd: Int32
    private var written: Int64 = 0
    private var started: Int64 = 0

    init(fd: Int32) { self.fd = fd }

    /// Notes `count` more bytes written to the file; starts their writeback once `step` have
    /// accumulated.
    mutating func wrote(_ count: Int) {
        written += Int64(count)
        if written - started >= Self.step { start() }
    }

    /// Starts the writeback of what is left: after the last write.
    mutating func finish() {
        if written > started { start() }
    }

    private mutating func start() {
        kura_start_writeback(fd, started, written - started)
        started = written
    }
}
