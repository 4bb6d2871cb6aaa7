/// One concurrency limit and one rate limit shared by every stage, branch and batch item of a pipeline.
///
/// A pipeline acquires a slot before each provider call and releases it after. At most `limit` calls are in
/// flight, and call starts are spaced at least `minimumInterval` apart. Waiting is cancellable.
public actor Throttle {
    /// The most calls in flight at once.
    public let limit: Int
    /// The least time between two call starts; `nil` for no rate limit.
    public let minimumInterval: Duration?
    private var inUse = 0
    private var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    private var nextID: UInt64 = 0
    private var nextStart = ContinuousClock.now

    /// Creates a throttle.
    ///
    /// - Parameters:
    ///   - limit: the most calls in flight at once (at least 1).
    ///   - callsPerSecond: the most call starts per second; `nil` for no rate limit.
    public init(limit: Int = 4, callsPerSecond: Double? = nil) {
        self.limit = max(1, limit)
        if let callsPerSecond, callsPerSecond > 0 {
            minimumInterval = .nanoseconds(Int64(1e9 / callsPerSecond))
        } else {
            minimumInterval = nil
        }
    }

    /// Waits for a free slot (and for the rate limit), then takes it.
    ///
    /// - Throws: `CancellationError` when the task is cancelled while waiting; no slot is then held.
    package func acquire() async throws {
        try Task.checkCancellation()
        if inUse < limit {
            inUse += 1
        } else {
            nextID += 1
            let id = nextID
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    waiters.append((id, continuation))
                }
            } onCancel: {
                Task { await self.cancelWaiter(id) }
            }
        }
        if let minimumInterval {
            let now = ContinuousClock.now
            let start = max(now, nextStart)
            nextStart = start + minimumInterval
            if start > now {
                do {
                    try await Task.sleep(until: start)
                } catch {
                    release()
                    throw error
                }
            }
        }
    }

    /// Gives a slot back, handing it to the longest waiter if there is one.
    package func release() {
        if waiters.isEmpty {
            inUse = max(0, inUse - 1)
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
