import Foundation

/// Calls `body` with NUL-terminated copies of `strings`, freed when it returns: the arrays that C
/// calls take (curl's header list, `posix_spawn`'s argv and envp). A NULL pointer follows the
/// last element in memory (not counted in the buffer), as argv and envp need.
func withCStrings<T>(_ strings: [String], _ body: (UnsafeBufferPointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0.dropLast())) }
}
