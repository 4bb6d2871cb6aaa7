import Dispatch
import Synchronization

/// Runs blocking work (file IO, fsync, a ledger's group-commit wait, a child process) on threads of its own, off
/// Swift's cooperative pool.
///
/// The cooperative pool has one thread per core: a task that blocks one of them (an fsync can take tens of
/// milliseconds) holds back every other task, timers included. Async code that must block calls
/// ``run(_:)``, which suspends the task and runs the work on a Dispatch queue whose threads are not the pool's.
package enum BlockingIO {
    private static let queue = DispatchQueue(label: "cairn.blocking-io", attributes: .concurrent)
    private static let marker = DispatchSpecificKey<Bool>()
    private static let ran = Atomic<Int>(0)
    private static let setUp: Void = queue.setSpecific(key: marker, value: true)

    /// Runs `body` on the blocking-IO threads and returns its result; the calling task is suspended meanwhile.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        _ = setUp
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                ran.add(1, ordering: .relaxed)
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// True on a thread running work for ``run(_:)``.
    package static var isOnBlockingThread: Bool {
        _ = setUp
        return DispatchQueue.getSpecific(key: marker) == true
    }

    /// How many bodies ``run(_:)`` has started in this process (for tests).
    package static var runCount: Int { ran.load(ordering: .relaxed) }
}
