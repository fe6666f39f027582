import Foundation

/// A read-only memory map of a whole file: its bytes without reading them into the heap.
final class MappedFile {
    private(set) var bytes: UnsafeRawBufferPointer
    private var address: UnsafeMutableRawPointer?

    init(path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KuraError.posix("cannot open", path) }
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KuraError.posix("cannot stat", path) }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw KuraError.posix("cannot map", path)
        }
        address = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    deinit { close() }

    /// Gives back the pages before `offset`, read and no longer needed: a mapping counts in the
    /// process's resident memory, and a million files' snapshot database is 150 MB. (The file is
    /// mapped read-only and private: a page given back is read from the file again if touched.)
    func release(before offset: Int) {
        guard let address else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let end = min(offset, bytes.count) / page * page
        if end > 0 { madvise(address, end, MADV_DONTNEED) }
    }

    func close() {
        if let address { munmap(address, bytes.count) }
        address = nil
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    }
}
