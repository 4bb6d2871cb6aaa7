public import CairnCore
public import CairnLedger
public import CairnManifest
public import CairnStore
public import Logging

/// A description of generation steps, run through providers, with every output kept in the store and every
/// attempt and run recorded in the ledger.
///
/// A pipeline is a value: each builder method returns a changed copy.
///
/// ```swift
/// let v1 = try await Pipeline("hero-shot", store: store)
///     .step(synthetic, model: "image-v1", prompt: "product on white background", modality: .image)
///     .run()
/// let video = try await Pipeline("hero-video", store: store, chain: true).from(v1)
///     .step(synthetic, model: "video-v1", prompt: "slow zoom in", modality: .video)
///     .run(timeout: .seconds(300))
/// ```
///
/// Steps belong to stages. Steps added before any ``stage(_:dependsOn:transform:allowEmpty:)`` call go into an
/// implicit stage named `main`. Stages form a DAG through `dependsOn`; a stage starts when every stage it depends on
/// has finished, so independent branches run in parallel. Every provider call of every stage, branch and batch item
/// goes through one shared ``Throttle``.
public struct Pipeline: Sendable {
    /// The pipeline's name (genblaze `run.name`); resume and re-runs look for earlier runs with the same name.
    public let name: String
    /// Whether each step's outputs are the next step's inputs, and ``from(_:)`` feeds the parent's outputs in.
    public let chain: Bool
    let backend: PipelineBackend
    var stages: [StageSpec] = []
    var parent: ParentLink?
    var metadata = JSONObject()
    var throttle: Throttle
    var logger: Logger
    var observer: (@Sendable (PipelineEvent) -> Void)?
    /// The clock and random numbers behind retry backoff and time limits (tests substitute their own).
    package var timing = RetryTiming.system

    /// Creates a pipeline that records into `store` and the ledger kept in it.
    ///
    /// - Parameters:
    ///   - name: the pipeline (run) name.
    ///   - store: the object store; the ledger in the same directory records receipts and manifests.
    ///   - chain: feed each step's outputs to the next step (and the parent run's outputs to the first step).
    ///   - throttle: the concurrency and rate limit shared by all provider calls (default: 4 at once).
    ///   - logger: where progress is logged (at debug level), with the run id in the metadata.
    /// - Throws: ``PipelineError`` with code `ledger` when the ledger cannot be opened.
    public init(
        _ name: String,
        store: ObjectStore,
        chain: Bool = false,
        throttle: Throttle = Throttle(),
        logger: Logger = Logger(label: "cairn.pipeline")
    ) throws {
        try self.init(name, backend: PipelineBackend(store: store), chain: chain, throttle: throttle, logger: logger)
    }

    /// Creates a pipeline that records into `ledger` and writes every output to the ledger's object backend (any
    /// ``ObjectBackend``); the step cache is kept beside the ledger, in `<ledger.root>/pipeline/cache`.
    public init(
        _ name: String,
        ledger: Ledger,
        chain: Bool = false,
        throttle: Throttle = Throttle(),
        logger: Logger = Logger(label: "cairn.pipeline")
    ) {
        let backend = PipelineBackend(store: ledger.store, root: ledger.root, journal: LedgerJournal(ledger: ledger))
        self.init(name, backend: backend, chain: chain, throttle: throttle, logger: logger)
    }

    init(_ name: String, backend: PipelineBackend, chain: Bool, throttle: Throttle, logger: Logger) {
        self.name = name
        self.backend = backend
        self.chain = chain
        self.throttle = throttle
        self.logger = logger
    }

