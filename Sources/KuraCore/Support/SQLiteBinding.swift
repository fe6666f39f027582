import GRDB
import GRDBSQLite

/// Values bound to a prepared statement straight from where they lie, without GRDB's
/// `StatementArguments` (an array of boxed values per row): for the loops that write millions of
/// rows — a snapshot's entries, an index cache's chunks.
enum SQLiteBinding {
    /// SQLite copies a value bound with this destructor (`SQLITE_TRANSIENT`).
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds a chunk id's 32 bytes (copied).
    static func bind(_ id: ChunkID, to column: Int32, of statement: OpaquePointer) {
        _ = withUnsafeBytes(of: id.words) { sqlite3_bind_blob(statement, column, $0.baseAddress, 32, transient) }
    }

    /// Binds UTF-8 text borrowed until the statement's next step (an empty one as "", not NULL).
    static func bindText(_ bytes: UnsafeBufferPointer<UInt8>, to column: Int32, of statement: OpaquePointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            sqlite3_bind_text(statement, column, "", 0, transient)
            return
        }
        _ = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { sqlite3_bind_text(statement, column, $0, Int32(bytes.count), nil) }
    }

    /// Binds bytes borrowed until the statement's next step (an empty run as an empty blob, not NULL).
    static func bindBlob(_ bytes: UnsafeRawBufferPointer, to column: Int32, of statement: OpaquePointer) {
        if let base = bytes.baseAddress, !bytes.isEmpty {
            sqlite3_bind_blob(statement, column, base, Int32(bytes.count), nil)
        } else {
            sqlite3_bind_zeroblob(statement, column, 0)
        }
    }

    /// Runs a statement that returns no rows, then makes it ready for the next bindings.
    static func step(_ statement: OpaquePointer, in db: Database) throws {
        let code = sqlite3_step(statement)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        guard code == SQLITE_DONE else { throw DatabaseError(resultCode: ResultCode(rawValue: code), message: db.lastErrorMessage) }
    }
}
