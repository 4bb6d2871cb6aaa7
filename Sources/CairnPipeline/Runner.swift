import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import Logging
import Synchronization
import _CairnSystem

extension Pipeline {
    /// Runs the pipeline once and appends its manifest to the ledger (also when it fails or is cancelled).
    ///
    /// Every output is in the store before it is reported, and every attempt's receipt is in the ledger before the
    /// next attempt starts. A step that fails is retried per its provider's ``RetryPolicy``; when it finally fails,
    /// steps after it are not run and the run's status is `failed`. Cancelling the calling task stops new provider
    /// calls, records in-flight attempts as `cancelled` receipts and appends the manifest with status `cancelled`.
    ///
    /// - Parameters:
    ///   - timeout: a time limit for the whole run; when it passes, in-flight attempts are cancelled and the run
    ///     fails with a timeout.
    ///   - resume: reuse the outputs of any step whose fingerprint already succeeded in a run of the same name and
    ///     whose outputs are present and intact in the store.
    ///   - rerunFrom: the name of a step to call again, with every step declared after it, even when cached; earlier
    ///     steps are reused when cached. The run is linked to the newest earlier run of the same name.
    /// - Returns: the run's result, including the recorded manifest.
    /// - Throws: ``PipelineError`` when the pipeline is invalid (nothing is appended then), or when the store or
    ///   ledger fails.
    public func run(timeout: Duration? = nil, resume: Bool = false, rerunFrom: String? = nil) async throws -> RunResult
    {
        try validate(rerunFrom: rerunFrom)
        var pipeline = self
        if let rerunFrom, pipeline.parent == nil {
            _ = rerunFrom
            let backend = backend
            let name = name
            if let previous = try await BlockingIO.run({ try backend.journal.latestRun(named: name) }) {
                pipeline.parent = ParentLink(runID: previous, outputs: [])
            }
        }
        let runner = try RunExecution(pipeline: pipeline, resume: resume || rerunFrom != nil, rerunFrom: rerunFrom)
        let execution = Task { try await runner.execute() }
        var timer: Task<Void, any Error>?
        if let timeout {
            let sleep = pipeline.timing.sleep
            timer = Task {
                try await sleep(timeout)
                runner.timedOut.withLock { $0 = true }
                execution.cancel()
            }
        }
        defer { timer?.cancel() }
        return try await withTaskCancellationHandler {
            try await execution.value
        } onCancel: {
            execution.cancel()
        }
    }

    /// Runs the pipeline once per prompt, each as its own run, at most `maxConcurrency` runs at a time.
    ///
    /// In every step's prompt, `{prompt}` is replaced by the item's prompt (a step without the placeholder keeps
    /// its prompt). Provider calls of all items share the pipeline's ``Throttle``. A failed item does not stop the
    /// others; its result says it failed.
    ///
    /// - Parameters:
    ///   - prompts: the batch items.
    ///   - maxConcurrency: the most runs in flight at once (at least 1).
    ///   - resume: as in ``run(timeout:resume:rerunFrom:)``.
    /// - Returns: the results in the order of `prompts`.
    /// - Throws: ``PipelineError`` when the pipeline is invalid, or when the store or ledger fails.
    public func batchRun(prompts: [String], maxConcurrency: Int = 2, resume: Bool = false) async throws -> [RunResult] {
        try validate(rerunFrom: nil)
        let gate = Throttle(limit: maxConcurrency)
        return try await withThrowingTaskGroup(of: (Int, RunResult).self) { group in
            for (index, prompt) in prompts.enumerated() {
                let item = self.templated(prompt: prompt)
                group.addTask {
                    try await gate.acquire()
                    do {
                        let result = try await item.run(resume: resume)
                        await gate.release()
                        return (index, result)
                    } catch {
                        await gate.release()
                        throw error
                    }
                }
            }
            var results = [RunResult?](repeating: nil, count: prompts.count)
            for try await (index, result) in group {
                results[index] = result
            }
            return results.compactMap { $0 }
        }
    }

