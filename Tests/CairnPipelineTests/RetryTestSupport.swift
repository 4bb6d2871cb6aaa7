import CairnManifest
import Foundation
import Synchronization
import _CairnTestSupport

@testable import CairnPipeline

/// A clock the test moves by hand: every requested sleep is recorded, and a sleeper wakes only when the test
/// advances time to its deadline (or, with `autoAdvance`, at once, time jumping forward by the requested amount).
/// Nothing waits on the wall clock, so retry timing is checked exactly and fast.
final class FakeClock: Sendable {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Duration = .zero
        var requested: [Duration] = []
        var sleepers: [Int: Sleeper] = [:]
        var cancelledBeforeWaiting: Set<Int> = []
        var nextID = 0
        var waiters: [Int: (count: Int, continuation: CheckedContinuation<Bool, Never>)] = [:]
        var nextWaiter = 0
    }

    /// The run never asked to wait as often as the test expected.
    struct NeverWaited: Error, CustomStringConvertible {
        var description: String
    }

    private let state = Mutex(State())
    let autoAdvance: Bool

    init(autoAdvance: Bool) {
        self.autoAdvance = autoAdvance
    }

    /// Every sleep requested so far, in order.
    var requested: [Duration] { state.withLock { $0.requested } }

    /// How far the test moved time.
    var now: Duration { state.withLock { $0.now } }

    /// The timing a pipeline uses with this clock and `random`.
    func timing(random: RandomDraws = RandomDraws([])) -> RetryTiming {
        RetryTiming(sleep: { try await self.sleep($0) }, random: { random.next() })
    }

    func sleep(_ duration: Duration) async throws {
        try Task.checkCancellation()
        let id = state.withLock { state in
            state.requested.append(duration)
            state.nextID += 1
            if autoAdvance { state.now += duration }
            return state.nextID
        }
        if autoAdvance || duration <= .zero {
            resumeWaiters()
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state in
                    if state.cancelledBeforeWaiting.remove(id) != nil { return true }
                    state.sleepers[id] = Sleeper(deadline: state.now + duration, continuation: continuation)
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
                resumeWaiters()
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelledBeforeWaiting.insert(id)
                    return Sleeper?.none
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Returns once at least `count` sleeps have been requested (an event, not a guess about timing). A run that
    /// never asks is a failure after a minute of real time instead of a hang; the minute is a safety net, never
    /// part of what is checked.
    func waitForRequests(_ count: Int) async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let giveUp = Task {
            try await Task.sleep(for: .seconds(60))
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: false)
        }
        defer { giveUp.cancel() }
        let arrived = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ready = state.withLock { state in
                if state.requested.count >= count { return true }
                state.waiters[id] = (count, continuation)
                return false
            }
            if ready { continuation.resume(returning: true) }
        }
        guard arrived else {
            throw NeverWaited(description: "the run asked to wait \(requested.count) times, not \(count): \(requested)")
        }
    }

    /// Moves time forward by `duration` and wakes every sleeper whose deadline has come.
    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now += duration
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    private func resumeWaiters() {
        let ready = state.withLock { state in
            let count = state.requested.count
            let ready = state.waiters.filter { $0.value.count <= count }
            for id in ready.keys { state.waiters[id] = nil }
            return ready.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: true) }
    }
}

/// A random source that hands out given numbers in order (then 1.0) and counts the draws.
final class RandomDraws: Sendable {
    private let state: Mutex<(values: [Double], drawn: Int)>

    init(_ values: [Double]) {
        state = Mutex((values, 0))
    }

    func next() -> Double {
        state.withLock { state in
            defer { state.drawn += 1 }
            return state.drawn < state.values.count ? state.values[state.drawn] : 1.0
        }
    }

    var drawn: Int { state.withLock { $0.drawn } }
}

/// A test-only provider whose attempts fail with the given codes in order (then succeed through the synthetic
/// provider), optionally asking for a `Retry-After`; or, with `hangs`, never answers until its task is cancelled.
struct FailureSequenceProvider: Provider {
    let name = "sequence"
    let modalities: Set<Modality> = Set(Modality.allCases)
    let retryPolicy: RetryPolicy
    var failures: [ProviderError.Code]
    var retryAfter: Duration?
    var hangs = false
    let log = AttemptLog()

