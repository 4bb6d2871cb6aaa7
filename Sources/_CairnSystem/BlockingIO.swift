import Foundation
import Synchronization

/// Runs blocking work (file IO, fsync, a ledger's group-commit wait) on threads of its own, off Swift's cooperative
/// pool.
///
/// The cooperative pool has one thread per core: a task that blocks one of them (an fsync can take tens of
/// milliseconds) holds back every other task, timers included. Async code that must block calls ``run(_:)``, which
/// suspends the task and runs the work on one of ``threadCount`` dedicated threads, started on first use. (A
/// Dispatch queue is not enough on Linux: Dispatch adds threads for blocked work about one a second.)
package enum BlockingIO {
    /// The dedicated threads: enough for many steps' fsyncs and group-commit waits to overlap.
    package static let threadCount = 16

    private static let pool = ThreadPool(threads: threadCount, name: "cairn-blocking-io")
    private static let ran = Atomic<Int>(0)

    /// Runs `body` on a blocking-IO thread and returns its result; the calling task is suspended meanwhile.
    package static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.submit {
                ran.add(1, ordering: .relaxed)
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// True on a thread running work for ``run(_:)``.
    package static var isOnBlockingThread: Bool { ThreadPool.isWorker(named: "cairn-blocking-io") }

    /// How many bodies ``run(_:)`` has started in this process (for tests).
    package static var runCount: Int { ran.load(ordering: .relaxed) }
}

/// A fixed set of threads taking work from one first-in, first-out queue.
final class ThreadPool: @unchecked Sendable {
    // Invariant: `condition` guards `queue` and `started`.
    private let condition = NSCondition()
    private var queue: [@Sendable () -> Void] = []
    private var started = false
    private let threads: Int
    private let name: String

    init(threads: Int, name: String) {
        self.threads = threads
        self.name = name
    }

    func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        if !started {
            started = true
            for index in 0..<threads {
                let thread = Thread { [self] in loop() }
                thread.name = "\(name)-\(index)"
                thread.start()
            }
        }
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    private func loop() {
        Thread.current.threadDictionary[Self.markerKey] = name
        while true {
            condition.lock()
            while queue.isEmpty { condition.wait() }
            let work = queue.removeFirst()
            condition.unlock()
            work()
        }
    }

    private static let markerKey = "cairn.thread-pool"

    static func isWorker(named name: String) -> Bool {
        Thread.current.threadDictionary[markerKey] as? String == name
    }
}
