import Foundation
import Synchronization

/// Runs `body` for every index in `0..<count` on up to `threads` threads that take indexes from one shared queue in
/// order, and returns the results in index order.
///
/// After a failure no new index is started. Once every thread has returned, `cleanup` gets the results that were
/// produced, and the error of the lowest failing index is thrown.
func concurrentMap<Element: Sendable>(
    count: Int,
    threads: Int,
    cleanup: ([Element]) -> Void = { _ in },
    _ body: @Sendable (Int) throws -> Element
) throws -> [Element] {
    let slots = ClaimedSlots<Element>(count: count)
    @Sendable func work() {
        while let index = slots.take() {
            do {
                slots.store(try body(index), at: index)
            } catch {
                slots.fail(error, at: index)
            }
        }
    }
    let threads = min(threads, count)
    if threads > 1 {
        DispatchQueue.concurrentPerform(iterations: threads) { _ in work() }
    } else if threads == 1 {
        work()
    }
    if let error = slots.failure {
        cleanup(slots.produced)
        throw error
    }
    return slots.produced
}

/// The result slots of ``concurrentMap(count:threads:cleanup:_:)``.
private final class ClaimedSlots<Element: Sendable>: @unchecked Sendable {
    // Invariant: `take()` hands each index to exactly one thread, which alone writes `slots[index]`; `slots` is read
    // only after every thread returned. `state` guards the next index and the first failure.
    private let state = Mutex((next: 0, failure: (index: Int, error: any Error)?.none))
    private let slots: UnsafeMutableBufferPointer<Element?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    /// The next index, or `nil` when all are taken or one failed.
    func take() -> Int? {
        state.withLock { state -> Int? in
            guard state.failure == nil, state.next < slots.count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func store(_ element: Element, at index: Int) { slots[index] = element }

    /// Records a failure; the one with the lowest index wins (indexes are taken in order, so every index before it
    /// was done or failed too).
    func fail(_ error: any Error, at index: Int) {
        state.withLock { state in
            if state.failure.map({ index < $0.index }) ?? true { state.failure = (index, error) }
        }
    }

    /// The error of the lowest failing index, if any.
    var failure: (any Error)? { state.withLock { $0.failure?.error } }

    /// The results produced, in index order.
    var produced: [Element] { slots.compactMap { $0 } }
}
