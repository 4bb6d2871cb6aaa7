/// Builds a ``Step`` by chaining, as genblaze's `StepBuilder(provider, model)` does.
///
/// ```swift
/// let step = StepBuilder(provider: "stability", model: "sdxl-turbo")
///     .prompt("a teal bicycle")
///     .seed(77)
///     .params(["steps": 4, "cfg": 2.0])
///     .asset(url: "file:///tmp/out.png", mediaType: "image/png", sha256: hex, sizeBytes: 4096)
///     .build()
/// ```
public struct StepBuilder: Sendable {
    private var step: Step

    /// Starts a step for `provider` and `model`.
    public init(provider: String?, model: String) {
        step = Step(provider: provider, model: model)
    }

    /// Sets the prompt.
    public func prompt(_ text: String) -> StepBuilder { with { $0.prompt = text } }

    /// Sets the negative prompt.
    public func negativePrompt(_ text: String) -> StepBuilder { with { $0.negativePrompt = text } }

    /// Sets the output modality.
    public func modality(_ modality: Modality) -> StepBuilder { with { $0.modality = modality } }

    /// Sets the prompt visibility.
    public func visibility(_ visibility: PromptVisibility) -> StepBuilder { with { $0.promptVisibility = visibility } }

    /// Sets the step type.
    public func stepType(_ type: StepType) -> StepBuilder { with { $0.stepType = type } }

    /// Sets the seed.
    public func seed(_ seed: JSONInteger) -> StepBuilder { with { $0.seed = seed } }

    /// Sets the model version.
    public func modelVersion(_ version: String) -> StepBuilder { with { $0.modelVersion = version } }

    /// Sets the model weights hash.
    public func modelHash(_ hash: String) -> StepBuilder { with { $0.modelHash = hash } }

    /// Sets the step id (a new random UUID otherwise).
    public func stepID(_ id: String) -> StepBuilder { with { $0.stepID = id } }

    /// Sets the status (not hashed).
    public func status(_ status: StepStatus) -> StepBuilder { with { $0.status = status } }

    /// Merges `params` into the step's parameters (later keys win).
    public func params(_ params: JSONObject) -> StepBuilder {
        with { step in for (key, value) in params { step.params[key] = value } }
    }

    /// Merges `metadata` into the step's metadata (later keys win).
    public func meta(_ metadata: JSONObject) -> StepBuilder {
        with { step in for (key, value) in metadata { step.metadata[key] = value } }
    }

    /// Appends an output asset.
    public func asset(_ asset: Asset) -> StepBuilder { with { $0.assets.append(asset) } }

    /// Appends an output asset built from its fields.
    public func asset(
        url: String,
        mediaType: String,
        sha256: String? = nil,
        sizeBytes: JSONInteger? = nil,
        width: JSONInteger? = nil,
        height: JSONInteger? = nil,
        duration: Double? = nil,
        metadata: JSONObject = [:]
    ) -> StepBuilder {
        asset(
            Asset(
                url: url,
                mediaType: mediaType,
                sha256: sha256,
                sizeBytes: sizeBytes,
                width: width,
                height: height,
                duration: duration,
                metadata: metadata
            )
        )
    }

    /// Appends an input asset.
    public func inputAsset(_ asset: Asset) -> StepBuilder { with { $0.inputs.append(asset) } }

    /// Appends an input asset built from its fields.
    public func inputAsset(
        url: String,
        mediaType: String,
        sha256: String? = nil,
        sizeBytes: JSONInteger? = nil
    ) -> StepBuilder {
        inputAsset(Asset(url: url, mediaType: mediaType, sha256: sha256, sizeBytes: sizeBytes))
    }

    /// Applies any other change to the step under construction.
    public func with(_ change: (inout Step) -> Void) -> StepBuilder {
        var copy = self
        change(&copy.step)
        return copy
    }

    /// The step.
    public func build() -> Step { step }
}

/// Builds a ``Run`` by chaining, as genblaze's `RunBuilder(name)` does; ``build()`` stamps each step's `runID` and
/// `stepIndex`.
///
/// ```swift
/// let run = RunBuilder(name: "variation").parent(previous.runID).addStep(step).build()
/// let manifest = try Manifest.from(run: run)
/// ```
public struct RunBuilder: Sendable {
    private var run: Run

    /// Starts a run, optionally named.
    public init(name: String? = nil) {
        run = Run(name: name)
    }

    /// Sets the run id (a new random UUID otherwise).
    public func runID(_ id: String) -> RunBuilder { with { $0.runID = id } }

    /// Sets the tenant.
    public func tenant(_ tenantID: String) -> RunBuilder { with { $0.tenantID = tenantID } }

    /// Sets the project.
    public func project(_ projectID: String) -> RunBuilder { with { $0.projectID = projectID } }

    /// Links the run to its parent. `parent_run_id` is not hashed, so this never changes the canonical hash.
    public func parent(_ parentRunID: String) -> RunBuilder { with { $0.parentRunID = parentRunID } }

    /// Sets the status (not hashed).
    public func status(_ status: RunStatus) -> RunBuilder { with { $0.status = status } }

    /// Merges `metadata` into the run's metadata (later keys win; hashed).
    public func meta(_ metadata: JSONObject) -> RunBuilder {
        with { run in for (key, value) in metadata { run.metadata[key] = value } }
    }

    /// Appends a step.
    public func addStep(_ step: Step) -> RunBuilder { with { $0.steps.append(step) } }

    /// Applies any other change to the run under construction.
    public func with(_ change: (inout Run) -> Void) -> RunBuilder {
        var copy = self
        change(&copy.run)
        return copy
    }

    /// The run, with every step's `runID` set to the run's id and `stepIndex` to its position.
    public func build() -> Run {
        var built = run
        for index in built.steps.indices {
            built.steps[index].runID = built.runID
            built.steps[index].stepIndex = JSONInteger(index)
        }
        return built
    }
}
