import Foundation

@testable import CairnManifest

/// A small, seedable generator (SplitMix64), so every random test prints a reproducible seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random but plausible genblaze manifests, as JSON values, exercising the reading rules.
struct RandomManifests {
    var rng: SeededGenerator
    /// Legacy schemas hash ids, and a missing id is random: always write them there.
    var forceIDs = false

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func chance(_ probability: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < probability }

    mutating func pick<T>(_ options: [T]) -> T { options[Int.random(in: 0..<options.count, using: &rng)] }

    static let stringPieces: [String] = [
        "a", "bike", "caf\u{E9}", "cafe\u{301}", "\u{212B}", "\u{2126}", "\u{F900}", "\u{FB01}", "\u{FF21}",
        "\u{1F600}",
        "q\u{307}\u{323}", "\u{1E0B}\u{323}", "\"", "\\", "\t", "\n", "\u{1}", "\u{7F}", "\u{2028}", "\u{FEFF}", "/",
        " ",
        "x", "\u{AC00}", "\u{1100}\u{1161}", "\u{0}",
    ]

    mutating func string(maxPieces: Int = 4) -> String {
        var text = ""
        for _ in 0..<Int.random(in: 0...maxPieces, using: &rng) { text += pick(Self.stringPieces) }
        return text
    }

