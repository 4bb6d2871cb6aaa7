import CairnCore
public import CairnManifest

/// A provider that makes real, deterministic media from the prompt, seed, model and input bytes.
///
/// Images are PNG files, video is an animated PNG (`image/apng`), audio is a 16-bit PCM WAV file, text is UTF-8.
/// The same request always gives the same bytes, so demos, tests and benchmarks use real files without a
/// network. Parameters read from the step's `params`: `width`, `height` (pixels, default 64, at most 4096),
/// `frames` (video, default 8), `fps` (video, default 8), `duration` (audio seconds, default 0.5),
/// `sample_rate` (audio, default 16000), `words` (text, default 24).
///
/// For testing failure handling it can fail on purpose: the first ``failingAttempts`` attempts of every step
/// fail with a retryable `server_error`, and ``failsAlways`` makes every attempt fail.
public struct SyntheticProvider: Provider {
    public let name: String
    public let version = "1"
    public let modalities: Set<Modality> = [.image, .video, .audio, .text]
    public let retryPolicy: RetryPolicy
    /// How many leading attempts of each step fail with a retryable `server_error`.
    public var failingAttempts: Int
    /// Whether every attempt fails (with `server_error`).
    public var failsAlways: Bool
    /// A pause before answering, to imitate a slow model.
    public var delay: Duration

    /// Creates a synthetic provider.
    ///
    /// - Parameters:
    ///   - name: the provider name recorded in manifests (default `synthetic`).
    ///   - retryPolicy: how failed attempts are retried.
    ///   - failingAttempts: the number of leading attempts of every step that fail (for tests).
    ///   - failsAlways: fail every attempt (for tests).
    ///   - delay: a pause before each answer.
    public init(
        name: String = "synthetic",
        retryPolicy: RetryPolicy = RetryPolicy(baseDelay: .milliseconds(10), maxDelay: .milliseconds(200)),
        failingAttempts: Int = 0,
        failsAlways: Bool = false,
        delay: Duration = .zero
    ) {
        self.name = name
        self.retryPolicy = retryPolicy
        self.failingAttempts = failingAttempts
        self.failsAlways = failsAlways
        self.delay = delay
    }

    public func generate(_ request: ProviderRequest) async throws -> ProviderResponse {
        if delay > .zero { try await Task.sleep(for: delay) }
        try Task.checkCancellation()
        if failsAlways || request.attempt <= failingAttempts {
            throw ProviderError(
                .serverError,
                "synthetic failure of step \(request.stepName) attempt \(request.attempt)",
                requestID: "synthetic-\(request.clientRequestID)"
            )
        }
        var seedBytes: [UInt8] = Array(request.model.utf8) + [0] + Array((request.prompt ?? "").utf8) + [0]
        seedBytes += Array(String(request.seed ?? 0).utf8) + [0] + Array(request.modality.rawValue.utf8)
        var state = fnv1a64(seedBytes)
        for input in request.inputs {
            state = fnv1a64(Array(input.digest.description.utf8), seed: state)
        }
        let output = try SyntheticMedia.make(request.modality, state: state, params: request.params)
        return ProviderResponse(
            outputs: [output],
            requestID: "synthetic-\(String(state, radix: 16))",
            payload: ["generator": "cairn-synthetic/\(version)"]
        )
    }
}

