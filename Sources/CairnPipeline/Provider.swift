public import CairnCore
public import CairnManifest

/// A generator a pipeline step calls: an image, video, audio or text model behind some interface.
///
/// Providers are asynchronous and `Sendable`; one value may serve many steps and runs at once. A provider
/// returns bytes (or files it wrote in ``ProviderRequest/workDirectory``) and the identifiers the provider
/// gave the job. It never writes to the store itself: the pipeline puts every output into the store before
/// reporting it.
public protocol Provider: Sendable {
    /// The provider's name, recorded in manifests (`step.provider`) and receipts.
    var name: String { get }

    /// The provider implementation's version; part of every step fingerprint, so a new version misses the cache.
    var version: String { get }

    /// The modalities this provider can make; a step asking for another one is refused before any call.
    var modalities: Set<Modality> { get }

    /// How failed attempts are retried.
    var retryPolicy: RetryPolicy { get }

    /// Whether ``generate(_:)`` honours ``ProviderRequest/resumeJobID`` (resumes an accepted job instead of
    /// submitting a new one).
    var supportsJobResume: Bool { get }

    /// Runs one attempt of one step.
    ///
    /// - Parameter request: what to make, with the inputs already materialized as files.
    /// - Returns: the outputs and the provider's identifiers for the job.
    /// - Throws: ``ProviderError`` for failures the provider classified (retryable or not); any other error is
    ///   treated as ``ProviderError/Code/unknown``; `CancellationError` when the task was cancelled.
    func generate(_ request: ProviderRequest) async throws -> ProviderResponse
}

extension Provider {
    /// By default a provider makes its own version "1".
    public var version: String { "1" }

    /// By default a provider uses ``RetryPolicy/standard``.
    public var retryPolicy: RetryPolicy { .standard }

    /// By default a provider cannot resume accepted jobs.
    public var supportsJobResume: Bool { false }
}

/// One input artifact of a step, already in the store and materialized as a read-only file.
public struct ProviderInput: Sendable, Hashable {
    /// The input's digest in the store.
    public var digest: Digest
    /// The input's media type, for example `image/png`.
    public var mediaType: String
    /// A file holding the input's bytes (a private copy; the provider may read it, never write it).
    public var path: String

    /// Creates an input description.
    public init(digest: Digest, mediaType: String, path: String) {
        self.digest = digest
        self.mediaType = mediaType
        self.path = path
    }
}

/// Everything a provider needs for one attempt of one step.
public struct ProviderRequest: Sendable {
    /// The run's UUIDv7.
    public var runID: String
    /// The step's name within the pipeline.
    public var stepName: String
    /// The step's index in the run (declaration order, from 0).
    public var stepIndex: Int
    /// The attempt number, from 1.
    public var attempt: Int
    /// The model name.
    public var model: String
    /// The model version, when the step names one.
    public var modelVersion: String?
    /// The prompt, after batch templating.
    public var prompt: String?
    /// The negative prompt.
    public var negativePrompt: String?
    /// The seed.
    public var seed: Int?
    /// Free-form parameters (genblaze `params`).
    public var params: JSONObject
    /// The modality to make.
    public var modality: Modality
    /// The step type (generate, upscale, ...).
    public var stepType: StepType
    /// Inputs in order.
    public var inputs: [ProviderInput]
    /// A private, empty directory the provider may write outputs and scratch files into.
    public var workDirectory: String
    /// The job id a provider accepted in an earlier attempt of this step, when a retry should resume it.
    public var resumeJobID: String?

    /// A client request id carrying the run, step and attempt: `<run_id>/<step>/<attempt>`.
    public var clientRequestID: String { "\(runID)/\(stepName)/\(attempt)" }

    /// Creates a request.
    public init(
        runID: String,
        stepName: String,
        stepIndex: Int,
        attempt: Int,
        model: String,
        modelVersion: String? = nil,
        prompt: String?,
        negativePrompt: String? = nil,
        seed: Int? = nil,
        params: JSONObject = JSONObject([]),
        modality: Modality,
        stepType: StepType = .generate,
        inputs: [ProviderInput] = [],
        workDirectory: String,
        resumeJobID: String? = nil
    ) {
        self.runID = runID
        self.stepName = stepName
        self.stepIndex = stepIndex
        self.attempt = attempt
        self.model = model
        self.modelVersion = modelVersion
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.seed = seed
        self.params = params
        self.modality = modality
        self.stepType = stepType
        self.inputs = inputs
        self.workDirectory = workDirectory
        self.resumeJobID = resumeJobID
    }
}

/// One output of a provider attempt.
public struct ProviderOutput: Sendable {
    /// Where an output's bytes are.
    public enum Content: Sendable {
        /// The bytes in memory.
        case bytes([UInt8])
        /// A file the provider wrote (normally inside the request's work directory).
        case file(path: String)
    }

    /// The bytes or file.
    public var content: Content
    /// What the bytes are: media type, dimensions, timing.
    public var media: MediaMetadata

    /// The media type, for example `image/png`.
    public var mediaType: String {
        get { media.mediaType }
        set { media.mediaType = newValue }
    }

    /// Creates an output description.
    public init(content: Content, media: MediaMetadata) {
        self.content = content
        self.media = media
    }
}