    mutating func key() -> String {
        chance(0.7)
            ? pick(["a", "b", "steps", "cfg", "Z", "_x", "\u{E9}", "e\u{301}", "\u{FF01}", "\u{1F600}", ""]) : string()
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng))
        case 1:
            return Double.random(in: -1e6...1e6, using: &rng) * pow(10, Double(Int.random(in: -14...20, using: &rng)))
        case 2:
            return pick([0.0, -0.0, 0.1, 0.5, 2.5e-10, 1.5e-10, 5e-11, 1e-11, -1e-11, 1e16, 1e-5, 7.0, 0.00048828125])
        case 3: return Double(Int.random(in: -1000...1000, using: &rng)) / 8
        case 4: return pick([Double.nan, .infinity, -.infinity])
        default: return Double(Int.random(in: -1_000_000...1_000_000, using: &rng)) / 1e7
        }
    }

    mutating func integer() -> JSONInteger {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return JSONInteger(Int.random(in: -10...10, using: &rng))
        case 1: return JSONInteger(Int.random(in: Int.min...Int.max, using: &rng))
        case 2:
            var digits = String(Int.random(in: 1...9, using: &rng))
            for _ in 0..<Int.random(in: 18...60, using: &rng) { digits += String(Int.random(in: 0...9, using: &rng)) }
            return JSONInteger(decimalText: (chance(0.3) ? "-" : "") + digits)!
        default: return JSONInteger(Int.random(in: 0...100_000, using: &rng))
        }
    }

    mutating func any(depth: Int) -> JSONValue {
        let containers = depth < 4
        switch Int.random(in: 0..<(containers ? 9 : 6), using: &rng) {
        case 0: return .null
        case 1: return .bool(chance(0.5))
        case 2: return .integer(integer())
        case 3: return .float(double())
        case 4, 5: return .string(string())
        case 6, 7:
            var object = JSONObject()
            for _ in 0..<Int.random(in: 0...4, using: &rng) { object[key()] = any(depth: depth + 1) }
            return .object(object)
        default:
            return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in any(depth: depth + 1) })
        }
    }

    mutating func object(depth: Int = 0) -> JSONObject {
        var object = JSONObject()
        for _ in 0..<Int.random(in: 0...4, using: &rng) { object[key()] = any(depth: depth + 1) }
        return object
    }

    /// A value for a pydantic int field (sometimes one that must be refused).
    mutating func intField(allowBad: Bool) -> JSONValue {
        switch Int.random(in: 0..<(allowBad ? 9 : 7), using: &rng) {
        case 0: return .integer(JSONInteger(Int.random(in: -5...5000, using: &rng)))
        case 1: return .float(Double(Int.random(in: 0...5000, using: &rng)))
        case 2: return .string(pick([" 42 ", "4_2", "42.0", "+5", "-0", "00042", "512"]))
        case 3: return .bool(chance(0.5))
        case 4: return .null
        case 5: return .integer(integer())
        case 6: return .integer(JSONInteger(Int.random(in: 1...4096, using: &rng)))
        case 7: return .float(pick([1.5, .nan, 1e20]))
        default: return .string(pick(["1e3", "0x10", "", "abc", "42."]))
        }
    }

    /// A value for a pydantic float field.
    mutating func numberField(allowBad: Bool) -> JSONValue {
        switch Int.random(in: 0..<(allowBad ? 7 : 6), using: &rng) {
        case 0: return .integer(JSONInteger(Int.random(in: 0...600, using: &rng)))
        case 1: return .float(double())
        case 2: return .string(pick(["8", " 7.50 ", "nan", "inf", "-inf", "1e3", ".5", "5.", "1_000.0"]))
        case 3: return .bool(chance(0.5))
        case 4: return .null
        case 5: return .float(Double(Int.random(in: 0...10_000, using: &rng)) / 100)
        default: return .string(pick(["abc", "0x10", ""]))
        }
    }

    mutating func sha256Field() -> JSONValue {
        let hex = (0..<64).map { _ in pick(Array("0123456789abcdef")) }
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return .null
        case 1: return .string(String(hex).uppercased())
        case 2: return .string(String(hex.prefix(40)))
        default: return .string(String(hex))
        }
    }

    mutating func url() -> String {
        var url = pick([
            "https://cdn.example.test/a.png", "https://Bucket.S3.Example.TEST:443/v/o.png", "file:///tmp/x.wav",
            "s3://bucket/key", "https://user:pw@host.test/p", "https://[::1]:8080/x", "relative/path.png",
            "https://h.test/caf\u{E9}.png", "HTTP://H.TEST",
        ])
        if chance(0.6) {
            var pieces: [String] = []
            for _ in 0..<Int.random(in: 1...5, using: &rng) {
                let name = pick([
                    "X-Amz-Signature", "b", "a", "Expires", "sv", "sig", "y", "z", "key-pair-id", "Policy", "id",
                    "x-goog-x",
                    "",
                ])
                pieces.append(
                    chance(0.2) ? name : name + "=" + pick(["1", "a+b", "%7E", "%C3%A9", "%ZZ", "", "2", "%e9"])
                )
            }
            url += "?" + pieces.joined(separator: "&")
        }
        if chance(0.2) { url += "#frag" }
        return url
    }

    mutating func asset(allowBad: Bool) -> JSONValue {
        var object = JSONObject()
        if forceIDs || chance(0.8) {
            object["asset_id"] = .string(chance(0.9) ? "a-\(Int.random(in: 0...9999, using: &rng))" : string())
        }
        if chance(0.97) { object["url"] = .string(url()) }
        if chance(0.97) {
            object["media_type"] = .string(
                pick([
                    "image/png", "video/mp4", "audio/wav", "image/png\n", "image/p\u{F1}g", "image/png ", "png",
                    "a/b+c",
                ])
            )
        }
        if chance(0.8) { object["sha256"] = sha256Field() }
        if chance(0.5) {
            object["size_bytes"] =
                chance(0.9) ? .integer(JSONInteger(Int.random(in: 0...1_000_000, using: &rng))) : .integer(-1)
        }
        for field in ["width", "height"] where chance(0.5) { object[field] = intField(allowBad: allowBad) }
        if chance(0.4) { object["duration"] = numberField(allowBad: allowBad) }
        if chance(0.2) {
            var video = JSONObject()
            if chance(0.7) { video["frame_rate"] = numberField(allowBad: allowBad) }
            if chance(0.5) { video["bitrate"] = intField(allowBad: allowBad) }
            if chance(0.5) { video["codec"] = .string(pick(["h264", "vp9"])) }
            if chance(0.5) { video["has_audio"] = pick([.bool(true), .integer(0), .string("yes"), .null]) }
            if chance(0.2) { video["unknown"] = 1 }
            object["video"] = .object(video)
        } else if chance(0.1) {
            object["video"] = .null
        }
        if chance(0.2) {
            var audio = JSONObject()
            for field in ["sample_rate", "channels", "bitrate"] where chance(0.5) {
                audio[field] = intField(allowBad: allowBad)
            }
            if chance(0.4) {
                audio["word_timings"] = .array(
                    (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                        let start = Double(Int.random(in: 0...100, using: &rng)) / 10
                        return [
                            "word": .string(string()), "start": .float(start),
                            "end": .float(start + Double(Int.random(in: 0...10, using: &rng)) / 10),
                            "confidence": chance(0.5) ? .float(0.5) : .null,
                        ]
                    }
                )
            }
            object["audio"] = .object(audio)
        }
        if chance(0.2) {
            object["tracks"] = .array(
                (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                    ["kind": "video", "codec": chance(0.5) ? "h264" : nil]
                }
            )
        }
        if chance(0.4) { object["metadata"] = .object(self.object()) }
        if chance(0.1) { object["unknown_asset_key"] = any(depth: 3) }
        return .object(object)
    }

    mutating func step(allowBad: Bool) -> JSONValue {
        var object = JSONObject()
        if forceIDs || chance(0.8) { object["step_id"] = .string("s-\(Int.random(in: 0...9999, using: &rng))") }
        if chance(0.5) { object["run_id"] = .string("r-1") }
        object["provider"] = chance(0.95) ? .string(pick(["p", "stability", "replicate"])) : .null
        if chance(0.98) { object["model"] = .string(pick(["m", "sdxl-turbo", string()])) }
        if chance(0.5) {
            object["step_type"] = .string(pick(StepType.allCases.map(\.rawValue) + (allowBad ? ["Generate"] : [])))
        }
        if chance(0.5) { object["modality"] = .string(pick(Modality.allCases.map(\.rawValue))) }
        if chance(0.8) { object["prompt"] = .string(string(maxPieces: 8)) }
        if chance(0.3) { object["negative_prompt"] = chance(0.8) ? .string(string()) : .null }
        if chance(0.2) { object["prompt_visibility"] = .string(pick(["public", "private", "redacted"])) }
        if chance(0.5) { object["seed"] = intField(allowBad: allowBad) }
        if chance(0.8) { object["params"] = .object(self.object()) }
        if chance(0.5) { object["status"] = .string(pick(StepStatus.allCases.map(\.rawValue))) }
        if chance(0.3) { object["provider_payload"] = .object(self.object()) }
        if chance(0.3) { object["retries"] = .integer(JSONInteger(Int.random(in: 0...3, using: &rng))) }
        if chance(0.3) { object["cost_usd"] = numberField(allowBad: false) }
        if chance(0.2) { object["error"] = .string(string()) }
        if chance(0.2) { object["error_code"] = .string(pick(ProviderErrorCode.allCases.map(\.rawValue))) }
        if chance(0.3) {
            object["started_at"] = .string(
                pick(["2025-03-14T09:30:00Z", "2025-03-14T09:30:00.25+02:00", "2025-03-14"])
            )
        }
        if chance(0.3) { object["step_index"] = .integer(JSONInteger(Int.random(in: 0...5, using: &rng))) }
        if chance(0.5) { object["metadata"] = .object(self.object()) }
        object["inputs"] = .array((0..<Int.random(in: 0...2, using: &rng)).map { _ in asset(allowBad: allowBad) })
        object["assets"] = .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in asset(allowBad: allowBad) })
        if allowBad && chance(0.05) { object["x_extra"] = 1 }
        return .object(object)
    }

    /// A manifest as a JSON value; with `allowBad`, some are invalid in ways genblaze refuses.
    mutating func manifest(allowBad: Bool) -> JSONValue {
        let versions = SchemaVersion.allCases.map(\.rawValue)
        let version: JSONValue? =
            chance(0.9)
            ? .string(pick(versions + (allowBad ? ["2.0"] : []))) : chance(0.5) ? pick([.null, .string("")]) : nil
        let legacy: Set<String> = ["1.0", "1.1", "1.2", "1.3"]
        forceIDs = version?.stringValue.map { legacy.contains($0) || $0.isEmpty } ?? true
        var run = JSONObject()
        if forceIDs || chance(0.9) {
            run["run_id"] = .string(chance(0.9) ? newIdentifier() : "r-\(Int.random(in: 0...99, using: &rng))")
        }
        if chance(0.5) { run["name"] = .string(string()) }
        if chance(0.3) { run["tenant_id"] = .string(pick(["t", "acme", string()])) }
        if chance(0.3) { run["project_id"] = chance(0.8) ? .string("proj") : .null }
        if chance(0.5) { run["status"] = .string(pick(RunStatus.allCases.map(\.rawValue))) }
        if chance(0.3) { run["parent_run_id"] = .string(newIdentifier()) }
        if chance(0.8) {
            run["created_at"] = .string(pick(["2025-03-14T09:26:54.824360Z", "2025-03-14T09:26:54+00:00"]))
        }
        if chance(0.5) { run["metadata"] = .object(object()) }
        if chance(0.1) { run["unknown_run_key"] = any(depth: 2) }
        run["steps"] = .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in step(allowBad: allowBad) })
        var manifest = JSONObject()
        if let version { manifest["schema_version"] = version }
        manifest["run"] = .object(run)
        manifest["canonical_hash"] = .string(String(repeating: "0", count: 64))
        if chance(0.2) { manifest["transfer_failures"] = ["a-1"] }
        if chance(0.1) { manifest["extra_top"] = any(depth: 2) }
        return .object(manifest)
    }
}

