import CairnCore
public import CairnManifest
public import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A provider that calls an HTTP JSON endpoint.
///
/// Each attempt POSTs a JSON body to ``endpoint``:
/// `{"attempt", "inputs": [{"digest", "media_type", "data_base64"}], "modality", "model", "negative_prompt",
/// "params", "prompt", "run_id", "seed", "step", "step_type"}` with the header `X-Client-Request-Id:
/// <run_id>/<step>/<attempt>`. The answer is JSON: `{"id", "status", "outputs": [{"media_type", "data_base64",
/// "width", "height", "duration"}], "error"}`. A `202` answer or a `status` of `pending`/`processing` is an
/// accepted job: the provider polls `GET <endpoint>/<id>` until it is done, and a retry after a failure resumes
/// that job instead of submitting (and paying) again.
///
/// The value of the response header named ``requestIDHeader`` (default `X-Request-Id`) is recorded as the
/// provider request id; the job's `id` as the response id. The request and response bodies are kept as objects.
/// Secrets belong in headers taken from the environment (``headersFromEnvironment``), never in the body or the
/// step's `params` (which are hashed into the manifest). A run redacts every occurrence of those header values, of
/// headers named like credentials (`Authorization`, `X-Api-Key`, ...) and of an endpoint's password or
/// credential-named query values from the bodies, errors and ids it stores or logs (spec/pipeline.md, "Secrets").
///
/// Status codes map onto genblaze's error codes: 429 `rate_limit` (honouring `Retry-After`), 5xx and
/// connection failures `server_error`, 408 and time-outs `timeout`, 401/403 `auth_failure`, other 4xx
/// `invalid_input`.
public struct HTTPProvider: Provider {
    public let name: String
    public let version: String
    public let modalities: Set<Modality>
    public let retryPolicy: RetryPolicy
    /// The endpoint that accepts jobs.
    public var endpoint: URL
    /// Extra headers sent as is; a credential belongs in ``headersFromEnvironment`` instead (a pipeline file
    /// refuses a literal one).
    public var headers: [String: String]
    /// Headers whose values are read from environment variables at call time (header name -> variable name).
    public var headersFromEnvironment: [String: String]
    /// The response header holding the provider's request id.
    public var requestIDHeader: String
    /// The pause between polls of an accepted job.
    public var pollInterval: Duration
    /// The time limit of one attempt, polling included.
    public var timeout: Duration
    public var supportsJobResume: Bool { true }

    /// Creates an HTTP JSON provider.
    ///
    /// - Parameters:
    ///   - name: the provider name recorded in manifests.
    ///   - endpoint: the URL jobs are POSTed to.
    ///   - modalities: the modalities the endpoint makes.
    ///   - version: the API version, part of step fingerprints.
    ///   - headers: extra headers.
    ///   - headersFromEnvironment: headers whose values come from environment variables.
    ///   - requestIDHeader: the response header naming the provider's request id.
    ///   - pollInterval: the pause between polls of an accepted job.
    ///   - timeout: the time limit of one attempt.
    ///   - retryPolicy: how failed attempts are retried.
    public init(
        name: String,
        endpoint: URL,
        modalities: Set<Modality> = Set(Modality.allCases),
        version: String = "1",
        headers: [String: String] = [:],
        headersFromEnvironment: [String: String] = [:],
        requestIDHeader: String = "X-Request-Id",
        pollInterval: Duration = .milliseconds(500),
        timeout: Duration = .seconds(120),
        retryPolicy: RetryPolicy = .standard
    ) {
        self.name = name
        self.endpoint = endpoint
        self.modalities = modalities
        self.version = version
        self.headers = headers
        self.headersFromEnvironment = headersFromEnvironment
        self.requestIDHeader = requestIDHeader
        self.pollInterval = pollInterval
        self.timeout = timeout
        self.retryPolicy = retryPolicy
    }