    /// This pipeline with `{prompt}` replaced in every step's prompt.
    func templated(prompt: String) -> Pipeline {
        var copy = self
        for stage in copy.stages.indices {
            for step in copy.stages[stage].steps.indices {
                if let template = copy.stages[stage].steps[step].prompt {
                    copy.stages[stage].steps[step].prompt = template.replacingOccurrences(of: "{prompt}", with: prompt)
                }
            }
        }
        return copy
    }

    /// Checks names, dependencies and modalities; throws before anything runs or is appended.
    func validate(rerunFrom: String?) throws {
        guard !name.isEmpty else { throw PipelineError(.invalidPipeline, "the pipeline name is empty") }
        let steps = stages.flatMap(\.steps)
        guard !steps.isEmpty else { throw PipelineError(.invalidPipeline, "pipeline \(name) has no steps") }
        var stageNames = Set<String>()
        for stage in stages {
            guard stageNames.insert(stage.name).inserted else {
                throw PipelineError(.invalidPipeline, "stage name \(stage.name) is used twice")
            }
            guard !stage.steps.isEmpty else {
                throw PipelineError(.invalidPipeline, "stage \(stage.name) has no steps")
            }
        }
        var stepNames = Set<String>()
        for stage in stages {
            for dependency in stage.dependsOn where !stageNames.contains(dependency) {
                throw PipelineError(
                    .invalidPipeline,
                    "stage \(stage.name): dependsOn names \(dependency), which is not a stage of this pipeline"
                )
            }
            var earlier = Set<String>()
            for step in stage.steps {
                guard stepNames.insert(step.name).inserted else {
                    throw PipelineError(.invalidPipeline, "step name \(step.name) is used twice")
                }
                guard step.provider.modalities.contains(step.modality) else {
                    throw PipelineError(
                        .invalidPipeline,
                        "step \(step.name): provider \(step.provider.name) does not make \(step.modality.rawValue)"
                    )
                }
                if let field = SecretNames.literalSecretPath(in: .object(step.params), path: "params") {
                    throw PipelineError(.invalidPipeline, "step \(step.name): \(field) \(SecretNames.advice)")
                }
                for source in step.inputFrom ?? [] where !earlier.contains(source) {
                    throw PipelineError(
                        .invalidPipeline,
                        "step \(step.name): inputFrom names \(source), which is not an earlier step of stage \(stage.name)"
                    )
                }
                earlier.insert(step.name)
            }
        }
        if let field = SecretNames.literalSecretPath(in: .object(metadata), path: "metadata") {
            throw PipelineError(.invalidPipeline, "pipeline \(name): \(field) \(SecretNames.advice)")
        }
        if let rerunFrom, !stepNames.contains(rerunFrom) {
            throw PipelineError(.invalidPipeline, "rerun-from names \(rerunFrom), which is not a step of \(name)")
        }
        // Cycles: repeatedly remove stages whose dependencies are all removed.
        var remaining = Dictionary(uniqueKeysWithValues: stages.map { ($0.name, Set($0.dependsOn)) })
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.value.allSatisfy { remaining[$0] == nil } }.map(\.key)
            guard !ready.isEmpty else {
                let names = remaining.keys.sorted()
                let what =
                    names.count == 1
                    ? "stage \(names[0]) depends on itself"
                    : "stages \(names.joined(separator: ", ")) depend on each other in a cycle"
                throw PipelineError(.invalidPipeline, "\(what); remove a depends_on entry to break it")
            }
            for name in ready { remaining[name] = nil }
        }
    }
}

/// RFC 3339 timestamps with milliseconds, in UTC.
enum RFC3339 {
    static func now() -> String { format(Date()) }

    static func format(_ date: Date) -> String { Timestamp.millisecondText(date) }
}

/// The outcome of one stage inside a run.
struct StageOutcome: Sendable {
    var name: String
    var steps: [StepResult]
    var outputs: [Artifact]
    var outputFingerprint: String
    var failed: Bool
    var stopped: String?
}

