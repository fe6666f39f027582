import CKuraCurl
import Foundation

/// The pings of `[monitor]`, in healthchecks.io's convention: `<ping_url>/start` when a night
/// starts, `<ping_url>` when it succeeds, `<ping_url>/fail` when it fails, each a POST whose body
/// is the last lines of the log; and an ntfy-style plain POST of the summary line to `ntfy_url`.
/// A ping that cannot be delivered is retried twice, then said in the log; it never fails the night.
public struct MonitorPings: Sendable {
    public var settings: MonitorSettings

    public init(settings: MonitorSettings) { self.settings = settings }

    /// The most of the log a ping carries (healthchecks.io keeps 100 kB).
    static let bodyLimit = 10_000

    /// `<ping_url>/start`.
    public func start() -> String? {
        settings.pingURL.flatMap { post(Self.join($0, "start"), body: "") }
    }

    /// `<ping_url>` or `<ping_url>/fail` with the log's tail, and the ntfy message. Returns the
    /// problems met (empty when every ping went through).
    public func finish(ok: Bool, summary: String, log: [String]) -> [String] {
        var problems: [String] = []
        if let url = settings.pingURL {
            let tail = Self.tail(log, limit: Self.bodyLimit)
            if let problem = post(ok ? url : Self.join(url, "fail"), body: tail) { problems.append(problem) }
        }
        if let url = settings.ntfyURL, !ok || settings.ntfyOnSuccess {
            if let problem = post(url, body: summary, headers: ["Title: kura run \(ok ? "ok" : "FAILED") on \(LockInfo.currentHost)",
                                                                 "Priority: \(ok ? "default" : "high")"]) {
                problems.append(problem)
            }
        }
        return problems
    }

    /// The last lines of `log` that fit in `limit` bytes.
    static func tail(_ log: [String], limit: Int) -> String {
        var kept: [String] = []
        var size = 0
        for line in log.reversed() {
            size += line.utf8.count + 1
            if size > limit { break }
            kept.append(line)
        }
        return kept.reversed().joined(separator: "\n")
    }

    private static func join(_ url: String, _ suffix: String) -> String {
        (url.hasSuffix("/") ? url : url + "/") + suffix
    }

    /// POSTs `body` to `url`: nil when the server answered 2xx, else what went wrong (the URL
    /// is not repeated: it can hold a token).
    func post(_ url: String, body: String, headers: [String] = []) -> String? {
        var lastProblem = ""
        for attempt in 0..<3 {
            if attempt > 0 { Thread.sleep(forTimeInterval: Double(attempt)) }
            let (code, reason, status) = Self.perform(url, body: Array(body.utf8), headers: ["Content-Type: text/plain; charset=utf-8"] + headers,
                                                      timeout: settings.timeout)
            if code == 0 && (200..<300).contains(status) { return nil }
            lastProblem = code != 0 ? reason : "HTTP \(status)"
            if code == 0 && (400..<500).contains(status) { break }
        }
        return "ping to \(Self.redacted(url)) failed: \(lastProblem)"
    }

    /// The URL's scheme and host only.
    static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "the monitor" }
        return "\(components.scheme ?? "https")://\(host)\(components.port.map { ":\($0)" } ?? "")/…"
    }

    private static func perform(_ url: String, body: [UInt8], headers: [String], timeout: Double) -> (Int32, String, Int) {
        kura_curl_global_init()
        guard let handle = kura_curl_new() else { return (-1, "libcurl could not start", 0) }
        defer { kura_curl_free(handle) }
        var bodyCopy = body.isEmpty ? [0] : body
        return bodyCopy.withUnsafeMutableBytes { bytes in
            let file = body.isEmpty ? nil : fmemopen(bytes.baseAddress, body.count, "r")
            defer { if let file { fclose(file) } }
            var status = 0
            var length: Int64 = -1
            var error = [CChar](repeating: 0, count: 256)
            let code: Int32 = withCStrings(headers) { headerPointers in
                withCStrings(["POST", url]) { strings in
                    var request = kura_curl_request(
                        method: strings[0], url: strings[1], headers: headerPointers.baseAddress, header_count: headerPointers.count,
                        sigv4: nil, username: nil, password: nil, upload: file, upload_length: Int64(body.count),
                        write: nil, write_context: nil, timeout_seconds: Int(timeout.rounded(.up)),
                        connect_timeout_seconds: Int(min(timeout, 10).rounded(.up)), stall_seconds: 0)
                    return kura_curl_perform(handle, &request, &status, &length, &error)
                }
            }
            let reason = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return (code, reason, status)
        }
    }
}