/// Writes JSON text that is valid but far from canonical: random whitespace, escapes and key order.
struct LooseJSONWriter {
    var rng: SeededGenerator

    mutating func text(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    mutating func space() -> String {
        Int.random(in: 0..<4, using: &rng) == 0 ? [" ", "\n", "\t ", "\r\n"][Int.random(in: 0..<4, using: &rng)] : ""
    }

    mutating func write(_ value: JSONValue, into out: inout String) {
        out += space()
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let integer): out += integer.decimalText
        case .float(let number):
            if number.isNaN {
                out += "NaN"
            } else if number.isInfinite {
                out += number < 0 ? "-Infinity" : "Infinity"
            } else {
                var text = "\(number)"
                if !text.contains(".") && !text.contains("e") { text += ".0" }
                out += text
            }
        case .string(let text): writeString(text, into: &out)
        case .unpairedSurrogateString(let units):
            out += "\"" + units.map { String(format: "\\u%04x", $0) }.joined() + "\""
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                write(element, into: &out)
            }
            out += space() + "]"
        case .object(let object):
            out += "{"
            var entries = object.entries
            entries.shuffle(using: &rng)
            for (index, entry) in entries.enumerated() {
                if index > 0 { out += "," }
                out += space()
                writeString(entry.key, into: &out)
                out += space() + ":"
                write(entry.value, into: &out)
            }
            out += space() + "}"
        }
        out += space()
    }

    mutating func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default:
                if Int.random(in: 0..<6, using: &rng) == 0 {
                    for unit in String(scalar).utf16 { out += String(format: "\\u%04X", unit) }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