/// One execution of a pipeline: the run id, the state shared by its stages, and the recording.
final class RunExecution: Sendable {
    let pipeline: Pipeline
    let runID: String
    let resume: Bool
    let forcedFrom: Int?
    let stepIndex: [String: Int]
    let timedOut = Mutex(false)
    let logger: Logger
    let workRoot: String
    /// Removes secret values from everything the run stores, records or logs (spec/pipeline.md, "Secrets").
    let redactor: Redactor

    init(pipeline: Pipeline, resume: Bool, rerunFrom: String?) throws {
        self.pipeline = pipeline
        self.runID = RunID.make()
        self.resume = resume
        var index: [String: Int] = [:]
        for (position, name) in pipeline.stepNames.enumerated() { index[name] = position }
        self.stepIndex = index
        self.forcedFrom = rerunFrom.flatMap { index[$0] }
        var logger = pipeline.logger
        logger[metadataKey: "run_id"] = "\(runID)"
        logger[metadataKey: "pipeline"] = "\(pipeline.name)"
        self.logger = logger
        self.workRoot = NSTemporaryDirectory() + "/cairn-run-\(runID)"
        self.redactor = Redactor(
            environment: ProcessInfo.processInfo.environment,
            providers: pipeline.stages.flatMap { $0.steps.map(\.provider) }
        )
    }

    var backend: PipelineBackend { pipeline.backend }

    func execute() async throws -> RunResult {
        let startedAt = RFC3339.now()
        logger.debug("run started")
        defer { try? FileManager.default.removeItem(atPath: workRoot) }
        var parentOutputs: [Artifact] = []
        if let parent = pipeline.parent {
            if let outputs = parent.outputs {
                parentOutputs = outputs
            } else if let outputs = try await blocking({ [parentID = parent.runID] in
                try self.backend.journal.outputs(ofRun: parentID)
            }) {
                parentOutputs = outputs
            } else {
                // Checked for every parent given by id, so that a mistyped id never becomes a dangling link.
                throw PipelineError(.notFound, "parent run \(parent.runID) is not in the ledger")
            }
            if !pipeline.chain { parentOutputs = [] }
        }

        let stages = pipeline.stages
        var outcomes: [String: StageOutcome] = [:]
        var started = Set<String>()
        var stopped: [String: String] = [:]
        var failure: String?
        await withTaskGroup(of: StageOutcome.self) { group in
            var running = 0
            while true {
                if failure == nil && !Task.isCancelled {
                    for stage in stages where !started.contains(stage.name) {
                        guard stage.dependsOn.allSatisfy({ outcomes[$0] != nil }) else { continue }
                        started.insert(stage.name)
                        let upstream = stage.dependsOn.sorted().compactMap { outcomes[$0] }
                        if let stop = upstream.first(where: { $0.stopped != nil || $0.failed }) {
                            let reason = "upstream stage \(stop.name) was stopped"
                            let outcome = StageOutcome(
                                name: stage.name,
                                steps: [],
                                outputs: [],
                                outputFingerprint: "",
                                failed: stop.failed,
                                stopped: stop.failed ? nil : reason
                            )
                            if !stop.failed { stopped[stage.name] = reason }
                            outcomes[stage.name] = outcome
                            continue
                        }
                        let inputs = stage.dependsOn.isEmpty ? parentOutputs : upstream.flatMap(\.outputs)
                        let parentPrints = upstream.map(\.outputFingerprint)
                        group.addTask { await self.runStage(stage, inputs: inputs, parentFingerprints: parentPrints) }
                        running += 1
                    }
                }
                // Stages made ready by stopped stages are handled in the next pass without waiting.
                let readyNow = stages.contains { stage in
                    !started.contains(stage.name) && stage.dependsOn.allSatisfy { outcomes[$0] != nil }
                }
                if readyNow && failure == nil && !Task.isCancelled { continue }
                guard running > 0, let outcome = await group.next() else { break }
                running -= 1
                outcomes[outcome.name] = outcome
                if let reason = outcome.stopped { stopped[outcome.name] = reason }
                if outcome.failed, failure == nil {
                    failure =
                        outcome.steps.last { $0.status != .succeeded }.map {
                            "step \($0.name): \($0.error ?? "failed")"
                        }
                        ?? "stage \(outcome.name) failed"
                }
            }
        }

        // Steps in declaration order; stages never started are not recorded.
        let dependedOn = Set(stages.flatMap(\.dependsOn))
        var steps: [StepResult] = []
        for stage in stages {
            var stageSteps = outcomes[stage.name]?.steps ?? []
            if !dependedOn.contains(stage.name) {
                for position in stageSteps.indices where stageSteps[position].status == .succeeded {
                    stageSteps[position].isRunOutput = !pipeline.chain || position == stageSteps.count - 1
                }
            }
            steps += stageSteps
        }
        let cancelled = Task.isCancelled || steps.contains { $0.status == .cancelled }
        let isTimedOut = timedOut.withLock { $0 }
        var status: RunStatus = .completed
        var error: String?
        if isTimedOut {
            status = .failed
            error = "the run timed out"
        } else if cancelled {
            status = .cancelled
            error = "the run was cancelled"
        } else if let failure {
            status = .failed
            error = failure
        }
        let outputs = stages.filter { !dependedOn.contains($0.name) }.flatMap { outcomes[$0.name]?.outputs ?? [] }
        var result = RunResult(
            runID: runID,
            parentRunID: pipeline.parent?.runID,
            name: pipeline.name,
            status: status,
            steps: steps,
            outputs: outputs,
            stoppedStages: stopped,
            error: error,
            startedAt: startedAt,
            completedAt: RFC3339.now(),
            metadata: pipeline.metadata,
            manifest: nil
        )
        do {
            let finished = result
            result.manifest = try await blocking { try self.backend.journal.appendRun(finished) }
        } catch {
            throw PipelineError(.ledger, "cannot append the manifest of run \(runID)", underlying: error)
        }
        logger.debug("run ended", metadata: ["status": "\(status.rawValue)"])
        return result
    }