    /// Adds a step to the current stage.
    ///
    /// - Parameters:
    ///   - provider: the provider to call.
    ///   - model: the model name.
    ///   - prompt: the prompt; in ``batchRun(prompts:maxConcurrency:resume:)`` every `{prompt}` in it is replaced
    ///     by the batch item's prompt.
    ///   - modality: what the step makes.
    ///   - name: the step's name, unique in the pipeline (default `step-N`, N counting from 1).
    ///   - stepType: genblaze's step type.
    ///   - seed: the seed.
    ///   - negativePrompt: the negative prompt.
    ///   - params: free-form parameters passed to the provider (hashed into the manifest and the fingerprint).
    ///     Never put a credential here: a run refuses params that hold a string under a key named like one
    ///     (`api_key`, `token`, `Authorization`, ...; spec/pipeline.md, "Secrets"). Give an ``HTTPProvider`` its
    ///     credentials through `headersFromEnvironment`, and a ``ProcessProvider`` through the environment.
    ///   - modelVersion: the model version.
    ///   - inputFrom: names of earlier steps of the same stage whose outputs, concatenated in this order, are this
    ///     step's inputs (overrides `chain`).
    /// - Returns: the pipeline with the step added.
    public func step(
        _ provider: any Provider,
        model: String,
        prompt: String?,
        modality: Modality,
        name: String? = nil,
        stepType: StepType = .generate,
        seed: Int? = nil,
        negativePrompt: String? = nil,
        params: JSONObject = JSONObject(),
        modelVersion: String? = nil,
        inputFrom: [String]? = nil
    ) -> Pipeline {
        var copy = self
        if copy.stages.isEmpty {
            copy.stages.append(StageSpec(name: "main", dependsOn: [], transform: nil, allowEmpty: false, steps: []))
        }
        let count = copy.stages.reduce(0) { $0 + $1.steps.count }
        copy.stages[copy.stages.count - 1].steps.append(
            StepSpec(
                name: name ?? "step-\(count + 1)",
                provider: provider,
                model: model,
                modelVersion: modelVersion,
                prompt: prompt,
                negativePrompt: negativePrompt,
                seed: seed,
                params: params,
                modality: modality,
                stepType: stepType,
                inputFrom: inputFrom
            )
        )
        return copy
    }

    /// Starts a new stage; the steps added after this call belong to it.
    ///
    /// The stage's inputs are the outputs of the stages it depends on (taken in stage-name order, so declaration
    /// order does not matter), reshaped by `transform`. When those inputs are empty and `allowEmpty` is false, the
    /// stage and everything downstream of it is stopped: no provider is called, the run still completes, and
    /// ``RunResult/stoppedStages`` says why. With `allowEmpty` the stage runs with no inputs.
    ///
    /// - Parameters:
    ///   - name: the stage's name, unique in the pipeline.
    ///   - dependsOn: the stages whose outputs this stage receives.
    ///   - transform: an optional reshaping of the handed-over artifacts; its name and version are fingerprinted.
    ///   - allowEmpty: run even when the inputs are empty.
    /// - Returns: the pipeline with the stage added.
    public func stage(
        _ name: String,
        dependsOn: [String] = [],
        transform: StageTransform? = nil,
        allowEmpty: Bool = false
    ) -> Pipeline {
        var copy = self
        if let last = copy.stages.last, last.name == "main", last.steps.isEmpty, stages.count == 1 {
            copy.stages.removeLast()
        }
        copy.stages.append(
            StageSpec(name: name, dependsOn: dependsOn, transform: transform, allowEmpty: allowEmpty, steps: [])
        )
        return copy
    }

    /// Links the next run to `result` as its parent (`parent_run_id`); with `chain`, its outputs become the first
    /// stage's inputs (a real fork; genblaze only records the link).
    public func from(_ result: RunResult) -> Pipeline {
        var copy = self
        copy.parent = ParentLink(runID: result.runID, outputs: result.outputs)
        return copy
    }

    /// Links the next run to the run `runID` recorded in the ledger; with `chain`, that run's outputs (read from
    /// its manifest when the run starts) become the first stage's inputs.
    public func from(runID: String) -> Pipeline {
        var copy = self
        copy.parent = ParentLink(runID: runID, outputs: nil)
        return copy
    }

    /// Adds a key to the run's metadata (genblaze `run.metadata`, which is hashed).
    public func metadata(_ key: String, _ value: JSONValue) -> Pipeline {
        var copy = self
        copy.metadata[key] = value
        return copy
    }

    /// Calls `handler` as steps start and end (for progress displays); it must return quickly.
    public func observe(_ handler: @escaping @Sendable (PipelineEvent) -> Void) -> Pipeline {
        var copy = self
        copy.observer = handler
        return copy
    }

    /// Adds a metadata tag to a recorded run, after the fact, as a new ledger entry (history is never rewritten).
    ///
    /// - Parameters:
    ///   - runID: the run to tag.
    ///   - key: the tag's key, for example `selected` or `iteration_tag`.
    ///   - value: the tag's value.
    ///   - store: the store whose ledger records the run.
    /// - Throws: ``PipelineError`` with code `notFound` when the run has no manifest, `ledger` when appending fails.
    public static func tag(runID: String, key: String, value: JSONValue, store: ObjectStore) throws {
        let ledger: Ledger
        do {
            ledger = try Ledger.open(store: store)
        } catch {
            throw PipelineError(.ledger, "cannot open the ledger of the store at \(store.root)", underlying: error)
        }
        guard (try? ledger.run(runID)) != nil else {
            throw PipelineError(.notFound, "run \(runID) has no manifest in the ledger")
        }
        do {
            try ledger.appendTag(runID: runID, key: key, value: value)
        } catch {
            throw PipelineError(.ledger, "cannot append tag \(key) to run \(runID)", underlying: error)
        }
    }

