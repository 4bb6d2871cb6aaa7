/// Where a run's waits and random draws come from: the backoff between attempts, its jitter, the per-attempt time
/// limit and the run's time limit.
///
/// Runs use ``system``: `Task.sleep` on the continuous clock and the system's random numbers. Tests give a pipeline
/// a clock they control, so retry timing is checked exactly without waiting (Tests/CairnPipelineTests,
/// `RetryPolicyTests`).
package struct RetryTiming: Sendable {
    /// Waits `duration`; throws `CancellationError` when the calling task is cancelled first.
    package var sleep: @Sendable (Duration) async throws -> Void
    /// A uniformly random number in `0...1`, for full jitter.
    package var random: @Sendable () -> Double

    package init(
        sleep: @escaping @Sendable (Duration) async throws -> Void,
        random: @escaping @Sendable () -> Double
    ) {
        self.sleep = sleep
        self.random = random
    }

    /// The continuous clock and the system's random numbers.
    package static let system = RetryTiming(
        sleep: { try await Task.sleep(for: $0, clock: .continuous) },
        random: { Double.random(in: 0...1) }
    )

    /// The wait before the attempt after failed attempt `attempt`: the policy's backoff, jittered when the policy
    /// says so (a uniform draw from zero to the backoff), and at least `retryAfter` when the provider asked for it.
    package func backoff(_ policy: RetryPolicy, afterAttempt attempt: Int, retryAfter: Duration?) -> Duration {
        var delay = policy.delay(afterAttempt: attempt)
        if policy.jitter {
            let nanoseconds = Double(delay.components.seconds) * 1e9 + Double(delay.components.attoseconds) / 1e9
            let draw = min(1, max(0, random()))
            delay = .nanoseconds(Int64(draw * nanoseconds))
        }
        if let retryAfter, retryAfter > delay { delay = retryAfter }
        return delay
    }
}
