/// How a user names a snapshot: a full id, a unique prefix of 4 or more hex digits, `latest` (the
/// newest snapshot that is not a `pre-restore` safety snapshot), or the export name `backup_complet_<db>_<YYYYMMDD_HHMMSS>` (with or without `.tar.gz`).
public struct SnapshotReference: Sendable {
    public let text: String
    /// The tag of the safety snapshot a restore takes of what it replaces.
    public static let safetyTag = "pre-restore"

    public init(_ text: String) { self.text = text }

    /// Whether the reference is an id or id prefix: it resolves from the snapshot names alone,
    /// without reading every record (`resolve(among:)`).
    public var namesAnID: Bool { text != "latest" && !text.hasPrefix("backup_complet_") }

    /// The one id of `ids` that an id reference (`namesAnID`) names.
    public func resolve(among ids: [ChunkID]) throws -> ChunkID {
        let prefix = text.lowercased()
        guard prefix.utf8.count >= 4, Hex.isHex(prefix) else {
            throw KuraError.invalidArgument("'\(text)' is not a snapshot reference: use an id (4+ hex digits), 'latest' or an export name")
        }
        let matches = ids.filter { $0.hex.hasPrefix(prefix) }
        switch matches.count {
        case 0: throw KuraError.unknownSnapshot(reference: text)
        case 1: return matches[0]
        default: throw KuraError.ambiguousSnapshot(reference: text, candidates: matches.map(\.short))
        }
    }

    public func resolve(in snapshots: [Snapshot]) throws -> Snapshot {
        if text == "latest" {
            // The newest backup: a `pre-restore` safety snapshot is what a restore replaced, not a
            // backup, so `restore latest` twice does not undo itself (address those by id).
            let newest = { (candidates: [Snapshot]) in
                candidates.max(by: { ($0.record.epochSeconds, $0.id) < ($1.record.epochSeconds, $1.id) })
            }
            guard let last = newest(snapshots.filter { !$0.record.tags.contains(Self.safetyTag) }) ?? newest(snapshots) else {
                throw KuraError.unknownSnapshot(reference: text)
            }
            return last
        }
        if text.hasPrefix("backup_complet_") {
            var name = text
            for suffix in [".tar.gz", ".json"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
            let matches = snapshots.filter { $0.record.exportName == name }
            guard let newest = matches.last else { throw KuraError.unknownSnapshot(reference: text) }
            return newest
        }
        let id = try resolve(among: snapshots.map(\.id))
        guard let snapshot = snapshots.first(where: { $0.id == id }) else { throw KuraError.unknownSnapshot(reference: text) }
        return snapshot
    }
}
