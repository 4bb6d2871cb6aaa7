import Foundation

/// When and how long the backend waits before trying a request again (`spec/s3.md`, "Retries").
///
/// Retried: 5xx, 429 and 503 `SlowDown` (honouring `Retry-After`), S3's 400 `RequestTimeout`, 409
/// `ConditionalRequestConflict` (a concurrent conditional write), connection resets, refused connections and
/// timeouts. Never retried: any other 4xx, which means the request itself is wrong (403, 404, 412, 400).
/// The delay before attempt `n + 1` is drawn uniformly from `[0, min(maxDelay, baseDelay * 2^n)]` ("full
/// jitter"), and is at least the server's `Retry-After` (capped at `maxRetryAfter`).
public struct S3RetryPolicy: Sendable, Hashable {
    /// The most attempts one request gets, the first included.
    public var maxAttempts: Int
    /// The backoff's first ceiling, in seconds.
    public var baseDelay: Double
    /// The backoff's largest ceiling, in seconds.
    public var maxDelay: Double
    /// The longest `Retry-After` honoured, in seconds.
    public var maxRetryAfter: Double

    /// Creates a policy.
    public init(maxAttempts: Int = 6, baseDelay: Double = 0.1, maxDelay: Double = 5, maxRetryAfter: Double = 30) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// Whether a reply with `status` (and S3 error `code`, when the body had one) is worth another attempt.
    public static func isRetryable(status: Int, code: String?) -> Bool {
        switch status {
        case 500...599, 429: return true
        case 400: return code == "RequestTimeout"
        case 409: return code == "ConditionalRequestConflict" || code == "OperationAborted"
        default: return false
        }
    }

    /// The seconds to wait after failed attempt `attempt` (1 for the first), given the reply's `Retry-After`.
    public func delay(
        afterAttempt attempt: Int,
        retryAfter: String?,
        using generator: inout some RandomNumberGenerator
    ) -> Double {
        let ceiling = min(maxDelay, baseDelay * Double(1 << min(max(attempt - 1, 0), 30)))
        let jittered = ceiling > 0 ? Double.random(in: 0...ceiling, using: &generator) : 0
        guard let retryAfter else { return jittered }
        // Retry-After is delay-seconds or an HTTP date.
        let seconds = Double(retryAfter.trimmingSpaces) ?? S3Dates.httpDate(retryAfter)?.timeIntervalSinceNow ?? 0
        return max(jittered, min(max(seconds, 0), maxRetryAfter))
    }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