/// A named record a provider keeps beside its outputs: a request body, a response body, stdout, stderr.
///
/// The pipeline stores each record's bytes as an object and lists it in the step's receipt and in the manifest's
/// `provider_payload` (which genblaze does not hash).
public struct ProviderRecord: Sendable, Hashable {
    /// The record's role, for example `request_body`, `response_body`, `stdout`, `stderr`.
    public var name: String
    /// The bytes.
    public var bytes: [UInt8]
    /// The media type.
    public var mediaType: String

    /// Creates a record.
    public init(name: String, bytes: [UInt8], mediaType: String) {
        self.name = name
        self.bytes = bytes
        self.mediaType = mediaType
    }
}

/// What a successful provider attempt returns.
public struct ProviderResponse: Sendable {
    /// The outputs, in order.
    public var outputs: [ProviderOutput]
    /// The provider's id for the job or request (for example a prediction id or a `X-Request-Id` header).
    public var requestID: String?
    /// The provider's id for the response, when it gives a separate one.
    public var responseID: String?
    /// Records kept as objects (request and response bodies, stdout, stderr).
    public var records: [ProviderRecord]
    /// Small provider facts kept in the manifest's `provider_payload` (not hashed).
    public var payload: [String: String]

    /// Creates a response.
    public init(
        outputs: [ProviderOutput],
        requestID: String? = nil,
        responseID: String? = nil,
        records: [ProviderRecord] = [],
        payload: [String: String] = [:]
    ) {
        self.outputs = outputs
        self.requestID = requestID
        self.responseID = responseID
        self.records = records
        self.payload = payload
    }
}

/// A failure a provider classified.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure; the values are genblaze's `ProviderErrorCode`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case: the genblaze spelling (`timeout`, `rate_limit`, ...).
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The attempt ran out of time.
        public static let timeout = Code("timeout")
        /// The provider asked us to slow down.
        public static let rateLimit = Code("rate_limit")
        /// Credentials were refused.
        public static let authFailure = Code("auth_failure")
        /// The request was invalid.
        public static let invalidInput = Code("invalid_input")
        /// The model failed.
        public static let modelError = Code("model_error")
        /// The provider's server failed.
        public static let serverError = Code("server_error")
        /// Content policy refused the request.
        public static let contentPolicy = Code("content_policy")
        /// Anything else.
        public static let unknown = Code("unknown")

        /// The codes retried by default (genblaze's default policy): timeout, rate_limit, server_error.
        public var isRetryable: Bool { self == .timeout || self == .rateLimit || self == .serverError }

        /// The code's name.
        public var description: String { rawValue }
    }

    /// The failure's kind.
    public var code: Code
    /// A message naming what failed.
    public var message: String
    /// The id of a job the provider accepted before failing, so a retry may resume it.
    public var acceptedJobID: String?
    /// The provider's request id for the failed call, when known.
    public var requestID: String?
    /// A delay the provider asked for before the next attempt (HTTP `Retry-After`).
    public var retryAfter: Duration?
    /// Records kept even though the attempt failed (stdout, stderr, response body).
    public var records: [ProviderRecord]
    /// The underlying error, when there is one.
    public var underlying: (any Error)?

    /// Creates a provider error.
    public init(
        _ code: Code,
        _ message: String,
        acceptedJobID: String? = nil,
        requestID: String? = nil,
        retryAfter: Duration? = nil,
        records: [ProviderRecord] = [],
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.acceptedJobID = acceptedJobID
        self.requestID = requestID
        self.retryAfter = retryAfter
        self.records = records
        self.underlying = underlying
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let underlying { text += " (\(underlying))" }
        return text
    }
}

/// How a provider's failed attempts are retried: exponential backoff with full jitter.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts made for one step (1 means no retry).
    public var maxAttempts: Int
    /// The backoff before the second attempt.
    public var baseDelay: Duration
    /// The backoff's growth factor per attempt.
    public var factor: Double
    /// The longest backoff.
    public var maxDelay: Duration
    /// Whether the backoff is drawn uniformly from zero to the computed delay ("full jitter").
    public var jitter: Bool
    /// The time limit of one attempt; `nil` for none.
    public var attemptTimeout: Duration?
    /// The error codes that are retried.
    public var retryableCodes: Set<ProviderError.Code>

    /// Creates a policy.
    public init(
        maxAttempts: Int = 3,
        baseDelay: Duration = .milliseconds(500),
        factor: Double = 2,
        maxDelay: Duration = .seconds(30),
        jitter: Bool = true,
        attemptTimeout: Duration? = nil,
        retryableCodes: Set<ProviderError.Code> = [.timeout, .rateLimit, .serverError]
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.factor = factor
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.attemptTimeout = attemptTimeout
        self.retryableCodes = retryableCodes
    }

    /// Three attempts, 0.5 s base, factor 2, cap 30 s, full jitter; retries timeout, rate_limit, server_error.
    public static let standard = RetryPolicy()

    /// One attempt only.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The backoff after failed attempt number `attempt` (from 1), before jitter and `Retry-After`.
    package func delay(afterAttempt attempt: Int) -> Duration {
        let base = Double(baseDelay.components.seconds) + Double(baseDelay.components.attoseconds) / 1e18
        let cap = Double(maxDelay.components.seconds) + Double(maxDelay.components.attoseconds) / 1e18
        let seconds = min(cap, base * pow(factor, Double(max(0, attempt - 1))))
        return .nanoseconds(Int64(seconds * 1e9))
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    while remaining > 0 {
        result *= base
        remaining -= 1
    }
    return result
}
