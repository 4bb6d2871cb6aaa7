import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import Synchronization
import Testing
import _CairnConformance
import _CairnTestSupport

@testable import CairnPipeline

/// Counts calls per step and can fail, stall or check concurrency; for pipeline semantics tests.
struct ScriptedProvider: Provider {
    let name: String
    let modalities: Set<Modality> = Set(Modality.allCases)
    let retryPolicy: RetryPolicy
    let state = ScriptedState()
    var failAttemptsOf: [String: Int] = [:]
    var alwaysFail: Set<String> = []
    var delay: Duration = .zero
    /// When above 1, each call waits until this many calls have been in flight at the same time.
    var rendezvous = 0
    let inner = SyntheticProvider()

    init(name: String = "scripted", retryPolicy: RetryPolicy = RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(1)))
    {
        self.name = name
        self.retryPolicy = retryPolicy
    }

    func generate(_ request: ProviderRequest) async throws -> ProviderResponse {
        state.calls.withLock { $0.append("\(request.stepName)#\(request.attempt)") }
        state.inFlight.withLock {
            $0.now += 1
            $0.most = max($0.most, $0.now)
        }
        defer { state.inFlight.withLock { $0.now -= 1 } }
        if rendezvous > 1 {
            // Wait until `rendezvous` calls have been in flight at once (an event, not a guess about timing);
            // a throttle that never lets them meet fails the call after 30 s instead of hanging.
            let deadline = ContinuousClock.now + .seconds(30)
            while mostInFlight < rendezvous {
                guard ContinuousClock.now < deadline else {
                    throw ProviderError(.timeout, "\(rendezvous) calls were never in flight at once")
                }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        if alwaysFail.contains(request.stepName) || request.attempt <= failAttemptsOf[request.stepName, default: 0] {
            throw ProviderError(.serverError, "scripted failure", requestID: "req-\(request.attempt)")
        }
        return try await inner.generate(request)
    }

    var callList: [String] { state.calls.withLock { $0 } }
    var mostInFlight: Int { state.inFlight.withLock { $0.most } }
}

final class ScriptedState: Sendable {
    let calls = Mutex<[String]>([])
    let inFlight = Mutex<(now: Int, most: Int)>((0, 0))
}

/// A fresh store and ledger on one of the test backends (`local` unless a test takes the backend as its argument).
struct Workspace {
    let instance: BackendInstance
    let ledger: Ledger

    init(_ backend: TestBackend = .local) throws {
        instance = try backend.make()
        ledger = try instance.openLedger()
    }

    /// The objects (a local store, or a bucket).
    var objects: any ObjectBackend { instance.objects }

    /// The local store, for the tests that run only on it.
    var store: ObjectStore { get throws { try instance.requireLocalStore() } }

    /// A pipeline recording into this workspace's ledger, its outputs in its objects.
    func pipeline(_ name: String, chain: Bool = false, throttle: Throttle = Throttle()) -> Pipeline {
        Pipeline(name, ledger: ledger, chain: chain, throttle: throttle)
    }

    func manifest(_ result: RunResult) throws -> JSONValue {
        try JSONReader.parse(try #require(result.manifest).bytes)
    }
}

@Suite(.timeLimit(.minutes(15)))
struct PipelineTests {
    @Test(arguments: TestBackend.available)
    func aRunStoresOutputsAndAppendsReceiptsAndAManifest(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let result = try await workspace.pipeline("hero-shot")
            .step(SyntheticProvider(), model: "image-v1", prompt: "product on white background", modality: .image)
            .run()
        #expect(result.status == .completed)
        #expect(result.outputs.count == 1)
        let output = try #require(result.outputs.first)
        #expect(try workspace.objects.read(output.digest).count == Int(output.size))
        #expect(output.mediaType == "image/png")
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.count == 1)
        #expect(receipts[0].status == .succeeded)
        #expect(receipts[0].outputs.map(\.digest) == [output.digest])
        #expect(receipts[0].fingerprint == result.steps[0].fingerprint)
        let summary = try #require(try workspace.ledger.run(result.runID))
        #expect(summary.canonicalHash == result.manifest?.canonicalHash)
        #expect(summary.status == "completed")
        // The run id is a UUIDv7.
        let characters = Array(result.runID)
        #expect(characters.count == 36 && characters[14] == "7")
    }

    @Test(arguments: TestBackend.available)
    func refinementLinksAndChainedForkFeedsTheParentsOutputs(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let synthetic = SyntheticProvider()
        let v1 = try await workspace.pipeline("hero-shot")
            .step(synthetic, model: "image-v1", prompt: "product on white background", modality: .image)
            .run()
        let v2 = try await workspace.pipeline("hero-shot").from(v1)
            .step(synthetic, model: "image-v1", prompt: "product on white background, soft shadows", modality: .image)
            .run()
        #expect(v2.parentRunID == v1.runID)
        #expect(v2.steps[0].inputs.isEmpty)  // without chain, from() only links
        let video = try await workspace.pipeline("hero-video", chain: true).from(v1)
            .step(synthetic, model: "video-v1", prompt: "slow zoom in", modality: .video)
            .run(timeout: .seconds(60))
        #expect(video.parentRunID == v1.runID)
        #expect(video.steps[0].inputs.map(\.digest) == v1.outputs.map(\.digest))
        #expect(video.outputs.first?.mediaType == "image/apng")
        let manifest = try workspace.manifest(video)
        let run = try #require(manifest.objectValue?["run"]?.objectValue)
        #expect(run["parent_run_id"]?.stringValue == v1.runID)
        let inputs = run["steps"]?.arrayValue?.first?.objectValue?["inputs"]?.arrayValue
        #expect(inputs?.first?.objectValue?["sha256"]?.stringValue == v1.outputs.first?.sha256)
        #expect(try workspace.ledger.ancestors(of: video.runID).map(\.runID).contains(v1.runID))
        // Forking by run id reads the parent's outputs from its manifest.
        let byID = try await workspace.pipeline("hero-video", chain: true).from(runID: v1.runID)
            .step(synthetic, model: "video-v1", prompt: "slow zoom in", modality: .video)
            .run()
        #expect(byID.steps[0].inputs.map(\.digest) == v1.outputs.map(\.digest))
        #expect(byID.outputs.map(\.digest) == video.outputs.map(\.digest))
    }

    @Test(arguments: TestBackend.available)
    func aProviderThatFailsTwiceThenSucceedsLeavesThreeReceiptsAndOneManifest(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        var provider = ScriptedProvider()
        provider.failAttemptsOf = ["step-1": 2]
        let result = try await workspace.pipeline("flaky")
            .step(provider, model: "m", prompt: "p", modality: .text)
            .run()
        #expect(result.status == .completed)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1, 2, 3])
        #expect(receipts.map(\.status) == [.failed, .failed, .succeeded])
        #expect(receipts[0].providerRequestID == "req-1")
        #expect(receipts[0].error == "server_error: scripted failure")
        #expect(receipts[2].error == nil)
        #expect(try workspace.ledger.runs(named: "flaky").count == 1)
        let step = try workspace.manifest(result).objectValue?["run"]?.objectValue?["steps"]?.arrayValue?.first
        #expect(step?.objectValue?["retries"]?.integerValue?.int == 2)
        #expect(provider.callList == ["step-1#1", "step-1#2", "step-1#3"])
    }

    @Test(arguments: TestBackend.available)
    func aFailedRunIsRecordedAndResumeCallsOnlyTheFailedStepAndAfter(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        var broken = ScriptedProvider(name: "p")
        broken.alwaysFail = ["second"]
        func pipeline(_ provider: ScriptedProvider) throws -> Pipeline {
            workspace.pipeline("three", chain: true)
                .step(provider, model: "m", prompt: "one", modality: .image, name: "first")
                .step(provider, model: "m", prompt: "two", modality: .video, name: "second")
                .step(provider, model: "m", prompt: "three", modality: .text, name: "third")
        }
        let failed = try await pipeline(broken).run()
        #expect(failed.status == .failed)
        #expect(failed.steps.map(\.name) == ["first", "second"])  // steps after a failure are not recorded
        #expect(failed.error?.contains("second") == true)
        #expect(try workspace.ledger.run(failed.runID)?.status == "failed")
        let kept = try #require(failed.steps.first?.outputs.first)
        #expect(try workspace.objects.contains(kept.digest) != .absent)
        #expect(try workspace.ledger.receipts(runID: failed.runID).count == 4)  // 1 + 3 attempts

        let fixed = ScriptedProvider(name: "p")
        let resumed = try await pipeline(fixed).run(resume: true)
        #expect(resumed.status == .completed)
        #expect(resumed.reusedSteps == ["first"])
        #expect(resumed.steps[0].reusedFrom == failed.runID)
        #expect(fixed.callList == ["second#1", "third#1"])
        #expect(try workspace.ledger.receipts(runID: resumed.runID).map(\.stepName) == ["second", "third"])
    }

    @Test(arguments: TestBackend.available)
    func resumeRunsAStepAgainWhenItsCachedOutputIsMissingOrCorrupt(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        let pipeline = workspace.pipeline("cache")
            .step(provider, model: "m", prompt: "p", modality: .image)
        let first = try await pipeline.run()
        let again = try await pipeline.run(resume: true)
        #expect(again.reusedSteps == ["step-1"])
        #expect(provider.callList.count == 1)
        let digest = try #require(first.outputs.first).digest
        var bytes = try workspace.objects.read(digest)
        // Missing: the step runs again and its output is stored again.
        #expect(try workspace.objects.remove(digest))
        let rerun = try await pipeline.run(resume: true)
        #expect(rerun.reusedSteps.isEmpty)
        #expect(provider.callList.count == 2)
        #expect(try workspace.objects.read(digest) == bytes)
        // Corrupt (one byte changed behind the store's back): the step runs again.
        bytes[bytes.count / 2] ^= 0xFF
        try workspace.instance.damageObject(digest, with: bytes)
        let repaired = try await pipeline.run(resume: true)
        #expect(repaired.reusedSteps.isEmpty)
        #expect(provider.callList.count == 3)
    }

    @Test(arguments: TestBackend.available)
    func aStepCacheEntryInAnotherFormatIsAMissAndTheStepRuns(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        let pipeline = workspace.pipeline("formats")
            .step(provider, model: "m", prompt: "p", modality: .image)
        let first = try await pipeline.run()
        // spec/pipeline.md §4: <store>/pipeline/cache/<first 32 hex of SHA-256(name)>/<fingerprint>.json
        let key = ContentHasher.digest(of: Array("formats".utf8), algorithm: .sha256).hex.prefix(32)
        let path = workspace.instance.root + "/pipeline/cache/\(key)/\(first.steps[0].fingerprint).json"
        func entry() throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        func write(_ object: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
                .write(to: URL(fileURLWithPath: path))
        }
        let current = try entry()
        #expect(current["format"] as? String == "cairn-step-cache/2")
        #expect(Set(current.keys) == ["fingerprint", "format", "outputs", "pipeline", "run_id", "step"])
        #expect(try await pipeline.run(resume: true).reusedSteps == ["step-1"])
        #expect(provider.callList.count == 1)

        // The unversioned shape written before the format was named: the same members, no `format`.
        var unversioned = current
        unversioned["format"] = nil
        try write(unversioned)
        let afterUnversioned = try await pipeline.run(resume: true)
        #expect(afterUnversioned.status == .completed)
        #expect(afterUnversioned.reusedSteps.isEmpty)
        #expect(provider.callList.count == 2)
        #expect(try workspace.ledger.receipts(runID: afterUnversioned.runID).map(\.stepName) == ["step-1"])
        // The step's new entry replaced the old one, in the current format.
        #expect(try entry()["format"] as? String == "cairn-step-cache/2")
        #expect(try entry()["run_id"] as? String == afterUnversioned.runID)

        // A format this code does not know, however well its other members would decode.
        var unknown = try entry()
        unknown["format"] = "cairn-step-cache/3"
        try write(unknown)
        let afterUnknown = try await pipeline.run(resume: true)
        #expect(afterUnknown.reusedSteps.isEmpty)
        #expect(provider.callList.count == 3)
        #expect(try entry()["format"] as? String == "cairn-step-cache/2")
        #expect(try await pipeline.run(resume: true).reusedSteps == ["step-1"])
        #expect(provider.callList.count == 3)
    }

    @Test(arguments: TestBackend.available)
    func rerunFromCallsThatStepAndLaterOnesAgainAsALinkedRun(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        let pipeline = workspace.pipeline("rerun", chain: true)
            .step(provider, model: "m", prompt: "a", modality: .image, name: "a")
            .step(provider, model: "m", prompt: "b", modality: .video, name: "b")
            .step(provider, model: "m", prompt: "c", modality: .text, name: "c")
        let first = try await pipeline.run()
        let second = try await pipeline.run(rerunFrom: "b")
        #expect(second.parentRunID == first.runID)
        #expect(second.reusedSteps == ["a"])
        #expect(provider.callList == ["a#1", "b#1", "c#1", "b#1", "c#1"])
        #expect(try workspace.ledger.receipts(runID: first.runID).count == 3)
        await #expect(throws: PipelineError.self) { _ = try await pipeline.run(rerunFrom: "nope") }
    }

    @Test(arguments: TestBackend.available)
    func batchRunMakesOneRunPerPromptInOrder(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        let prompts = ["a cat on a beach", "a cat on a beach at sunset", "a cat on a beach at night"]
        let results = try await workspace.pipeline("prompt-test")
            .step(provider, model: "image-v1", prompt: "{prompt}, photo", modality: .image)
            .batchRun(prompts: prompts)
        #expect(results.map { $0.steps[0].prompt } == prompts.map { "\($0), photo" })
        #expect(Set(results.map(\.runID)).count == 3)
        #expect(results.allSatisfy { $0.status == .completed })
        #expect(Set(results.flatMap(\.outputs).map(\.digest)).count == 3)
        #expect(try workspace.ledger.runs(named: "prompt-test").count == 3)
    }

    @Test func oneThrottleBoundsEveryBranchAndBatchItem() async throws {
        let workspace = try Workspace()
        var provider = ScriptedProvider()
        // Calls wait until two are in flight at once: the throttle must admit two, and never a third.
        provider.rendezvous = 2
        let results = try await Pipeline("throttled", store: workspace.store, throttle: Throttle(limit: 2))
            .stage("a").step(provider, model: "m", prompt: "{prompt} a", modality: .text, name: "a")
            .stage("b").step(provider, model: "m", prompt: "{prompt} b", modality: .text, name: "b")
            .stage("c").step(provider, model: "m", prompt: "{prompt} c", modality: .text, name: "c")
            .batchRun(prompts: ["1", "2", "3"], maxConcurrency: 3)
        #expect(results.count == 3)
        #expect(provider.callList.count == 9)
        #expect(provider.mostInFlight == 2)
    }

    @Test func tagsAreAddedAfterTheFactAsLedgerEntries() async throws {
        let workspace = try Workspace()
        let result = try await Pipeline("tagged", store: workspace.store)
            .step(SyntheticProvider(), model: "m", prompt: "p", modality: .text)
            .run()
        let size = try workspace.ledger.size()
        try Pipeline.tag(runID: result.runID, key: "selected", value: true, store: workspace.store)
        #expect(try workspace.ledger.size() == size + 1)
        #expect(try workspace.ledger.runs(taggedWith: "selected", value: true).map(\.runID) == [result.runID])
        let error = #expect(throws: PipelineError.self) {
            try Pipeline.tag(runID: "no-such-run", key: "selected", value: true, store: workspace.store)
        }
        #expect(error?.code == .notFound)
    }

    @Test func theThrottleSpacesCallStartsByItsRateLimit() async throws {
        let throttle = Throttle(limit: 10, callsPerSecond: 50)
        let started = ContinuousClock.now
        for _ in 0..<6 {
            try await throttle.acquire()
            await throttle.release()
        }
        // Six starts at 50/s need at least five 20 ms gaps.
        #expect(ContinuousClock.now - started >= .milliseconds(100))
    }

    @Test func cancellingAWaiterGivesUpItsPlaceInTheThrottle() async throws {
        let throttle = Throttle(limit: 1)
        try await throttle.acquire()
        let waiter = Task { try await throttle.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        await throttle.release()
        try await throttle.acquire()  // the slot is free again: the cancelled waiter did not take it
        await throttle.release()
    }

    @Test(arguments: TestBackend.available)
    func stagesRunAsADAGWithTransformsAndFingerprintsIgnoreDeclarationOrder(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        func pipeline(_ swapped: Bool) throws -> Pipeline {
            var pipeline = workspace.pipeline("dag")
            let image = { (p: Pipeline) in p.stage("images").step(provider, model: "m", prompt: "i", modality: .image) }
            let sound = { (p: Pipeline) in p.stage("sounds").step(provider, model: "m", prompt: "s", modality: .audio) }
            pipeline = swapped ? image(sound(pipeline)) : sound(image(pipeline))
            return pipeline.stage("mix", dependsOn: swapped ? ["sounds", "images"] : ["images", "sounds"])
                .step(provider, model: "m", prompt: "mix", modality: .text, name: "mix", stepType: .mix)
        }
        let first = try await pipeline(false).run()
        let second = try await pipeline(true).run()
        #expect(first.status == .completed)
        let mix = try #require(first.steps.first { $0.name == "mix" })
        #expect(mix.inputs.map(\.mediaType) == ["image/png", "audio/wav"])  // parents taken in stage-name order
        let mixAgain = try #require(second.steps.first { $0.name == "mix" })
        #expect(mix.fingerprint == mixAgain.fingerprint)
        #expect(first.outputs.map(\.digest) == mix.outputs.map(\.digest))

        // A transform that keeps nothing stops the stage and what is downstream of it, unless allowEmpty.
        let empty = try await workspace.pipeline("dag-empty")
            .stage("images").step(provider, model: "m", prompt: "i", modality: .image, name: "img")
            .stage("videos", dependsOn: ["images"], transform: .filter(mediaTypePrefix: "video/"))
            .step(provider, model: "m", prompt: "v", modality: .video, name: "vid")
            .stage("after", dependsOn: ["videos"]).step(provider, model: "m", prompt: "t", modality: .text, name: "t")
            .run()
        #expect(empty.status == .completed)
        #expect(empty.steps.map(\.name) == ["img"])
        #expect(empty.stoppedStages["videos"]?.contains("received no inputs from images") == true)
        #expect(empty.stoppedStages["after"] != nil)
        let allowed = try await workspace.pipeline("dag-empty")
            .stage("images").step(provider, model: "m", prompt: "i", modality: .image, name: "img")
            .stage("videos", dependsOn: ["images"], transform: .filter(mediaTypePrefix: "video/"), allowEmpty: true)
            .step(provider, model: "m", prompt: "v", modality: .video, name: "vid")
            .run()
        #expect(allowed.steps.map(\.name) == ["img", "vid"])
        #expect(allowed.steps[1].inputs.isEmpty)
        // The transform's version is part of the downstream fingerprint.
        let v2 = StageTransform(name: "filter-media-type:video/", version: "2") {
            $0.filter { $0.mediaType.hasPrefix("video/") }
        }
        let bumped = try await workspace.pipeline("dag-empty")
            .stage("images").step(provider, model: "m", prompt: "i", modality: .image, name: "img")
            .stage("videos", dependsOn: ["images"], transform: v2, allowEmpty: true)
            .step(provider, model: "m", prompt: "v", modality: .video, name: "vid")
            .run()
        #expect(bumped.steps[1].fingerprint != allowed.steps[1].fingerprint)
    }

    @Test(arguments: TestBackend.available)
    func invalidPipelinesAreRefusedBeforeAnythingIsAppended(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let provider = ScriptedProvider()
        let imagesOnly = ProcessProvider(name: "img", command: ["true"], modalities: [.image])
        let cases: [(Pipeline, String)] = [
            (workspace.pipeline("x"), "has no steps"),
            (
                workspace.pipeline("x").step(
                    provider,
                    model: "m",
                    prompt: "p",
                    modality: .text,
                    name: "a"
                )
                .step(provider, model: "m", prompt: "p", modality: .text, name: "a"), "step name a is used twice"
            ),
            (
                workspace.pipeline("x").stage("s", dependsOn: ["ghost"])
                    .step(provider, model: "m", prompt: "p", modality: .text), "dependsOn names ghost"
            ),
            (
                workspace.pipeline("x").stage("a", dependsOn: ["b"])
                    .step(provider, model: "m", prompt: "p", modality: .text, name: "s1")
                    .stage("b", dependsOn: ["a"]).step(provider, model: "m", prompt: "p", modality: .text, name: "s2"),
                "cycle"
            ),
            (
                workspace.pipeline("x").step(imagesOnly, model: "m", prompt: "p", modality: .audio),
                "does not make audio"
            ),
        ]
        for (pipeline, message) in cases {
            let error = await #expect(throws: PipelineError.self) { _ = try await pipeline.run() }
            #expect(error?.code == .invalidPipeline)
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "") should mention \(message)")
        }
        #expect(try workspace.ledger.size() == 0)
        #expect(provider.callList.isEmpty)
    }

    @Test(arguments: TestBackend.available)
    func cancellingARunRecordsCancelledReceiptsAndTheManifest(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        var provider = ScriptedProvider()
        provider.delay = .seconds(30)
        let pipeline = workspace.pipeline("cancel")
            .step(provider, model: "m", prompt: "p", modality: .text)
        let task = Task { try await pipeline.run() }
        while provider.callList.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        let result = try await task.value
        #expect(result.status == .cancelled)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.cancelled])
        #expect(receipts.first?.error == "cancelled")
        #expect(try workspace.ledger.run(result.runID)?.status == "cancelled")
        #expect(provider.callList.count == 1)
    }

    @Test(arguments: TestBackend.available)
    func aRunTimeoutFailsTheRunAndRecordsTheInFlightAttempt(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        var provider = ScriptedProvider()
        provider.delay = .seconds(600)
        let started = ContinuousClock.now
        let result = try await workspace.pipeline("slow")
            .step(provider, model: "m", prompt: "p", modality: .text)
            .run(timeout: .milliseconds(200))
        #expect(ContinuousClock.now - started < .seconds(120))
        #expect(result.status == .failed)
        #expect(result.error == "the run timed out")
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.cancelled])
        #expect(receipts.first?.error == "timeout: cancelled: the run timed out")
        #expect(result.steps.first?.error == "cancelled: the run timed out")
        #expect(result.steps.first?.errorCode == "timeout")
    }

    @Test func retriesResumeAnAcceptedHTTPJobInsteadOfSubmittingAgain() async throws {
        let workspace = try Workspace()
        let server = try TestJobServer()
        // A first attempt whose poll times out leaves job-1 accepted; the retry polls job-1 and never POSTs again.
        let provider = HTTPProvider(
            name: "http",
            endpoint: server.baseURL,
            pollInterval: .milliseconds(300),
            timeout: .milliseconds(100),
            retryPolicy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1))
        )
        let result = try await Pipeline("http", store: workspace.store)
            .step(provider, model: "m", prompt: "async job", modality: .text)
            .run()
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.first?.status == .failed)
        #expect(receipts.first?.providerResponseID == "job-1")
        let posts = try server.requests().filter { ($0["method"] as? String) == "POST" }
        #expect(posts.count == 1)
        #expect(posts.first?["client_request_id"] as? String == "\(result.runID)/step-1/1")
        let gets = try server.requests().filter { ($0["path"] as? String) == "/jobs/job-1" }
        #expect(!gets.isEmpty)
    }
}