    public func generate(_ request: ProviderRequest) async throws -> ProviderResponse {
        let deadline = ContinuousClock.now + timeout
        var records: [ProviderRecord] = []
        var exchange: Exchange
        if let jobID = request.resumeJobID {
            exchange = try await send(method: "GET", url: jobURL(jobID), body: nil, request: request, records: records)
        } else {
            let body = try requestBody(request)
            records.append(ProviderRecord(name: "request_body", bytes: body, mediaType: "application/json"))
            exchange = try await send(method: "POST", url: endpoint, body: body, request: request, records: records)
        }
        var jobID = exchange.json?.objectValue?["id"]?.stringValue ?? request.resumeJobID
        while exchange.isPending {
            guard let id = jobID else {
                throw ProviderError(
                    .serverError,
                    "\(endpoint) accepted the job without an id",
                    requestID: exchange.requestID,
                    records: records + [exchange.bodyRecord]
                )
            }
            if ContinuousClock.now + pollInterval > deadline {
                throw ProviderError(
                    .timeout,
                    "job \(id) at \(endpoint) was not done within \(timeout)",
                    acceptedJobID: id,
                    requestID: exchange.requestID,
                    records: records + [exchange.bodyRecord]
                )
            }
            try await Task.sleep(for: pollInterval)
            do {
                exchange = try await send(method: "GET", url: jobURL(id), body: nil, request: request, records: records)
            } catch var error as ProviderError {
                error.acceptedJobID = error.acceptedJobID ?? id
                throw error
            }
            jobID = exchange.json?.objectValue?["id"]?.stringValue ?? id
        }
        records.append(exchange.bodyRecord)
        guard let object = exchange.json?.objectValue else {
            throw ProviderError(
                .serverError,
                "\(endpoint) answered with a body that is not a JSON object",
                records: records
            )
        }
        if object["status"]?.stringValue == "failed" {
            let message = object["error"]?.stringValue ?? "the job failed"
            throw ProviderError(.modelError, message, requestID: exchange.requestID, records: records)
        }
        var outputs: [ProviderOutput] = []
        for (index, item) in (object["outputs"]?.arrayValue ?? []).enumerated() {
            guard let output = item.objectValue, let mediaType = output["media_type"]?.stringValue,
                let base64 = output["data_base64"]?.stringValue, let data = Data(base64Encoded: base64)
            else {
                throw ProviderError(
                    .serverError,
                    "outputs[\(index)] needs media_type and data_base64 (base64)",
                    requestID: exchange.requestID,
                    records: records
                )
            }
            outputs.append(
                ProviderOutput(
                    content: .bytes([UInt8](data)),
                    media: MediaMetadata(
                        mediaType: mediaType,
                        width: output["width"]?.integerValue?.int,
                        height: output["height"]?.integerValue?.int,
                        duration: output["duration"].flatMap(Self.number)
                    )
                )
            )
        }
        return ProviderResponse(
            outputs: outputs,
            requestID: exchange.requestID,
            responseID: jobID,
            records: records,
            payload: ["endpoint": endpoint.absoluteString, "http_status": String(exchange.status)]
        )
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let integer): integer.int.map(Double.init)
        case .float(let double): double
        default: nil
        }
    }

    func jobURL(_ id: String) -> URL {
        endpoint.appendingPathComponent(id)
    }

    func requestBody(_ request: ProviderRequest) throws -> [UInt8] {
        var inputs: [JSONValue] = []
        for input in request.inputs {
            let data = try Data(contentsOf: URL(fileURLWithPath: input.path))
            inputs.append(
                .object(
                    JSONObject([
                        ("digest", .string(input.digest.description)),
                        ("media_type", .string(input.mediaType)),
                        ("data_base64", .string(data.base64EncodedString())),
                    ])
                )
            )
        }
        let body: JSONValue = .object(
            JSONObject([
                ("attempt", .integer(JSONInteger(request.attempt))),
                ("inputs", .array(inputs)),
                ("modality", .string(request.modality.rawValue)),
                ("model", .string(request.model)),
                ("negative_prompt", request.negativePrompt.map(JSONValue.string) ?? .null),
                ("params", .object(request.params)),
                ("prompt", request.prompt.map(JSONValue.string) ?? .null),
                ("run_id", .string(request.runID)),
                ("seed", request.seed.map { .integer(JSONInteger($0)) } ?? .null),
                ("step", .string(request.stepName)),
                ("step_type", .string(request.stepType.rawValue)),
            ])
        )
        return try CanonicalJSON.encode(body)
    }

    struct Exchange {
        var status: Int
        var body: [UInt8]
        var json: JSONValue?
        var requestID: String?

        var isPending: Bool {
            if status == 202 { return true }
            let state = json?.objectValue?["status"]?.stringValue
            return state == "pending" || state == "processing" || state == "submitted"
        }

        var bodyRecord: ProviderRecord {
            ProviderRecord(name: "response_body", bytes: body, mediaType: "application/json")
        }
    }

    func send(
        method: String,
        url: URL,
        body: [UInt8]?,
        request: ProviderRequest,
        records: [ProviderRecord]
    ) async throws -> Exchange {
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = method
        urlRequest.timeoutInterval = Double(timeout.components.seconds) + 1
        urlRequest.setValue(request.clientRequestID, forHTTPHeaderField: "X-Client-Request-Id")
        urlRequest.setValue("application/json", forHTTPHeaderField: "Accept")
        if let body {
            urlRequest.httpBody = Data(body)
            urlRequest.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (header, value) in headers {
            urlRequest.setValue(value, forHTTPHeaderField: header)
        }
        for (header, variable) in headersFromEnvironment {
            guard let value = ProcessInfo.processInfo.environment[variable] else {
                throw ProviderError(.authFailure, "environment variable \(variable) (for header \(header)) is not set")
            }
            urlRequest.setValue(value, forHTTPHeaderField: header)
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: urlRequest)
        } catch let error as URLError {
            if error.code == .cancelled { throw CancellationError() }
            let code: ProviderError.Code = error.code == .timedOut ? .timeout : .serverError
            throw ProviderError(code, "\(method) \(url) failed", records: records, underlying: error)
        }
        try Task.checkCancellation()
        guard let http = response as? HTTPURLResponse else {
            throw ProviderError(.serverError, "\(method) \(url) gave no HTTP response", records: records)
        }
        let bytes = [UInt8](data)
        let requestID = http.value(forHTTPHeaderField: requestIDHeader)
        let exchange = Exchange(
            status: http.statusCode,
            body: bytes,
            json: try? JSONReader.parse(bytes),
            requestID: requestID
        )
        guard (200..<300).contains(http.statusCode) else {
            let code: ProviderError.Code =
                switch http.statusCode {
                case 429: .rateLimit
                case 408: .timeout
                case 401, 403: .authFailure
                case 500...: .serverError
                default: .invalidInput
                }
            let retryAfter = http.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init).map {
                Duration.milliseconds(Int64($0 * 1000))
            }
            throw ProviderError(
                code,
                "\(method) \(url) answered HTTP \(http.statusCode)",
                requestID: requestID,
                retryAfter: retryAfter,
                records: records + [exchange.bodyRecord]
            )
        }
        return exchange
    }
}