    /// Runs a stage's steps in order.
    func runStage(_ stage: StageSpec, inputs rawInputs: [Artifact], parentFingerprints: [String]) async -> StageOutcome
    {
        var outcome = StageOutcome(
            name: stage.name,
            steps: [],
            outputs: [],
            outputFingerprint: "",
            failed: false,
            stopped: nil
        )
        do {
            var inputs = rawInputs
            if let transform = stage.transform {
                inputs = try transform.apply(rawInputs)
            }
            if !stage.dependsOn.isEmpty && inputs.isEmpty && !stage.allowEmpty {
                let transformText = stage.transform.map { " after transform \($0.name)@\($0.version)" } ?? ""
                outcome.stopped =
                    "stage \(stage.name) received no inputs from \(stage.dependsOn.sorted().joined(separator: ", "))"
                    + "\(transformText); it and its downstream stages were not run (set allowEmpty to run it anyway)"
                logger.debug("stage stopped", metadata: ["stage": "\(stage.name)"])
                return outcome
            }
            let context = try Fingerprint.stageContext(
                transform: stage.transform,
                parentFingerprints: parentFingerprints
            )
            var previous: [Artifact] = inputs
            var byName: [String: [Artifact]] = [:]
            var fingerprints: [String] = []
            for step in stage.steps {
                let stepInputs: [Artifact]
                if let sources = step.inputFrom {
                    stepInputs = sources.flatMap { byName[$0] ?? [] }
                } else if pipeline.chain {
                    stepInputs = previous
                } else {
                    stepInputs = inputs
                }
                let result = try await runStep(step, stage: stage.name, inputs: stepInputs, context: context)
                outcome.steps.append(result)
                fingerprints.append(result.fingerprint)
                guard result.status == .succeeded else {
                    outcome.failed = true
                    return outcome
                }
                byName[step.name] = result.outputs
                previous = result.outputs
                if !pipeline.chain { outcome.outputs += result.outputs }
            }
            if pipeline.chain { outcome.outputs = previous }
            outcome.outputFingerprint = try Fingerprint.stageOutput(context: context, steps: fingerprints)
        } catch {
            outcome.failed = true
            let message = redactor.redact("\(error)")
            logger.error("stage failed", metadata: ["stage": "\(stage.name)", "error": "\(message)"])
            if outcome.steps.isEmpty || outcome.steps.last?.status == .succeeded {
                // A failure outside a step (a transform, the store) is reported on the stage.
                outcome.steps.append(
                    StepResult(
                        name: stage.steps[min(outcome.steps.count, stage.steps.count - 1)].name,
                        stage: stage.name,
                        index: stepIndex[stage.steps[min(outcome.steps.count, stage.steps.count - 1)].name] ?? 0,
                        status: .failed,
                        fingerprint: "",
                        provider: stage.steps[min(outcome.steps.count, stage.steps.count - 1)].provider.name,
                        model: stage.steps[min(outcome.steps.count, stage.steps.count - 1)].model,
                        prompt: nil,
                        modality: stage.steps[min(outcome.steps.count, stage.steps.count - 1)].modality,
                        stepType: .generate,
                        seed: nil,
                        negativePrompt: nil,
                        params: JSONObject(),
                        modelVersion: nil,
                        attempts: 0,
                        reusedFrom: nil,
                        inputs: [],
                        outputs: [],
                        error: message,
                        errorCode: ProviderError.Code.unknown.rawValue,
                        providerRequestID: nil,
                        providerResponseID: nil,
                        records: [:],
                        providerPayload: [:],
                        startedAt: RFC3339.now(),
                        completedAt: RFC3339.now()
                    )
                )
            }
        }
        return outcome
    }

