/// How one segment of an export is deflated: a zlib level, and for a pg_dump's text zlib's
/// filtered strategy with a shorter search (`dumpText`). Chosen per chunk by `DeflateEffort`;
/// each setting has its own pool of deflate states in `GzipWriter`.
struct DeflateSetting: Hashable, Sendable {
    /// zlib level 1–9; 0: deflate *stored* blocks, nothing compressed.
    var level: Int32
    /// zlib's `Z_FILTERED`: matches of 5 bytes or fewer are written as literals.
    var filtered = false
    /// `deflateTune`'s limits in place of the level's own; nil: the level's.
    var search: Search?

    /// zlib's lazy-match limits (`deflateTune`): below `good` the full chain is searched, a match
    /// of `lazy` is not searched further, a match of `nice` ends the search, at most `chain` are tried.
    struct Search: Hashable, Sendable {
        var good: Int32
        var lazy: Int32
        var nice: Int32
        var chain: Int32
    }

    /// Stored blocks: for chunks known to be incompressible.
    static let stored = DeflateSetting(level: 0)

    /// zlib's `level`, its default strategy and search.
    static func level(_ level: Int32) -> DeflateSetting { DeflateSetting(level: level) }

    /// The text of a pg_dump custom-format file: numbers, dates and hex digests, where short
    /// matches cost more than the literals they replace. On the benchmark's 274 MB dump this is
    /// 75.4 MB in 6.1–7.2 s where level 5 gives 80.1 MB in 7.7–8.9 s and `gzip -6`'s setting
    /// 80.0 MB in 11.3 s; on source code or HTML it is 11–13 % larger than level 6, so only dumps
    /// get it (docs/BENCHMARKS.md, "Writeback while writing, the dump's own deflate setting").
    static let dumpText = DeflateSetting(level: 4, filtered: true, search: Search(good: 8, lazy: 16, nice: 16, chain: 8))
}
