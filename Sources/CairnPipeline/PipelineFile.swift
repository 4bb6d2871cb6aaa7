public import CairnLedger
public import CairnManifest
public import CairnStore
import Foundation
public import Logging
import Yams

/// A pipeline described in a YAML or JSON file (spec/pipeline.md, "Pipeline files").
///
/// ```yaml
/// name: hero-shot
/// chain: true
/// providers:
///   flaky: {type: synthetic, fail_attempts: 1}
/// steps:
///   - {name: still, model: image-v1, prompt: "product on white", modality: image}
///   - {name: zoom, provider: flaky, model: video-v1, prompt: "slow zoom in", modality: video}
/// batch:
///   prompts: ["a cat", "a dog"]
/// ```
///
/// Loading checks everything (unknown keys, types, enum values, provider references, stage names) and reports the
/// first problem with its file, line, column and field path; nothing is run or appended for a bad file.
public struct PipelineFile: Sendable {
    /// The pipeline name.
    public var name: String
    /// Whether steps chain (step N's outputs are step N+1's inputs).
    public var chain: Bool
    /// The parent run to link to (and fork from when `chain`), if the file names one.
    public var parentRunID: String?
    /// The shared concurrency limit.
    public var concurrency: Int
    /// The shared rate limit in calls per second, if any.
    public var callsPerSecond: Double?
    /// The batch prompts, when the file describes a batch.
    public var batchPrompts: [String]?
    /// The most batch runs at once.
    public var batchConcurrency: Int
    /// Run metadata (genblaze `run.metadata`).
    public var metadata: JSONObject
    let providers: [String: any Provider]
    let stages: [StageSpec]

    /// Reads and checks a pipeline file.
    ///
    /// - Parameter path: a `.yaml`, `.yml` or `.json` file (JSON is read as YAML, so both give line numbers).
    /// - Throws: ``PipelineError`` with code `invalidFile`, naming the file, line, column and field.
    public static func load(path: String) throws -> PipelineFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PipelineError(.invalidFile, "\(path): cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PipelineError(.invalidFile, "\(path): the file is not UTF-8")
        }
        return try parse(text, source: path)
    }

    /// Parses and checks pipeline text; `source` names it in errors.
    public static func parse(_ text: String, source: String = "<pipeline>") throws -> PipelineFile {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw PipelineError(.invalidFile, "\(source): \(Self.describe(error))")
        } catch {
            throw PipelineError(.invalidFile, "\(source): \(error)")
        }
        guard let node else { throw PipelineError(.invalidFile, "\(source): the file is empty") }
        try checkSize(node, source: source)
        return try FileReader(source: source).pipeline(node)
    }

    /// The most YAML nodes a pipeline file may expand to, an alias counting its anchor's nodes at each use.
    static let maxNodes = 1_000_000

    /// Refuses a document that expands to more than ``maxNodes`` nodes before anything walks it recursively: a
    /// few hundred bytes of nested anchors and aliases (a "billion laughs" file) expand to billions of nodes.
    /// The walk stops at the limit, so checking costs at most ``maxNodes`` steps.
    static func checkSize(_ root: Node, source: String) throws {
        var stack = [root]
        var count = 0
        while let node = stack.popLast() {
            count += 1
            if count > maxNodes {
                let place = node.mark.map { "line \($0.line), column \($0.column)" } ?? "top level"
                throw PipelineError(
                    .invalidFile,
                    "\(source): \(place): the file expands to more than \(maxNodes) YAML nodes (each use of an alias "
                        + "repeats its anchor); write the values out or use fewer aliases"
                )
            }
            switch node {
            case .sequence(let sequence): stack.append(contentsOf: sequence)
            case .mapping(let mapping):
                for (key, value) in mapping {
                    stack.append(key)
                    stack.append(value)
                }
            case .scalar, .alias: break
            }
        }
    }

    static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            "line \(mark.line), column \(mark.column): \(problem)"
        default:
            "\(error)"
        }
    }

    /// The pipeline this file describes, recording into `store` and its ledger.
    ///
    /// - Parameters:
    ///   - store: the object store (its ledger records the runs).
    ///   - parentRunID: a parent run that overrides the file's `parent`.
    ///   - logger: the logger for the run.
    /// - Throws: ``PipelineError`` when the ledger cannot be opened.
    public func makePipeline(store: ObjectStore, parentRunID: String? = nil, logger: Logger? = nil) throws -> Pipeline {
        configure(
            try Pipeline(
                name,
                store: store,
                chain: chain,
                throttle: Throttle(limit: concurrency, callsPerSecond: callsPerSecond),
                logger: logger ?? Logger(label: "cairn.pipeline")
            ),
            parentRunID: parentRunID
        )
    }

    /// The pipeline this file describes, recording into `ledger` (local or any ``LedgerStorage``) and writing every
    /// output to the ledger's object backend (local or any ``ObjectBackend``).
    ///
    /// - Parameters:
    ///   - ledger: the ledger that records the runs, over the objects that keep the outputs.
    ///   - parentRunID: a parent run that overrides the file's `parent`.
    ///   - logger: the logger for the run.
    public func makePipeline(ledger: Ledger, parentRunID: String? = nil, logger: Logger? = nil) -> Pipeline {
        configure(
            Pipeline(
                name,
                ledger: ledger,
                chain: chain,
                throttle: Throttle(limit: concurrency, callsPerSecond: callsPerSecond),
                logger: logger ?? Logger(label: "cairn.pipeline")
            ),
            parentRunID: parentRunID
        )
    }

    private func configure(_ made: Pipeline, parentRunID: String?) -> Pipeline {
        var pipeline = made
        pipeline.stages = stages
        pipeline.metadata = metadata
        if let parent = parentRunID ?? self.parentRunID {
            pipeline = pipeline.from(runID: parent)
        }
        return pipeline
    }
}

