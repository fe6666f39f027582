/// One check of a restore test: what was checked, whether it held, and its figures.
public struct RestoreTestCheck: Codable, Equatable, Sendable {
    /// `database restore`, `row counts`, `integrity_check`, `foreign_key_check`, `check-sql line N`,
    /// `media sample`, `live media`.
    public var name: String
    public var ok: Bool
    /// One line: what was found (the failing table with both counts, the failing SQL line…).
    public var detail: String
    public var seconds: Double
    /// Numbers worth keeping (rows, tables, files, bytes).
    public var figures: [String: Int64]

    public init(name: String, ok: Bool, detail: String, seconds: Double = 0, figures: [String: Int64] = [:]) {
        (self.name, self.ok, self.detail, self.seconds, self.figures) = (name, ok, detail, seconds, figures)
    }
}
