// Measures pipeline overhead with the synthetic provider and small outputs, for Benchmarks/compare/pipeline.sh.
//
//   PipelineCompare steps WORKDIR STEPS RUNS      one JSON line: steps/s through the pipeline, provider-only
//                                                 calls/s, and the same store puts + ledger appends replayed
//                                                 directly (their share of the pipeline's time)
//   PipelineCompare batch WORKDIR PROMPTS WORKERS one JSON line: batch runs/s with WORKERS concurrent runs
import CairnCore
import CairnLedger
import CairnManifest
import CairnPipeline
import CairnStore
import Foundation

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

func freshStore(_ path: String) throws -> ObjectStore {
    try? FileManager.default.removeItem(atPath: path)
    return try ObjectStore.create(at: path)
}

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[3]), let extra = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: PipelineCompare steps|batch WORKDIR N M\n".utf8))
    exit(2)
}
let work = arguments[2]
let provider = SyntheticProvider()
let clock = ContinuousClock()

switch arguments[1] {
case "steps":
    let steps = count
    let runs = extra
    let store = try freshStore(work + "/steps")
    var pipeline = try Pipeline("bench-steps", store: store)
    for index in 0..<steps {
        pipeline = pipeline.step(
            provider,
            model: "text-v1",
            prompt: "step \(index)",
            modality: .text,
            params: ["words": 4]
        )
    }
    _ = try await pipeline.run()  // warm up (ledger key, index, directories)
    let start = clock.now
    var outputs: [[UInt8]] = []
    for _ in 0..<runs {
        let result = try await pipeline.run()
        precondition(result.status == .completed)
        if outputs.isEmpty { outputs = try result.steps.flatMap { try $0.outputs.map { try store.read($0.digest) } } }
    }
    let pipelineTime = seconds(clock.now - start)

    // The provider alone, same requests.
    let providerStart = clock.now
    for _ in 0..<runs {
        for index in 0..<steps {
            _ = try await provider.generate(
                ProviderRequest(
                    runID: "bench",
                    stepName: "s\(index)",
                    stepIndex: index,
                    attempt: 1,
                    model: "text-v1",
                    prompt: "step \(index)",
                    params: ["words": 4],
                    modality: .text,
                    workDirectory: work
                )
            )
        }
    }
    let providerTime = seconds(clock.now - providerStart)

    // The store puts and ledger appends a run makes, replayed directly: one put + one receipt per step,
    // one manifest per run (its bytes taken from a real run).
    let replayStore = try freshStore(work + "/replay")
    let ledger = try Ledger.open(store: replayStore)
    let manifest = try await Pipeline("bench-steps", store: replayStore).step(
        provider,
        model: "text-v1",
        prompt: "m",
        modality: .text,
        params: ["words": 4]
    ).run().manifest!.bytes
    let replayStart = clock.now
    for run in 0..<runs {
        for (index, bytes) in outputs.enumerated() {
            let put = try replayStore.put(bytes + Array("\(run)".utf8))
            try ledger.appendReceipt(
                Receipt(
                    runID: "run-\(run)",
                    stepName: "s\(index)",
                    stepIndex: index,
                    status: .succeeded,
                    startedAt: "2026-01-01T00:00:00.000Z",
                    finishedAt: "2026-01-01T00:00:00.001Z",
                    outputs: [ReceiptArtifact(digest: put.digest, mediaType: "text/plain")],
                    provider: "synthetic",
                    fingerprint: String(repeating: "0", count: 64)
                )
            )
        }
        var text = String(decoding: manifest, as: UTF8.self)
        text = text.replacingOccurrences(of: "\"run_id\":\"", with: "\"run_id\":\"r\(run)-")
        try ledger.appendManifest(bytes: Array(text.utf8))
    }
    let replayTime = seconds(clock.now - replayStart)
    let total = Double(steps * runs)
    print(
        """
        {"steps_per_second": \(total / pipelineTime), "provider_calls_per_second": \(total / providerTime), \
        "store_ledger_replay_seconds": \(replayTime), "pipeline_seconds": \(pipelineTime), \
        "store_ledger_share": \(replayTime / pipelineTime), "provider_share": \(providerTime / pipelineTime)}
        """
    )
case "batch":
    let prompts = (0..<count).map { "prompt number \($0)" }
    let store = try freshStore(work + "/batch-\(extra)")
    let pipeline = try Pipeline("bench-batch", store: store, throttle: Throttle(limit: 8))
        .step(provider, model: "image-v1", prompt: "{prompt}", modality: .image, params: ["width": 32, "height": 32])
    _ = try await pipeline.batchRun(prompts: ["warm up"], maxConcurrency: 1)
    let start = clock.now
    let results = try await pipeline.batchRun(prompts: prompts, maxConcurrency: extra)
    let elapsed = seconds(clock.now - start)
    precondition(results.allSatisfy { $0.status == .completed })
    print("{\"runs_per_second\": \(Double(count) / elapsed), \"workers\": \(extra)}")
default:
    FileHandle.standardError.write(Data("unknown mode \(arguments[1])\n".utf8))
    exit(2)
}