/// Walks the composed YAML, checking as it goes.
private struct FileReader {
    let source: String

    func fail(_ node: Node?, _ field: String, _ problem: String) -> PipelineError {
        let place = node?.mark.map { "line \($0.line), column \($0.column)" } ?? "top level"
        return PipelineError(.invalidFile, "\(source): \(place): \(field): \(problem)")
    }

    func mapping(_ node: Node, _ field: String, allowed: Set<String>) throws -> [(String, Node, Node)] {
        guard case .mapping(let mapping) = node else { throw fail(node, field, "must be a mapping") }
        var seen = Set<String>()
        var entries: [(String, Node, Node)] = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail(keyNode, field, "keys must be strings") }
            guard allowed.contains(key) else {
                throw fail(
                    keyNode,
                    field.isEmpty ? key : "\(field).\(key)",
                    "unknown field (allowed: \(allowed.sorted().joined(separator: ", ")))"
                )
            }
            guard seen.insert(key).inserted else { throw fail(keyNode, "\(field).\(key)", "appears twice") }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    func isTagged(_ node: Node, _ name: Tag.Name) -> Bool { node.tag.rawValue == name.rawValue }

    func string(_ node: Node, _ field: String) throws -> String {
        guard case .scalar(let scalar) = node, isTagged(node, .str) else {
            throw fail(node, field, "must be a string")
        }
        return scalar.string
    }

