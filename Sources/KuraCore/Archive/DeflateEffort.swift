/// How hard export deflates each piece of the archive. By default (`automatic`) the effort of a
/// chunk follows what zstd made of it when it was stored, which export knows for free from the
/// index: a chunk zstd could not shrink is written as deflate *stored* blocks (no time spent);
/// one that shrank a lot (a dump, text, a log) is deflated harder, because there gzip's higher
/// levels gain the most; the rest at `baseLevel` (docs/BENCHMARKS.md, "Export size"). In a
/// pg_dump custom-format file, text-like chunks get `DeflateSetting.dumpText`.
public enum DeflateEffort: Sendable, Equatable {
    case automatic
    /// One gzip level (1–9) for every compressible piece (`kura export --level N`).
    case fixed(Int)

    /// Tar headers, padding and chunks that zstd shrank little.
    static let baseLevel: Int32 = 2
    /// (zstd's stored/plain ratio below which, level), measured with gzip on the benchmark
    /// site's parts: a pg_dump (ratio 0.24) and a tab-separated export (0.27) are 7 % and 16 %
    /// larger at level 2 than at 6, and still 3 % and 12 % at level 4, so text-like chunks get 6;
    /// receipts (0.47) are 3.5 % smaller at level 3 than at 2 for 5 % more time.
    static let levels: [(ratioBelow: Double, level: Int32)] = [(0.35, 6), (0.7, 3)]
    /// A chunk within this much of a boundary keeps the level of the chunk before, so that a
    /// dump whose chunks hover around one does not cut the deflate stream into small segments.
    static let hysteresis = 0.05

    /// The level for tar headers and padding.
    var defaultLevel: Int32 {
        switch self {
        case .automatic: return Self.baseLevel
        case .fixed(let level): return Int32(level)
        }
    }

    /// The setting for a chunk stored with `codec` in `storedLength` bytes of `plainLength`.
    /// `rawMeansIncompressible`: the repository compresses, so a raw chunk is one that did not
    /// shrink (in a repository made with `--compression none`, raw says nothing). `inDump`: the
    /// chunk is part of a pg_dump custom-format file. `previous`: the setting of the chunk before.
    func setting(codec: Codec?, storedLength: UInt32, plainLength: UInt32, rawMeansIncompressible: Bool, inDump: Bool = false,
                 previous: DeflateSetting) -> DeflateSetting {
        let fallback = DeflateSetting.level(defaultLevel)
        guard let codec else { return fallback }
        if codec == .raw { return rawMeansIncompressible ? .stored : fallback }
        guard case .automatic = self else { return fallback }
        let ratio = plainLength == 0 ? 1 : Double(storedLength) / Double(plainLength)
        let chosen = Self.setting(forRatio: ratio, inDump: inDump)
        if chosen != previous,
           Self.setting(forRatio: ratio - Self.hysteresis, inDump: inDump) == previous
            || Self.setting(forRatio: ratio + Self.hysteresis, inDump: inDump) == previous {
            return previous
        }
        return chosen
    }

    static func setting(forRatio ratio: Double, inDump: Bool = false) -> DeflateSetting {
        guard let level = levels.first(where: { ratio < $0.ratioBelow })?.level else { return .level(baseLevel) }
        return inDump && level == levels[0].level ? .dumpText : .level(level)
    }
}