/// The synthetic generators, one per modality.
enum SyntheticMedia {
    static func integer(_ params: JSONObject, _ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int
    {
        guard let raw = params[key] else { return value }
        let number: Int?
        switch raw {
        case .integer(let integer): number = integer.int
        case .float(let double) where double == double.rounded(): number = Int(exactly: double)
        default: number = nil
        }
        guard let number, range.contains(number) else {
            throw ProviderError(.invalidInput, "params.\(key) must be an integer in \(range), got \(raw)")
        }
        return number
    }

    static func number(
        _ params: JSONObject,
        _ key: String,
        default value: Double,
        range: ClosedRange<Double>
    ) throws
        -> Double
    {
        guard let raw = params[key] else { return value }
        let number: Double?
        switch raw {
        case .integer(let integer): number = integer.int.map(Double.init)
        case .float(let double): number = double
        default: number = nil
        }
        guard let number, range.contains(number) else {
            throw ProviderError(.invalidInput, "params.\(key) must be a number in \(range), got \(raw)")
        }
        return number
    }

    static func make(_ modality: Modality, state: UInt64, params: JSONObject) throws -> ProviderOutput {
        switch modality {
        case .image:
            let width = try integer(params, "width", default: 64, range: 1...4096)
            let height = try integer(params, "height", default: 64, range: 1...4096)
            let image = picture(width: width, height: height, state: state, phase: 0)
            return ProviderOutput(
                content: .bytes(PNGWriter.png(image)),
                media: MediaMetadata(
                    mediaType: "image/png",
                    width: width,
                    height: height
                )
            )
        case .video:
            let width = try integer(params, "width", default: 48, range: 1...1024)
            let height = try integer(params, "height", default: 48, range: 1...1024)
            let frames = try integer(params, "frames", default: 8, range: 1...600)
            let fps = try integer(params, "fps", default: 8, range: 1...120)
            let images = (0..<frames).map { picture(width: width, height: height, state: state, phase: $0) }
            let bytes = PNGWriter.apng(images, delayNumerator: 1, delayDenominator: UInt16(fps))
            return ProviderOutput(
                content: .bytes(bytes),
                media: MediaMetadata(
                    mediaType: "image/apng",
                    width: width,
                    height: height,
                    duration: Double(frames) / Double(fps),
                    frameRate: Double(fps)
                )
            )
        case .audio:
            let seconds = try number(params, "duration", default: 0.5, range: 0.001...600)
            let rate = try integer(params, "sample_rate", default: 16_000, range: 1000...192_000)
            return ProviderOutput(
                content: .bytes(tone(seconds: seconds, sampleRate: rate, state: state)),
                media: MediaMetadata(
                    mediaType: "audio/wav",
                    duration: Double(Int(seconds * Double(rate))) / Double(rate),
                    sampleRate: rate,
                    channels: 1
                )
            )
        case .text:
            let count = try integer(params, "words", default: 24, range: 1...100_000)
            return ProviderOutput(
                content: .bytes(Array(text(words: count, state: state).utf8)),
                media: MediaMetadata(mediaType: "text/plain")
            )
        }
    }

    /// A gradient with a disc whose position moves with `phase` (so video frames differ).
    static func picture(width: Int, height: Int, state: UInt64, phase: Int) -> RGBImage {
        var random = SplitMix64(state: state)
        let base = (random.byte(), random.byte(), random.byte())
        let accent = (random.byte(), random.byte(), random.byte())
        let radius = Double(min(width, height)) * (0.15 + 0.2 * random.unit())
        let startX = random.unit() * Double(width)
        let startY = random.unit() * Double(height)
        let centerX = (startX + Double(phase) * Double(width) / 10).truncatingRemainder(dividingBy: Double(width))
        let centerY = startY
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let offset = (y * width + x) * 3
                let dx = Double(x) - centerX
                let dy = Double(y) - centerY
                if dx * dx + dy * dy <= radius * radius {
                    pixels[offset] = accent.0
                    pixels[offset + 1] = accent.1
                    pixels[offset + 2] = accent.2
                } else {
                    pixels[offset] = base.0 &+ UInt8(truncatingIfNeeded: x * 255 / max(1, width))
                    pixels[offset + 1] = base.1 &+ UInt8(truncatingIfNeeded: y * 255 / max(1, height))
                    pixels[offset + 2] = base.2
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A two-partial tone with a short fade in and out.
    static func tone(seconds: Double, sampleRate: Int, state: UInt64) -> [UInt8] {
        var random = SplitMix64(state: state)
        let frequency = 220 + 440 * random.unit()
        let count = Int(seconds * Double(sampleRate))
        let fade = max(1, min(count / 10, sampleRate / 100))
        var samples = [Int16](repeating: 0, count: count)
        for index in 0..<count {
            let time = Double(index) / Double(sampleRate)
            let value = sine(2 * Double.pi * frequency * time) * 0.6 + sine(4 * Double.pi * frequency * time) * 0.2
            let envelope = Double(min(index, count - 1 - index, fade)) / Double(fade)
            samples[index] = Int16(value * envelope * 20_000)
        }
        return WAVWriter.wav(samples: samples, sampleRate: sampleRate, channels: 1)
    }

    static let vocabulary = [
        "amber", "basalt", "cairn", "delta", "ember", "fjord", "granite", "harbor", "island", "juniper", "kestrel",
        "lantern", "meadow", "nimbus", "orchard", "pebble", "quartz", "river", "summit", "tundra", "umber",
        "valley", "willow", "zephyr",
    ]

    static func text(words: Int, state: UInt64) -> String {
        var random = SplitMix64(state: state)
        var out: [String] = []
        out.reserveCapacity(words)
        for _ in 0..<words {
            out.append(vocabulary[Int(random.next() % UInt64(vocabulary.count))])
        }
        return out.joined(separator: " ") + "\n"
    }

    /// sin(x) by range reduction and a Taylor polynomial (keeps this file free of libm).
    static func sine(_ x: Double) -> Double {
        let twoPi = 2 * Double.pi
        var r = x.truncatingRemainder(dividingBy: twoPi)
        if r > Double.pi { r -= twoPi }
        if r < -Double.pi { r += twoPi }
        var sign = 1.0
        if r > Double.pi / 2 {
            r = Double.pi - r
        } else if r < -Double.pi / 2 {
            r = -Double.pi - r
        }
        if r < 0 {
            r = -r
            sign = -1
        }
        let r2 = r * r
        let value = r * (1 - r2 / 6 * (1 - r2 / 20 * (1 - r2 / 42 * (1 - r2 / 72 * (1 - r2 / 110)))))
        return sign * value
    }
}