    func integer(_ node: Node, _ field: String, range: ClosedRange<Int>) throws -> Int {
        guard isTagged(node, .int), let value = node.int else { throw fail(node, field, "must be an integer") }
        guard range.contains(value) else {
            throw fail(node, field, "must be in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func number(_ node: Node, _ field: String) throws -> Double {
        if isTagged(node, .int), let value = node.int, value >= 0 { return Double(value) }
        guard isTagged(node, .float), let value = node.float, value.isFinite, value >= 0 else {
            throw fail(node, field, "must be a non-negative number")
        }
        return value
    }

    func bool(_ node: Node, _ field: String) throws -> Bool {
        guard isTagged(node, .bool), let value = node.bool else { throw fail(node, field, "must be true or false") }
        return value
    }

    func strings(_ node: Node, _ field: String) throws -> [String] {
        guard case .sequence(let sequence) = node else { throw fail(node, field, "must be a list of strings") }
        return try sequence.enumerated().map { try string($0.element, "\(field)[\($0.offset)]") }
    }

    func json(_ node: Node, _ field: String) throws -> JSONValue {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return .bool(node.bool ?? false)
            case .int:
                guard let value = node.int else { throw fail(node, field, "integer out of range") }
                return .integer(JSONInteger(value))
            case .float:
                guard let value = node.float, value.isFinite else { throw fail(node, field, "must be a finite number") }
                return .float(value)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(try sequence.enumerated().map { try json($0.element, "\(field)[\($0.offset)]") })
        case .mapping(let mapping):
            var object = JSONObject()
            for (key, value) in mapping {
                guard let name = key.string else { throw fail(key, field, "keys must be strings") }
                object[name] = try json(value, "\(field).\(name)")
            }
            return .object(object)
        case .alias:
            throw fail(node, field, "aliases are not supported")
        }
    }

    func pipeline(_ root: Node) throws -> PipelineFile {
        let allowed: Set<String> = [
            "name", "chain", "parent", "concurrency", "rate_limit", "metadata", "providers", "steps", "stages", "batch",
        ]
        var name: String?
        var chain = false
        var parent: String?
        var concurrency = 4
        var rate: Double?
        var metadata = JSONObject()
        var providers: [String: any Provider] = ["synthetic": SyntheticProvider()]
        var stepsNode: Node?
        var stagesNode: Node?
        var batchNode: Node?
        let entries = try mapping(root, "", allowed: allowed)
        // Providers first, so that steps can be checked against them.
        for (key, _, value) in entries where key == "providers" {
            for (providerName, _, spec) in try mapping(value, "providers", allowed: nil) {
                providers[providerName] = try provider(spec, "providers.\(providerName)", name: providerName)
            }
        }
        for (key, keyNode, value) in entries {
            switch key {
            case "name": name = try string(value, "name")
            case "chain": chain = try bool(value, "chain")
            case "parent": parent = try string(value, "parent")
            case "concurrency": concurrency = try integer(value, "concurrency", range: 1...1024)
            case "rate_limit": rate = try number(value, "rate_limit")
            case "metadata":
                guard case .object(let object) = try json(value, "metadata") else {
                    throw fail(value, "metadata", "must be a mapping")
                }
                try refuseLiteralSecrets(object, value, "metadata")
                metadata = object
            case "steps": stepsNode = value
            case "stages": stagesNode = value
            case "batch": batchNode = value
            case "providers": break
            default: throw fail(keyNode, key, "unknown field")
            }
        }
        guard let name, !name.isEmpty else { throw fail(root, "name", "is required (the pipeline's name)") }
        var stages: [StageSpec] = []
        switch (stepsNode, stagesNode) {
        case (let steps?, nil):
            stages = [
                StageSpec(
                    name: "main",
                    dependsOn: [],
                    transform: nil,
                    allowEmpty: false,
                    steps: try stepList(steps, "steps", providers: providers, offset: 0)
                )
            ]
        case (nil, let list?):
            guard case .sequence(let sequence) = list, !sequence.isEmpty else {
                throw fail(list, "stages", "must be a non-empty list")
            }
            var count = 0
            for (index, stage) in sequence.enumerated() {
                let parsed = try self.stage(stage, "stages[\(index)]", providers: providers, offset: count)
                count += parsed.steps.count
                stages.append(parsed)
            }
        case (.some, .some): throw fail(stagesNode, "stages", "use either steps or stages, not both")
        case (nil, nil): throw fail(root, "steps", "is required (or stages)")
        }
        var prompts: [String]?
        var batchConcurrency = 2
        if let batchNode {
            for (key, _, value) in try mapping(batchNode, "batch", allowed: ["prompts", "concurrency"]) {
                switch key {
                case "prompts":
                    prompts = try strings(value, "batch.prompts")
                    if prompts?.isEmpty == true { throw fail(value, "batch.prompts", "must not be empty") }
                default: batchConcurrency = try integer(value, "batch.concurrency", range: 1...1024)
                }
            }
            if prompts == nil { throw fail(batchNode, "batch.prompts", "is required") }
        }
        let file = PipelineFile(
            name: name,
            chain: chain,
            parentRunID: parent,
            concurrency: concurrency,
            callsPerSecond: rate,
            batchPrompts: prompts,
            batchConcurrency: batchConcurrency,
            metadata: metadata,
            providers: providers,
            stages: stages
        )
        return file
    }

    func mapping(_ node: Node, _ field: String, allowed: Set<String>?) throws -> [(String, Node, Node)] {
        if let allowed { return try mapping(node, field, allowed: allowed) }
        guard case .mapping(let mapping) = node else { throw fail(node, field, "must be a mapping") }
        return try mapping.map { key, value in
            guard let name = key.string else { throw fail(key, field, "keys must be strings") }
            return (name, key, value)
        }
    }

    func stage(_ node: Node, _ field: String, providers: [String: any Provider], offset: Int) throws -> StageSpec {
        let allowed: Set<String> = [
            "name", "depends_on", "dependsOn", "transform", "allow_empty", "allowEmpty", "steps",
        ]
        var name: String?
        var dependsOn: [String] = []
        var transform: StageTransform?
        var allowEmpty = false
        var steps: [StepSpec]?
        for (key, _, value) in try mapping(node, field, allowed: allowed) {
            switch key {
            case "name": name = try string(value, "\(field).name")
            case "depends_on", "dependsOn": dependsOn = try strings(value, "\(field).\(key)")
            case "transform": transform = try self.transform(value, "\(field).transform")
            case "allow_empty", "allowEmpty": allowEmpty = try bool(value, "\(field).\(key)")
            default: steps = try stepList(value, "\(field).steps", providers: providers, offset: offset)
            }
        }
        guard let name else { throw fail(node, "\(field).name", "is required") }
        guard let steps else { throw fail(node, "\(field).steps", "is required") }
        return StageSpec(name: name, dependsOn: dependsOn, transform: transform, allowEmpty: allowEmpty, steps: steps)
    }

    func transform(_ node: Node, _ field: String) throws -> StageTransform {
        var type: String?
        var mediaType: String?
        var count: Int?
        var indices: [Int]?
        for (key, _, value) in try mapping(node, field, allowed: ["type", "media_type", "count", "indices"]) {
            switch key {
            case "type": type = try string(value, "\(field).type")
            case "media_type": mediaType = try string(value, "\(field).media_type")
            case "count": count = try integer(value, "\(field).count", range: 0...1_000_000)
            default:
                guard case .sequence(let sequence) = value else {
                    throw fail(value, "\(field).indices", "must be a list")
                }
                indices = try sequence.enumerated().map {
                    try integer($0.element, "\(field).indices[\($0.offset)]", range: 0...1_000_000)
                }
            }
        }
        switch type {
        case "filter":
            guard let mediaType else { throw fail(node, "\(field).media_type", "is required for a filter") }
            return .filter(mediaTypePrefix: mediaType)
        case "first":
            guard let count else { throw fail(node, "\(field).count", "is required for first") }
            return .first(count)
        case "select":
            guard let indices else { throw fail(node, "\(field).indices", "is required for select") }
            return .select(indices)
        default:
            throw fail(node, "\(field).type", "must be filter, first or select")
        }
    }

    func stepList(_ node: Node, _ field: String, providers: [String: any Provider], offset: Int) throws -> [StepSpec] {
        guard case .sequence(let sequence) = node, !sequence.isEmpty else {
            throw fail(node, field, "must be a non-empty list of steps")
        }
        return try sequence.enumerated().map { index, element in
            try step(element, "\(field)[\(index)]", providers: providers, number: offset + index + 1)
        }
    }

    func step(_ node: Node, _ field: String, providers: [String: any Provider], number: Int) throws -> StepSpec {
        let allowed: Set<String> = [
            "name", "provider", "model", "model_version", "prompt", "negative_prompt", "modality", "step_type", "seed",
            "params", "input_from", "inputFrom",
        ]
        var name = "step-\(number)"
        var providerName = "synthetic"
        var providerNode: Node?
        var model: String?
        var modelVersion: String?
        var prompt: String?
        var negativePrompt: String?
        var modality: Modality?
        var stepType = StepType.generate
        var seed: Int?
        var params = JSONObject()
        var inputFrom: [String]?
        for (key, _, value) in try mapping(node, field, allowed: allowed) {
            let path = "\(field).\(key)"
            switch key {
            case "name": name = try string(value, path)
            case "provider":
                providerName = try string(value, path)
                providerNode = value
            case "model": model = try string(value, path)
            case "model_version": modelVersion = try string(value, path)
            case "prompt": prompt = try string(value, path)
            case "negative_prompt": negativePrompt = try string(value, path)
            case "modality":
                let text = try string(value, path)
                guard let parsed = Modality(rawValue: text) else {
                    throw fail(value, path, "must be one of image, video, audio, text (got \(text))")
                }
                modality = parsed
            case "step_type":
                let text = try string(value, path)
                guard let parsed = StepType(rawValue: text) else {
                    let names = StepType.allCases.map(\.rawValue).joined(separator: ", ")
                    throw fail(value, path, "must be one of \(names) (got \(text))")
                }
                stepType = parsed
            case "seed": seed = try integer(value, path, range: Int.min...Int.max)
            case "params":
                guard case .object(let object) = try json(value, path) else {
                    throw fail(value, path, "must be a mapping")
                }
                try refuseLiteralSecrets(object, value, path)
                params = object
            default: inputFrom = try strings(value, path)
            }
        }
        guard let provider = providers[providerName] else {
            let names = providers.keys.sorted().joined(separator: ", ")
            throw fail(
                providerNode ?? node,
                "\(field).provider",
                "names \(providerName), which is not defined (have: \(names))"
            )
        }
        guard let model else { throw fail(node, "\(field).model", "is required") }
        guard let modality else { throw fail(node, "\(field).modality", "is required (image, video, audio or text)") }
        guard provider.modalities.contains(modality) else {
            throw fail(node, "\(field).modality", "provider \(providerName) does not make \(modality.rawValue)")
        }
        return StepSpec(
            name: name,
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
    }

    /// Refuses a string held under a credential-like key anywhere in `object` (spec/pipeline.md, "Secrets"),
    /// naming the field and never its value.
    func refuseLiteralSecrets(_ object: JSONObject, _ node: Node, _ field: String) throws {
        guard let path = SecretNames.literalSecretPath(in: .object(object), path: field) else { return }
        throw fail(Self.node(at: path.dropFirst(field.count), in: node) ?? node, path, SecretNames.advice)
    }

    /// The node a field path below `node` (`.a.b[2].c`) leads to, for its line and column.
    static func node(at path: Substring, in node: Node) -> Node? {
        var current = node
        var rest = path
        while !rest.isEmpty {
            if rest.first == "." {
                rest = rest.dropFirst()
                let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
                let key = String(rest[..<end])
                guard case .mapping(let mapping) = current,
                    let next = mapping.first(where: { $0.key.string == key })?.value
                else { return nil }
                current = next
                rest = rest[end...]
            } else if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]"),
                    let index = Int(rest[rest.index(after: rest.startIndex)..<close]),
                    case .sequence(let sequence) = current, index < sequence.count
                else { return nil }
                current = sequence[index]
                rest = rest[rest.index(after: close)...]
            } else {
                return nil
            }
        }
        return current
    }