    /// Runs one step: cache lookup, then attempts with retries; every attempt gets a receipt.
    func runStep(_ step: StepSpec, stage: String, inputs: [Artifact], context: String) async throws -> StepResult {
        let index = stepIndex[step.name] ?? 0
        let fingerprint = try Fingerprint.step(
            provider: step.provider,
            spec: step,
            prompt: step.prompt,
            inputs: inputs,
            stageContext: context
        )
        var logger = self.logger
        logger[metadataKey: "step"] = "\(step.name)"
        var result = StepResult(
            name: step.name,
            stage: stage,
            index: index,
            status: .failed,
            fingerprint: fingerprint,
            provider: step.provider.name,
            model: step.model,
            prompt: step.prompt,
            modality: step.modality,
            stepType: step.stepType,
            seed: step.seed,
            negativePrompt: step.negativePrompt,
            params: step.params,
            modelVersion: step.modelVersion,
            attempts: 0,
            reusedFrom: nil,
            inputs: inputs,
            outputs: [],
            error: nil,
            errorCode: nil,
            providerRequestID: nil,
            providerResponseID: nil,
            records: [:],
            providerPayload: [:],
            startedAt: RFC3339.now(),
            completedAt: ""
        )
        let forced = forcedFrom.map { index >= $0 } ?? false
        if resume && !forced,
            let (hit, intact) = try await blocking({ [name = pipeline.name] () -> (CachedStep, Bool)? in
                guard let hit = self.backend.cache.lookup(pipeline: name, fingerprint: fingerprint) else { return nil }
                return (hit, self.backend.areIntact(hit.outputs))
            })
        {
            if intact {
                logger.debug("step reused", metadata: ["from_run": "\(hit.runID)"])
                result.status = .succeeded
                result.reusedFrom = hit.runID
                result.outputs = hit.outputs
                result.completedAt = RFC3339.now()
                pipeline.observer?(.stepFinished(runID: runID, step: step.name, status: .succeeded, reused: true))
                return result
            }
            logger.debug("cached outputs missing or corrupt; running the step again")
        }

        let policy = step.provider.retryPolicy
        var resumeJobID: String?
        for attempt in 1...policy.maxAttempts {
            result.attempts = attempt
            let attemptStarted = RFC3339.now()
            // The ledger's receipt of this attempt; the step result takes the message, the error code and the
            // provider records beside it.
            var receipt = Receipt(
                runID: runID,
                stepName: step.name,
                stepIndex: index,
                attempt: attempt,
                status: .failed,
                startedAt: attemptStarted,
                finishedAt: "",
                inputs: inputs.map(\.receiptArtifact),
                provider: step.provider.name,
                fingerprint: fingerprint
            )
            var retryAfter: Duration?
            do {
                try await pipeline.throttle.acquire()
                let response: ProviderResponse
                do {
                    let request = try await blocking { [resumeJobID] in
                        try self.prepareRequest(
                            step,
                            index: index,
                            attempt: attempt,
                            inputs: inputs,
                            resumeJobID: resumeJobID
                        )
                    }
                    logger.debug("attempt started", metadata: ["attempt": "\(attempt)"])
                    pipeline.observer?(.attemptStarted(runID: runID, step: step.name, attempt: attempt))
                    response = try await call(step.provider, request, timeout: policy.attemptTimeout)
                    await pipeline.throttle.release()
                } catch {
                    await pipeline.throttle.release()
                    throw error
                }
                receipt.providerRequestID = response.requestID.map(redactor.redact)
                receipt.providerResponseID = response.responseID.map(redactor.redact)
                let records = try await blocking { try self.storeRecords(response.records) }
                let outputs = try await blocking { () -> [Artifact] in
                    try response.outputs.enumerated().map { position, output in
                        // The store failing (a full disk, say) is not the provider's failure: the run stops with
                        // the store's error instead of retrying or recording it as a failed attempt.
                        do {
                            switch output.content {
                            case .bytes(let bytes): return try self.backend.ingest(bytes: bytes, output: output)
                            case .file(let path): return try self.backend.ingest(fileAt: path, output: output)
                            }
                        } catch {
                            throw PipelineError(
                                .store,
                                "cannot store output \(position) of step \(step.name)",
                                underlying: error
                            )
                        }
                    }
                }
                receipt.outputs = outputs.map(\.receiptArtifact)
                receipt.status = .succeeded
                receipt.finishedAt = RFC3339.now()
                let succeeded = receipt
                try await blocking {
                    try self.append(succeeded)
                    try self.backend.cache.remember(
                        CachedStep(
                            pipeline: self.pipeline.name,
                            fingerprint: fingerprint,
                            runID: self.runID,
                            step: step.name,
                            outputs: outputs
                        )
                    )
                }
                result.status = .succeeded
                result.outputs = outputs
                result.error = nil
                result.errorCode = nil
                result.providerRequestID = receipt.providerRequestID
                result.providerResponseID = receipt.providerResponseID
                result.records = records
                result.providerPayload = response.payload.mapValues(redactor.redact)
                result.completedAt = receipt.finishedAt
                logger.debug("attempt succeeded", metadata: ["attempt": "\(attempt)"])
                pipeline.observer?(.stepFinished(runID: runID, step: step.name, status: .succeeded, reused: false))
                return result
            } catch let error as PipelineError {
                throw error
            } catch {
                let cancelled = error is CancellationError || Task.isCancelled
                let providerError =
                    (error as? ProviderError)
                    ?? ProviderError(cancelled ? .unknown : .unknown, "\(error)", underlying: error)
                var message = cancelled ? "cancelled" : redactor.redact(providerError.description)
                var errorCode = cancelled ? nil : providerError.code.rawValue
                receipt.status = cancelled ? .cancelled : .failed
                receipt.providerRequestID = providerError.requestID.map(redactor.redact)
                receipt.providerResponseID = providerError.acceptedJobID.map(redactor.redact)
                let records = (try? await blocking { try self.storeRecords(providerError.records) }) ?? [:]
                receipt.finishedAt = RFC3339.now()
                if cancelled && timedOut.withLock({ $0 }) {
                    message = "cancelled: the run timed out"
                    errorCode = ProviderError.Code.timeout.rawValue
                }
                receipt.error = Receipt.errorText(message, code: errorCode)
                let failed = receipt
                try await blocking { try self.append(failed) }
                result.status = receipt.status.stepStatus
                result.error = message
                result.errorCode = errorCode
                result.providerRequestID = receipt.providerRequestID
                result.providerResponseID = receipt.providerResponseID
                result.records = records
                result.completedAt = receipt.finishedAt
                logger.debug(
                    "attempt \(receipt.status.rawValue)",
                    metadata: ["attempt": "\(attempt)", "error": "\(message)"]
                )
                let final =
                    cancelled || attempt >= policy.maxAttempts || !policy.retryableCodes.contains(providerError.code)
                if final {
                    pipeline.observer?(
                        .stepFinished(runID: runID, step: step.name, status: result.status, reused: false)
                    )
                    return result
                }
                if step.provider.supportsJobResume, let accepted = providerError.acceptedJobID {
                    resumeJobID = accepted
                }
                retryAfter = providerError.retryAfter
            }
            let delay = pipeline.timing.backoff(policy, afterAttempt: attempt, retryAfter: retryAfter)
            logger.debug("waiting to retry", metadata: ["attempt": "\(attempt)", "delay": "\(delay)"])
            do {
                try await pipeline.timing.sleep(delay)
            } catch {
                // Cancelled while waiting to retry: no attempt is in flight; the run records its status.
                result.status = .cancelled
                result.error = "cancelled before attempt \(attempt + 1)"
                return result
            }
        }
        return result
    }

