public import CairnCore
public import CairnLedger
public import CairnManifest
import Foundation

/// Where each file of a run lives in a run folder (`cairn checkout`, spec/checkout.md), worked out from the
/// manifest and the run's receipts alone, so that a checkout and a later `cairn verify DIR` agree on every name.
public struct RunLayout: Sendable, Hashable {
    /// What a file in the folder holds.
    public enum Role: String, Sendable, Hashable {
        /// An input of the run (consumed by a step, produced by none of the run's steps).
        case input
        /// An output of a step.
        case output
        /// A provider record of an attempt (request or response body, stdout, stderr).
        case record
    }

    /// One object-backed file of the folder.
    public struct File: Sendable, Hashable {
        /// The path inside the folder (`steps/000_still/output-1.png`).
        public var path: String
        /// What the file holds.
        public var role: Role
        /// The object digest to materialise it from (the asset url's `cairn:` digest, else its SHA-256).
        public var digest: Digest
        /// The SHA-256 the manifest declares for the bytes (lowercase hex), when it declares one.
        public var sha256: String?
        /// The media type, when known.
        public var mediaType: String?
    }

    /// One attempt folder: `steps/NNN_name/attempt-N/`, holding `receipt.json`.
    public struct Attempt: Sendable, Hashable {
        /// The folder path (`steps/000_still/attempt-1`).
        public var directory: String
        /// The step's index.
        public var stepIndex: Int
        /// The attempt number (1-based).
        public var attempt: Int
    }

    /// The object-backed files, in folder order (inputs, then steps in order).
    public var files: [File]
    /// The attempt folders of every receipt.
    public var attempts: [Attempt]
    /// The step folder of each step index (`steps/000_still`).
    public var stepDirectories: [Int: String]

    /// Lays out run `manifest` with the run's `receipts`.
    public init(manifest: Manifest, receipts: [Receipt]) {
        var files: [File] = []
        var stepDirectories: [Int: String] = [:]
        var attempts: [Attempt] = []
        let steps = manifest.run.steps.enumerated().map { position, step in
            (index: step.stepIndex?.int ?? position, step: step)
        }
        // Everything a step of this run produced: an input naming one of these is not a run input.
        var produced: Set<String> = []
        for (_, step) in steps {
            for asset in step.assets { produced.insert(Self.identity(asset)) }
        }
        var inputsSeen: Set<String> = []
        var inputNames = NameSet()
        for (_, step) in steps {
            for asset in step.inputs {
                let identity = Self.identity(asset)
                guard !produced.contains(identity), inputsSeen.insert(identity).inserted,
                    let digest = Self.objectDigest(asset)
                else { continue }
                let name = inputNames.claim(Self.readableName(asset, fallback: "input-\(inputsSeen.count)"))
                files.append(
                    File(
                        path: "inputs/" + name,
                        role: .input,
                        digest: digest,
                        sha256: asset.sha256,
                        mediaType: asset.mediaType
                    )
                )
            }
        }
        var stepNames = NameSet()
        var receiptIndexes = Set(receipts.map(\.stepIndex))
        for (index, step) in steps {
            receiptIndexes.remove(index)
            let cairn = step.providerPayload["cairn"]?.objectValue
            let name =
                cairn?["step"]?.stringValue ?? receipts.first { $0.stepIndex == index }?.stepName ?? step.model
            let directory = "steps/" + stepNames.claim(String(format: "%03d_", index) + Self.sanitize(name))
            stepDirectories[index] = directory
            var names = NameSet()
            for (position, asset) in step.assets.enumerated() {
                guard let digest = Self.objectDigest(asset) else { continue }
                let fileName = names.claim(Self.readableName(asset, fallback: "output-\(position + 1)"))
                files.append(
                    File(
                        path: directory + "/" + fileName,
                        role: .output,
                        digest: digest,
                        sha256: asset.sha256,
                        mediaType: asset.mediaType
                    )
                )
            }
            // Provider records belong to the step's last attempt.
            let stepReceipts = receipts.filter { $0.stepIndex == index }
            let lastAttempt = cairn?["attempts"]?.integerValue?.int ?? stepReceipts.map(\.attempt).max() ?? 1
            if let records = cairn?["records"]?.objectValue {
                for (recordName, value) in records.entriesSortedByCodePoint {
                    guard let text = value.stringValue, let digest = Digest(text) else { continue }
                    files.append(
                        File(
                            path: directory + "/attempt-\(lastAttempt)/" + Self.recordFileName(recordName),
                            role: .record,
                            digest: digest,
                            sha256: digest.algorithm == .sha256 ? digest.hex : nil,
                            mediaType: nil
                        )
                    )
                }
            }
        }
        // Receipts of steps the manifest does not list (a run that stopped before its manifest said so).
        for index in receiptIndexes.sorted() {
            let name = receipts.first { $0.stepIndex == index }?.stepName ?? "step"
            stepDirectories[index] = "steps/" + stepNames.claim(String(format: "%03d_", index) + Self.sanitize(name))
        }
        for receipt in receipts {
            guard let directory = stepDirectories[receipt.stepIndex] else { continue }
            attempts.append(
                Attempt(
                    directory: directory + "/attempt-\(receipt.attempt)",
                    stepIndex: receipt.stepIndex,
                    attempt: receipt.attempt
                )
            )
        }
        self.files = files
        self.attempts = attempts
        self.stepDirectories = stepDirectories
    }

