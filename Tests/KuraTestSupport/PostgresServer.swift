import Foundation
import KuraCore

/// The throwaway PostgreSQL server `tools/test` starts (`$KURA_TEST_POSTGRES`), reached with
/// `psql` (from `$KURA_PG_BIN`), and a Django-like site to load into it.
public enum TestServer {
    public static let url = ProcessInfo.processInfo.environment["KURA_TEST_POSTGRES"]
    public static var available: Bool { url != nil }

    public struct NotStarted: Error {}

    /// The same server, another database (and optionally another user and password).
    public static func database(_ name: String, user: String = "postgres", password: String? = nil) throws -> DatabaseURL {
        guard let base = url else { throw NotStarted() }
        var text = base.replacingOccurrences(of: "/postgres?", with: "/\(name)?").replacingOccurrences(of: "user=postgres", with: "user=\(user)")
        if let password { text += "&password=\(password)" }
        return try DatabaseURL(text)
    }

    /// Runs SQL with `psql -qAt` in `database`; its output, trimmed ("" when psql fails).
    @discardableResult
    public static func psql(_ sql: String, database: String = "postgres") -> String {
        guard let url else { return "" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (ProcessInfo.processInfo.environment["KURA_PG_BIN"] ?? "/usr/bin") + "/psql")
        process.arguments = ["-qAt", "-v", "ON_ERROR_STOP=1", url.replacingOccurrences(of: "/postgres?", with: "/\(database)?"), "-c", sql]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try? process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A new, empty database (dropped first when it exists).
    public static func create(_ name: String) {
        psql("DROP DATABASE IF EXISTS \(name)")
        psql("CREATE DATABASE \(name)")
    }

    /// A Django-like site: users, students with photo paths, payments with receipt paths, an
    /// audit log; a sequence, an index, foreign keys, a view; several thousand rows.
    public static func loadSite(_ name: String) {
        create(name)
        psql("""
            CREATE TABLE auth_user (id serial PRIMARY KEY, username text UNIQUE NOT NULL, email text,
                                    is_staff boolean NOT NULL DEFAULT false, date_joined timestamptz NOT NULL DEFAULT '2025-01-01');
            CREATE TABLE school_student (id serial PRIMARY KEY, user_id int REFERENCES auth_user(id), name text NOT NULL, photo varchar(200));
            CREATE TABLE school_payment (id bigserial PRIMARY KEY, student_id int NOT NULL REFERENCES school_student(id),
                                         amount numeric(10,2) NOT NULL, paid_on date NOT NULL, receipt varchar(200));
            CREATE INDEX school_payment_paid_on ON school_payment (paid_on);
            CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL, action text NOT NULL, detail jsonb);
            CREATE SEQUENCE invoice_number START 1000;
            CREATE VIEW payment_totals AS SELECT student_id, sum(amount) AS total FROM school_payment GROUP BY student_id;
            INSERT INTO auth_user (username, email) SELECT 'user' || g, 'user' || g || '@example.org' FROM generate_series(1, 1000) g;
            INSERT INTO school_student (user_id, name, photo) SELECT g, 'Élève ' || g, 'profile_photos/student_' || g || '.jpg' FROM generate_series(1, 1000) g;
            INSERT INTO school_payment (student_id, amount, paid_on, receipt)
                SELECT (g % 1000) + 1, (g % 97) * 12.5, date '2025-01-01' + (g % 300), 'payment_receipts/r' || g || '.pdf' FROM generate_series(1, 5000) g;
            INSERT INTO audit_log (at, action, detail) SELECT timestamp '2025-01-01' + g * interval '1 hour', 'login', jsonb_build_object('n', g)
                FROM generate_series(1, 3000) g;
            SELECT nextval('invoice_number') FROM generate_series(1, 5);
            """, database: name)
    }

    /// Every table's content hash, the sequence position and the view's row count: equal
    /// fingerprints mean equal databases for this schema.
    public static func fingerprint(_ name: String) -> [String] {
        var result: [String] = []
        for table in ["auth_user", "school_student", "school_payment", "audit_log"] {
            let row = psql("SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM \(table) t", database: name)
            result.append("\(table) \(row)")
        }
        result.append("sequence \(psql("SELECT last_value FROM invoice_number", database: name))")
        result.append("view \(psql("SELECT count(*) FROM payment_totals", database: name))")
        return result
    }
}