    /// Runs blocking store, ledger and file work off the cooperative pool (see `BlockingIO`).
    func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await BlockingIO.run(body)
    }

    /// Appends a receipt, turning ledger failures into ``PipelineError``.
    func append(_ receipt: Receipt) throws {
        do {
            try backend.journal.appendReceipt(receipt)
        } catch {
            throw PipelineError(
                .ledger,
                "cannot append the receipt of step \(receipt.stepName) attempt \(receipt.attempt)",
                underlying: error
            )
        }
    }

    /// Puts records into the store.
    func storeRecords(_ records: [ProviderRecord]) throws -> [String: Digest] {
        var digests: [String: Digest] = [:]
        for record in records {
            do {
                digests[record.name] = try backend.store.put(redactor.redact(record.bytes)).digest
            } catch {
                throw PipelineError(.store, "cannot store the \(record.name) record", underlying: error)
            }
        }
        return digests
    }

    /// Materializes the inputs as files in a fresh work directory and builds the request.
    func prepareRequest(
        _ step: StepSpec,
        index: Int,
        attempt: Int,
        inputs: [Artifact],
        resumeJobID: String?
    ) throws -> ProviderRequest {
        let work = workRoot + "/\(index)-\(attempt)"
        let inputDirectory = work + "/inputs"
        try FileManager.default.createDirectory(atPath: inputDirectory, withIntermediateDirectories: true)
        var providerInputs: [ProviderInput] = []
        for (position, input) in inputs.enumerated() {
            let path =
                inputDirectory
                + "/\(position)-\(input.digest.hex.prefix(16)).\(MediaTypes.fileExtension(for: input.mediaType))"
            do {
                try backend.store.copy(input.digest, toFileAt: path, verify: true)
            } catch {
                throw PipelineError(.store, "cannot read input \(input.digest) of step \(step.name)", underlying: error)
            }
            providerInputs.append(ProviderInput(digest: input.digest, mediaType: input.mediaType, path: path))
        }
        return ProviderRequest(
            runID: runID,
            stepName: step.name,
            stepIndex: index,
            attempt: attempt,
            model: step.model,
            modelVersion: step.modelVersion,
            prompt: step.prompt,
            negativePrompt: step.negativePrompt,
            seed: step.seed,
            params: step.params,
            modality: step.modality,
            stepType: step.stepType,
            inputs: providerInputs,
            workDirectory: work,
            resumeJobID: resumeJobID
        )
    }

    /// Calls the provider, failing with `timeout` when `timeout` passes first.
    func call(_ provider: any Provider, _ request: ProviderRequest, timeout: Duration?) async throws -> ProviderResponse
    {
        guard let timeout else { return try await provider.generate(request) }
        return try await withThrowingTaskGroup(of: ProviderResponse?.self) { group in
            group.addTask { try await provider.generate(request) }
            let sleep = pipeline.timing.sleep
            group.addTask {
                try await sleep(timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let response = first else {
                throw ProviderError(
                    .timeout,
                    "attempt \(request.attempt) of \(request.stepName) ran longer than \(timeout)"
                )
            }
            return response
        }
    }
}