    /// The object an asset's bytes are: the url's `cairn:ALGO:HEX` digest, else `sha256:` of its declared SHA-256.
    package static func objectDigest(_ asset: Asset) -> Digest? {
        if asset.url.hasPrefix("cairn:"), let digest = Digest(String(asset.url.dropFirst(6))) { return digest }
        return asset.sha256.flatMap { Digest("sha256:" + $0) }
    }

    private static func identity(_ asset: Asset) -> String {
        objectDigest(asset)?.description ?? asset.sha256 ?? asset.url
    }

    /// The file name of the asset's url when it has a usable one, else `fallback` plus an extension for its type.
    static func readableName(_ asset: Asset, fallback: String) -> String {
        if !asset.url.hasPrefix("cairn:"), let name = DirectoryAssetSourceName.fileName(in: asset.url) {
            let clean = sanitize(name)
            if !clean.isEmpty, clean != "_" { return clean }
        }
        return fallback + fileExtension(mediaType: asset.mediaType)
    }

    /// `request_body` → `request.json`, `response_body` → `response.json`, `stdout`/`stderr` → `.txt`.
    static func recordFileName(_ name: String) -> String {
        switch name {
        case "request_body": return "request.json"
        case "response_body": return "response.json"
        case "stdout": return "stdout.txt"
        case "stderr": return "stderr.txt"
        default: return sanitize(name)
        }
    }

    /// An extension for common media types (`.bin` otherwise).
    static func fileExtension(mediaType: String) -> String {
        let base = mediaType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        switch base.lowercased() {
        case "image/png": return ".png"
        case "image/apng": return ".apng"
        case "image/jpeg": return ".jpg"
        case "image/webp": return ".webp"
        case "image/gif": return ".gif"
        case "video/mp4": return ".mp4"
        case "video/webm": return ".webm"
        case "audio/wav", "audio/x-wav", "audio/wave": return ".wav"
        case "audio/mpeg": return ".mp3"
        case "audio/ogg": return ".ogg"
        case "text/plain": return ".txt"
        case "application/json": return ".json"
        default: return ".bin"
        }
    }

    /// A name safe as one path component: letters, digits, `.`, `-`, `_`; anything else becomes `_`; never `.` or
    /// `..` or empty; at most 100 characters.
    static func sanitize(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in name.unicodeScalars.prefix(100) {
            let allowed =
                (scalar.value >= 0x30 && scalar.value <= 0x39) || (scalar.value >= 0x41 && scalar.value <= 0x5A)
                || (scalar.value >= 0x61 && scalar.value <= 0x7A) || scalar == "." || scalar == "-" || scalar == "_"
            scalars.append(allowed ? scalar : "_")
        }
        let text = String(scalars)
        if text.isEmpty || text.allSatisfy({ $0 == "." }) { return "_" + text }
        return text
    }
}

/// Names already taken in one folder; a repeated name gets `-2`, `-3`... before its extension.
struct NameSet {
    private var taken: Set<String> = []

    mutating func claim(_ name: String) -> String {
        if taken.insert(name).inserted { return name }
        let dot = name.lastIndex(of: ".").flatMap { $0 == name.startIndex ? nil : $0 }
        let stem = dot.map { String(name[..<$0]) } ?? name
        let ext = dot.map { String(name[$0...]) } ?? ""
        var counter = 2
        while !taken.insert("\(stem)-\(counter)\(ext)").inserted { counter += 1 }
        return "\(stem)-\(counter)\(ext)"
    }
}

/// The file name of a URL's path (as `DirectoryAssetSource` reads it).
enum DirectoryAssetSourceName {
    static func fileName(in url: String) -> String? { DirectoryAssetSource.fileName(in: url) }
}
