// libFuzzer targets over Cairn's parsers and verifiers (docs/fuzzing.md). Built only by scripts/fuzz.sh, which passes
// `-sanitize=fuzzer,address -D CAIRN_FUZZ`; the default build compiles the stub at the end of this file.
#if CAIRN_FUZZ
import CairnCore
import CairnExport
import CairnLedger
import CairnManifest
import CairnPipeline
import Foundation

/// The target this process fuzzes, from `CAIRN_FUZZ_TARGET`.
enum FuzzTarget: String, CaseIterable {
    case digest, json, manifest, ledger, proof, bundle, pipeline

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["CAIRN_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("cairn-fuzz: set CAIRN_FUZZ_TARGET to one of: \(names)\n".utf8))
            exit(2)
        }
        return target
    }()

    /// The bundle vector's verifier key (spec/vectors/bundle/key.pub), so signatures are checked, not skipped.
    static let bundleKey = "example.org/cairn-bundle-vector+3c0a5c19+ARsZK1hudryFQoX9Cv8BaOOpBGk3nc1a8KEAm+aii9wC"

    func run(_ bytes: [UInt8]) {
        switch self {
        case .digest: Self.digest(bytes)
        case .json: Self.json(bytes)
        case .manifest: Self.manifest(bytes)
        case .ledger: Self.ledger(bytes)
        case .proof: Self.proof(bytes)
        case .bundle: Self.bundle(bytes)
        case .pipeline: Self.pipeline(bytes)
        }
    }

    /// A digest that parses prints back to the same text and parses to the same value.
    static func digest(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let digest = try? Digest(parsing: text) else { return }
        guard digest.description == text, (try? Digest(parsing: digest.description)) == digest else {
            fatalError("digest \(text) does not round-trip")
        }
    }

    /// canonical(parse(x)) parses, and is a fixed point: canonical(parse(canonical(parse(x)))) == canonical(parse(x)).
    static func json(_ bytes: [UInt8]) {
        guard let value = try? JSONReader.parse(bytes) else { return }
        guard let canonical = try? CanonicalJSON.encode(value) else { return }
        let again: JSONValue
        do {
            again = try JSONReader.parse(canonical)
        } catch {
            fatalError("canonical JSON does not parse back: \(error): \(String(decoding: canonical, as: UTF8.self))")
        }
        guard let twice = try? CanonicalJSON.encode(again), twice == canonical else {
            fatalError("canonical JSON is not a fixed point: \(String(decoding: canonical, as: UTF8.self))")
        }
    }

    /// The manifest model and the verifier: never a crash, whatever the bytes.
    static func manifest(_ bytes: [UInt8]) {
        _ = try? ManifestVerdict.verify(bytes: bytes)
        if let manifest = try? Manifest.parse(bytes) {
            _ = try? manifest.verificationReport()
        }
    }

    /// Ledger records: an entries.log entry, a checkpoint slot, a signed checkpoint note.
    static func ledger(_ bytes: [UInt8]) {
        _ = try? LedgerEntry.decode(bytes)
        _ = CheckpointFile.inspect(bytes, slot: 0)
        _ = CheckpointFile.inspect(bytes, slot: 1)
        let text = String(decoding: bytes, as: UTF8.self)
        if let verifier = try? NoteVerifier(encoded: bundleKey) {
            _ = try? Checkpoint.open(signedNote: text, verifier: verifier)
        }
        _ = try? NoteVerifier(encoded: text)
    }

    /// Offline proof bundle checks (inclusion and consistency).
    static func proof(_ bytes: [UInt8]) {
        _ = try? ProofVerifier.check(bundle: bytes)
        _ = try? ProofVerifier.check(bundle: bytes, key: bundleKey)
    }

    /// Run bundle verification (spec/bundle.md), with the vector's pinned key.
    static func bundle(_ bytes: [UInt8]) {
        _ = try? RunBundle.verify(bytes: bytes, key: bundleKey)
    }

    /// Pipeline files: parse and check.
    static func pipeline(_ bytes: [UInt8]) {
        _ = try? PipelineFile.parse(String(decoding: bytes, as: UTF8.self))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}

/// libFuzzer's driver (compiler-rt's FuzzerInterface.h).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable with `main` defined as `cairn_fuzz_main`, so libFuzzer's own `main` is never pulled
/// in: this one hands the command line to libFuzzer's driver.
@_cdecl("cairn_fuzz_main")
public func fuzzMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
/// Without `-D CAIRN_FUZZ` (the default build) the fuzzer is a stub that says how to build it.
@main
enum CairnFuzzStub {
    static func main() {
        print("cairn-fuzz is built by scripts/fuzz.sh (-sanitize=fuzzer,address -D CAIRN_FUZZ); see docs/fuzzing.md")
    }
}
#endif