    func generate(_ request: ProviderRequest) async throws -> ProviderResponse {
        log.started(request.attempt)
        if hangs {
            let (stream, keep) = AsyncStream<Never>.makeStream()
            for await _ in stream {}
            withExtendedLifetime(keep) {}
            log.cancelled(request.attempt)
            throw CancellationError()
        }
        if request.attempt <= failures.count {
            throw ProviderError(
                failures[request.attempt - 1],
                "planned failure of attempt \(request.attempt)",
                retryAfter: retryAfter
            )
        }
        return try await SyntheticProvider().generate(request)
    }
}

/// What a ``FailureSequenceProvider`` saw, with a way to wait until an attempt has started.
final class AttemptLog: Sendable {
    private struct State {
        var started: [Int] = []
        var cancelled: [Int] = []
        var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    func started(_ attempt: Int) {
        let waiters = state.withLock { state in
            state.started.append(attempt)
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: true) }
    }

    func cancelled(_ attempt: Int) { state.withLock { $0.cancelled.append(attempt) } }

    var startedAttempts: [Int] { state.withLock { $0.started } }
    var cancelledAttempts: [Int] { state.withLock { $0.cancelled } }

    /// Returns once some attempt has started; fails instead of hanging after a minute of real time (a safety net,
    /// never part of what is checked).
    func waitForStart() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        let giveUp = Task {
            try await Task.sleep(for: .seconds(60))
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: false)
        }
        defer { giveUp.cancel() }
        let started = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let ready = state.withLock { state in
                if !state.started.isEmpty { return true }
                state.waiters[id] = continuation
                return false
            }
            if ready { continuation.resume(returning: true) }
        }
        guard started else { throw FakeClock.NeverWaited(description: "no attempt started") }
    }
}

/// An HTTP JSON job server (Python) for retry and secret tests. The prompt picks the behaviour:
/// `retry-after=S` answers the first attempt 503 with `Retry-After: S`, then succeeds; `fail-echo` answers 500 with
/// a body (and an `X-Request-Id`) repeating every header it got (names in lower case); `job-fail-echo` answers a
/// failed job whose error repeats the `Authorization` header; `bad` answers 400; anything else succeeds, the
/// response body repeating the headers it got. `GET /log` lists the requests with their headers.
final class EchoJobServer: @unchecked Sendable {
    let server: PythonServer

    init() throws {
        let script = #"""
            import json, base64, os, sys, threading
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            log, lock = [], threading.Lock()
            class H(BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def reply(self, status, obj, extra=None):
                    body = json.dumps(obj).encode()
                    self.send_response(status)
                    self.send_header('Content-Type', 'application/json')
                    for k, v in (extra or {}).items(): self.send_header(k, v)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers(); self.wfile.write(body)
                def do_POST(self):
                    n = int(self.headers.get('Content-Length', 0))
                    body = json.loads(self.rfile.read(n))
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    with lock: log.append({"headers": headers, "body": body})
                    prompt = body.get('prompt') or ''
                    seen = ' '.join(headers.values())
                    if prompt.startswith('retry-after=') and body['attempt'] == 1:
                        return self.reply(503, {"error": "busy"}, {"Retry-After": prompt.split('=', 1)[1]})
                    if prompt == 'fail-echo':
                        return self.reply(500, {"error": "refused credentials " + seen, "headers": headers},
                                          {"X-Request-Id": "req " + seen.replace('\n', ' ')})
                    if prompt == 'job-fail-echo':
                        return self.reply(200, {"id": "job-x", "status": "failed",
                                                "error": "the job was refused for " + headers.get('authorization', '')})
                    if prompt == 'bad':
                        return self.reply(400, {"error": "bad prompt"})
                    out = base64.b64encode(prompt.encode()).decode()
                    self.reply(200, {"id": "job-ok", "status": "succeeded", "echo": headers,
                                     "outputs": [{"media_type": "text/plain", "data_base64": out}]})
                def do_GET(self):
                    with lock: return self.reply(200, log)
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            server = ThreadingHTTPServer(('127.0.0.1', 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#
        server = try PythonServer(script: script)
    }

    var endpoint: URL { URL(string: "http://127.0.0.1:\(server.port)/jobs")! }

    /// The POSTs the server received: their headers and bodies.
    func requests() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(string: "http://127.0.0.1:\(server.port)/log")!)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}
