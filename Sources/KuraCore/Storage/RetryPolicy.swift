import Foundation

/// When and how long a remote store waits before trying a failed request again: exponential
/// backoff with full jitter (a random pause between 0 and `base · 2^attempt`, capped), for the
/// failures that a later attempt can cure — 5xx, 429 and 503 SlowDown, timeouts, resets,
/// truncated responses. Refusals (403, 404, a TLS or DNS error) are answered at once.
public struct RetryPolicy: Sendable {
    /// Attempts in all, the first included.
    public var attempts: Int
    public var baseDelay: TimeInterval
    public var maxDelay: TimeInterval

    /// 8 attempts, pauses of up to 0.25, 0.5, 1, 2, 4, 8, 8 s: a server restarting within about
    /// 20 s is ridden out. `KURA_RETRIES` sets the number of attempts.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> RetryPolicy {
        RetryPolicy(attempts: environment["KURA_RETRIES"].flatMap(Int.init).map { max(1, min($0, 50)) } ?? 8,
                    baseDelay: 0.25, maxDelay: 8)
    }

    public init(attempts: Int, baseDelay: TimeInterval, maxDelay: TimeInterval) {
        (self.attempts, self.baseDelay, self.maxDelay) = (attempts, baseDelay, maxDelay)
    }

    /// The pause before attempt `attempt + 1` (attempt counts from 0), drawn with `random`.
    public func delay<R: RandomNumberGenerator>(after attempt: Int, using random: inout R) -> TimeInterval {
        let ceiling = min(maxDelay, baseDelay * pow(2, Double(min(attempt, 30))))
        return Double.random(in: 0...ceiling, using: &random)
    }

    /// True for an HTTP status a later attempt may not get.
    public static func isTransient(status: Int) -> Bool {
        status == 429 || status == 408 || ((500...599).contains(status) && status != 501)
    }

    /// True for a libcurl failure that a later attempt may not have: no connection yet (a server
    /// restarting), a timeout or stall, a reset or a truncated reply. DNS and TLS failures are not.
    public static func isTransient(curlCode code: Int32) -> Bool {
        // 7 couldn't connect, 16 HTTP/2, 18 partial file, 28 timeout, 52 empty reply, 55 send
        // error, 56 receive error, 92 HTTP/2 stream.
        [7, 16, 18, 28, 52, 55, 56, 92].contains(code)
    }

    /// Sleeps before another attempt and returns true, or returns false at once when `attempt`
    /// (counted from 0) was the last one allowed.
    func pauseBeforeRetry(after attempt: Int) -> Bool {
        guard attempt + 1 < attempts else { return false }
        var random = SystemRandomNumberGenerator()
        usleep(useconds_t(delay(after: attempt, using: &random) * 1_000_000))
        return true
    }
}
