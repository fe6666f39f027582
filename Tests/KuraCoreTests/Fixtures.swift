import Foundation
@testable import KuraCore
import KuraTestSupport

/// Backs `media` up into `repository` and returns the result.
@discardableResult
func backup(_ repository: Repository, _ media: String, tags: [String] = []) throws -> BackupResult {
    try Archiver(repository: repository).backup(BackupOptions(media: media, tags: tags, host: "test-host"))
}

func restore(_ repository: Repository, _ snapshot: Snapshot, to target: String, include: [String] = [], force: Bool = false) throws -> RestoreResult {
    try Restorer(repository: repository).restore(snapshot, RestoreOptions(target: target, include: try include.map(PathPattern.init), force: force))
}