    func retry(_ node: Node, _ field: String, base: RetryPolicy) throws -> RetryPolicy {
        var policy = base
        let allowed: Set<String> = ["max_attempts", "base_delay_ms", "max_delay_ms", "attempt_timeout_s", "jitter"]
        for (key, _, value) in try mapping(node, field, allowed: allowed) {
            let path = "\(field).\(key)"
            switch key {
            case "max_attempts": policy.maxAttempts = try integer(value, path, range: 1...100)
            case "base_delay_ms": policy.baseDelay = .milliseconds(try integer(value, path, range: 0...3_600_000))
            case "max_delay_ms": policy.maxDelay = .milliseconds(try integer(value, path, range: 0...3_600_000))
            case "attempt_timeout_s": policy.attemptTimeout = .milliseconds(Int64(try number(value, path) * 1000))
            default: policy.jitter = try bool(value, path)
            }
        }
        return policy
    }

    func provider(_ node: Node, _ field: String, name: String) throws -> any Provider {
        let allowed: Set<String> = [
            "type", "retry", "version", "modalities", "fail_attempts", "fail_always", "delay_ms", "command",
            "environment", "timeout_s", "endpoint", "headers", "headers_from_env", "request_id_header", "poll_ms",
        ]
        var values: [String: (Node, Node)] = [:]
        for (key, keyNode, value) in try mapping(node, field, allowed: allowed) { values[key] = (keyNode, value) }
        guard let typeNode = values["type"]?.1 else {
            throw fail(node, "\(field).type", "is required (synthetic, process or http)")
        }
        let type = try string(typeNode, "\(field).type")
        let permitted: Set<String> =
            switch type {
            case "synthetic": ["type", "retry", "fail_attempts", "fail_always", "delay_ms"]
            case "process": ["type", "retry", "version", "modalities", "command", "environment", "timeout_s"]
            case "http":
                [
                    "type", "retry", "version", "modalities", "endpoint", "headers", "headers_from_env",
                    "request_id_header", "timeout_s", "poll_ms",
                ]
            default: throw fail(typeNode, "\(field).type", "must be synthetic, process or http (got \(type))")
            }
        for (key, pair) in values where !permitted.contains(key) {
            throw fail(pair.0, "\(field).\(key)", "is not a field of a \(type) provider")
        }
        func value(_ key: String) -> Node? { values[key]?.1 }
        var modalities = Set(Modality.allCases)
        if let node = value("modalities") {
            modalities = []
            for (index, text) in try strings(node, "\(field).modalities").enumerated() {
                guard let modality = Modality(rawValue: text) else {
                    throw fail(
                        node,
                        "\(field).modalities[\(index)]",
                        "must be image, video, audio or text (got \(text))"
                    )
                }
                modalities.insert(modality)
            }
        }
        let version = try value("version").map { try string($0, "\(field).version") } ?? "1"
        let timeout = try value("timeout_s").map {
            Duration.milliseconds(Int64(try number($0, "\(field).timeout_s") * 1000))
        }
        func stringMap(_ key: String, literal: Bool = false) throws -> [String: String] {
            guard let node = value(key) else { return [:] }
            var map: [String: String] = [:]
            for (entry, _, item) in try mapping(node, "\(field).\(key)", allowed: nil) {
                map[entry] = try string(item, "\(field).\(key).\(entry)")
                if literal, SecretNames.looksSecret(entry), map[entry]?.isEmpty == false {
                    // A literal credential in the file: refused, never repeated (spec/pipeline.md, "Secrets").
                    throw fail(item, "\(field).\(key).\(entry)", SecretNames.advice)
                }
            }
            return map
        }
        switch type {
        case "synthetic":
            let defaults = SyntheticProvider()
            let policy = try value("retry").map { try retry($0, "\(field).retry", base: defaults.retryPolicy) }
            return SyntheticProvider(
                name: name,
                retryPolicy: policy ?? defaults.retryPolicy,
                failingAttempts: try value("fail_attempts").map {
                    try integer($0, "\(field).fail_attempts", range: 0...100)
                } ?? 0,
                failsAlways: try value("fail_always").map { try bool($0, "\(field).fail_always") } ?? false,
                delay: .milliseconds(
                    try value("delay_ms").map { try integer($0, "\(field).delay_ms", range: 0...3_600_000) } ?? 0
                )
            )
        case "process":
            guard let commandNode = value("command") else { throw fail(node, "\(field).command", "is required") }
            let command = try strings(commandNode, "\(field).command")
            guard !command.isEmpty else { throw fail(commandNode, "\(field).command", "must not be empty") }
            let policy = try value("retry").map { try retry($0, "\(field).retry", base: .standard) }
            return ProcessProvider(
                name: name,
                command: command,
                modalities: modalities,
                version: version,
                environment: try stringMap("environment", literal: true),
                timeout: timeout ?? .seconds(300),
                retryPolicy: policy ?? .standard
            )
        default:
            guard let endpointNode = value("endpoint") else { throw fail(node, "\(field).endpoint", "is required") }
            let text = try string(endpointNode, "\(field).endpoint")
            guard let endpoint = URL(string: text), endpoint.scheme == "http" || endpoint.scheme == "https" else {
                throw fail(endpointNode, "\(field).endpoint", "must be an http or https URL")
            }
            if !HTTPProvider.endpointSecrets(endpoint).isEmpty {
                throw fail(
                    endpointNode,
                    "\(field).endpoint",
                    "holds a password or a query parameter named like a credential, and the endpoint is recorded in"
                        + " every manifest; send the credential in a header taken from the environment instead"
                        + " (headers_from_env), see spec/pipeline.md, Secrets"
                )
            }
            let policy = try value("retry").map { try retry($0, "\(field).retry", base: .standard) }
            return HTTPProvider(
                name: name,
                endpoint: endpoint,
                modalities: modalities,
                version: version,
                headers: try stringMap("headers", literal: true),
                headersFromEnvironment: try stringMap("headers_from_env"),
                requestIDHeader: try value("request_id_header").map { try string($0, "\(field).request_id_header") }
                    ?? "X-Request-Id",
                pollInterval: .milliseconds(
                    try value("poll_ms").map { try integer($0, "\(field).poll_ms", range: 1...600_000) } ?? 500
                ),
                timeout: timeout ?? .seconds(120),
                retryPolicy: policy ?? .standard
            )
        }
    }
}