    /// The names of all steps, in declaration order.
    package var stepNames: [String] { stages.flatMap { $0.steps.map(\.name) } }
}

/// Progress of a run, delivered to ``Pipeline/observe(_:)``.
public enum PipelineEvent: Sendable {
    /// An attempt of a step is about to call its provider.
    case attemptStarted(runID: String, step: String, attempt: Int)
    /// A step ended (succeeded, reused, failed or cancelled).
    case stepFinished(runID: String, step: String, status: StepStatus, reused: Bool)
}

/// The parent a run is linked to.
struct ParentLink: Sendable {
    var runID: String
    var outputs: [Artifact]?
}

/// One step as declared.
struct StepSpec: Sendable {
    var name: String
    var provider: any Provider
    var model: String
    var modelVersion: String?
    var prompt: String?
    var negativePrompt: String?
    var seed: Int?
    var params: JSONObject
    var modality: Modality
    var stepType: StepType
    var inputFrom: [String]?
}

/// One stage as declared.
struct StageSpec: Sendable {
    var name: String
    var dependsOn: [String]
    var transform: StageTransform?
    var allowEmpty: Bool
    var steps: [StepSpec]
}

/// The outcome of one step in one run.
public struct StepResult: Sendable {
    /// The step's name.
    public var name: String
    /// The stage it belongs to.
    public var stage: String
    /// Its index in the run (declaration order over all stages, from 0).
    public var index: Int
    /// `succeeded`, `failed` or `cancelled`.
    public var status: StepStatus
    /// The step fingerprint (spec/pipeline.md).
    public var fingerprint: String
    /// The provider name.
    public var provider: String
    /// The model name.
    public var model: String
    /// The prompt actually sent (after batch templating).
    public var prompt: String?
    /// The modality made.
    public var modality: Modality
    /// genblaze's step type.
    public var stepType: StepType
    /// The seed.
    public var seed: Int?
    /// The negative prompt.
    public var negativePrompt: String?
    /// The parameters.
    public var params: JSONObject
    /// The model version.
    public var modelVersion: String?
    /// How many attempts were made in this run (0 when reused).
    public var attempts: Int
    /// The run whose outputs were reused instead of calling the provider, when the step was a cache hit.
    public var reusedFrom: String?
    /// The inputs, in order.
    public var inputs: [Artifact]
    /// The outputs, in order; all of them are in the store.
    public var outputs: [Artifact]
    /// The error of the last attempt, when the step did not succeed.
    public var error: String?
    /// genblaze's error code of the last attempt, when the step did not succeed.
    public var errorCode: String?
    /// The provider's request id of the last attempt.
    public var providerRequestID: String?
    /// The provider's response (job) id of the last attempt.
    public var providerResponseID: String?
    /// Records kept as objects (request/response bodies, stdout, stderr) of the last attempt, by name.
    public var records: [String: Digest]
    /// Small provider facts of the last attempt.
    public var providerPayload: [String: String]
    /// When the step started (RFC 3339).
    public var startedAt: String
    /// When the step ended (RFC 3339).
    public var completedAt: String

    /// Whether this step's outputs are (part of) the run's outputs.
    public var isRunOutput = false

    /// Whether the step's outputs came from an earlier run instead of a provider call.
    public var isReused: Bool { reusedFrom != nil }
}

/// The outcome of a run: its steps, its outputs and the manifest appended to the ledger.
public struct RunResult: Sendable {
    /// The run's UUIDv7.
    public var runID: String
    /// The parent run, when the run was linked with ``Pipeline/from(_:)`` or re-run from another.
    public var parentRunID: String?
    /// The pipeline name.
    public var name: String
    /// `completed`, `failed` or `cancelled`.
    public var status: RunStatus
    /// The recorded steps, in declaration order (steps after a failure are not recorded, as in genblaze).
    public var steps: [StepResult]
    /// The run's outputs: the outputs of the stages no other stage depends on, in declaration order.
    public var outputs: [Artifact]
    /// Stages that were not run because their inputs were empty, with the reason.
    public var stoppedStages: [String: String]
    /// Why the run failed or was cancelled.
    public var error: String?
    /// When the run started and ended (RFC 3339).
    public var startedAt: String
    /// When the run ended (RFC 3339).
    public var completedAt: String
    /// The run's metadata (genblaze `run.metadata`).
    public var metadata: JSONObject
    /// The appended manifest and its stored bytes' digest.
    public var manifest: RecordedManifest?

    /// The names of steps whose outputs were reused from earlier runs.
    public var reusedSteps: [String] { steps.filter(\.isReused).map(\.name) }
}
