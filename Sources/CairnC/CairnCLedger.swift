// The C ABI's manifest and ledger calls (include/cairn.h, spec/c-abi.md): verify, import, lineage, made, used,
// log, the manifest of a run, ledger verify.

import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Verify

/// `CAIRN_VERIFY_HASH_ONLY`, `CAIRN_VERIFY_REQUIRE_ASSETS`.
enum VerifyFlags {
    static let hashOnly: Int32 = 1
    static let requireAssets: Int32 = 2
    static let all: Int32 = 3
}

/// The compact verdict of spec/c-abi.md: fields separated by 0x1F, list items by 0x1E, an absent value as 0x15.
enum CompactVerdict {
    static let field: UInt8 = 0x1F
    static let item: UInt8 = 0x1E
    static let record: UInt8 = 0x1D
    static let absent: UInt8 = 0x15

    static func append(_ verdict: ManifestVerdict, to out: inout [UInt8]) {
        let outcome: UInt8 =
            switch verdict.outcome {
            case .verified: UInt8(ascii: "v")
            case .failed: UInt8(ascii: "f")
            case .refused: UInt8(ascii: "r")
            }
        out.append(outcome)
        out.append(field)
        out.append(verdict.hashOK ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        out.append(field)
        out.append(verdict.verifyOK ? UInt8(ascii: "1") : UInt8(ascii: "0"))
        for text in [verdict.schemaVersion, verdict.storedHash, verdict.canonicalHash] {
            out.append(field)
            appendOptional(text, to: &out)
        }
        for list in [verdict.unverifiedSHA256IDs, verdict.invalidMetadataIDs] {
            out.append(field)
            for (index, id) in list.enumerated() {
                if index > 0 { out.append(item) }
                out.append(contentsOf: id.utf8)
            }
        }
        out.append(field)
        appendOptional(verdict.error.map { "\($0.kind): \($0.message)" }, to: &out)
    }

    private static func appendOptional(_ text: String?, to out: inout [UInt8]) {
        if let text { out.append(contentsOf: text.utf8) } else { out.append(absent) }
    }
}

/// Copies `bytes` into the caller's buffer, or fails with `CAIRN_E_BUFFER` and the size needed in `*length`.
func fill(
    _ bytes: [UInt8],
    _ buffer: UnsafeMutableRawPointer?,
    _ capacity: Int,
    _ length: UnsafeMutablePointer<Int>?
) throws {
    let length = try Arguments.out(length, "out_len")
    length.pointee = bytes.count
    guard capacity >= 0 else { throw CairnFailure(Status.usage, "cap is negative") }
    guard bytes.count <= capacity else {
        throw CairnFailure(Status.bufferTooSmall, "the result is \(bytes.count) bytes; the buffer holds \(capacity)")
    }
    guard !bytes.isEmpty else { return }
    guard let buffer else { throw CairnFailure(Status.usage, "buf is NULL") }
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
}

func checkVerifyFlags(_ flags: Int32) throws {
    guard flags & ~VerifyFlags.all == 0 else { throw CairnFailure(Status.usage, "unknown verify flags \(flags)") }
}

/// `int cairn_verify(const void *data, size_t len, cairn_store *store_or_null, int flags, char **json,
/// size_t *json_len, char **err)`: genblaze's verdict on manifest bytes as JSON (docs/verify.md's fields).
@_cdecl("cairn_verify")
public func cairn_verify(
    _ data: UnsafeRawPointer?,
    _ length: Int,
    _ handle: OpaquePointer?,
    _ flags: Int32,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let bytes = try Arguments.bytes(data, length)
        try checkVerifyFlags(flags)
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        let hashOnly = flags & VerifyFlags.hashOnly != 0
        let source: (any AssetByteSource)? =
            try handle.map { try Arguments.store($0) }.map { StoreAssetSource(store: $0.store) }
        if hashOnly && flags & VerifyFlags.requireAssets != 0 {
            throw CairnFailure(
                Status.usage,
                "HASH_ONLY checks no asset bytes; it cannot be combined with REQUIRE_ASSETS"
            )
        }
        let verdict = try ManifestVerdict.verify(
            bytes: bytes,
            hashOnly: hashOnly,
            byteSource: hashOnly ? nil : source,
            missingBytes: flags & VerifyFlags.requireAssets != 0 ? .fail : .unchecked
        )
        try handOut(try canonicalJSON(VerdictWithOutcome(verdict: verdict)), out, outLength)
    }
}

/// A verdict's JSON with its `outcome` (`verified`, `failed`, `refused`) beside genblaze's fields.
struct VerdictWithOutcome: Encodable {
    var verdict: ManifestVerdict

    private enum CodingKeys: String, CodingKey { case outcome }

    func encode(to encoder: any Encoder) throws {
        try verdict.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(verdict.outcome.rawValue, forKey: .outcome)
    }
}

/// `int cairn_verify_compact(const void *data, size_t len, int flags, char *buf, size_t cap, size_t *out_len,
/// char **err)`: the verdict in the compact form of spec/c-abi.md, written into the caller's buffer.
@_cdecl("cairn_verify_compact")
public func cairn_verify_compact(
    _ data: UnsafeRawPointer?,
    _ length: Int,
    _ flags: Int32,
    _ buffer: UnsafeMutableRawPointer?,
    _ capacity: Int,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let bytes = try Arguments.bytes(data, length)
        try checkVerifyFlags(flags & VerifyFlags.hashOnly)
        let verdict = try ManifestVerdict.verify(bytes: bytes, hashOnly: flags & VerifyFlags.hashOnly != 0)
        var text: [UInt8] = []
        text.reserveCapacity(256)
        CompactVerdict.append(verdict, to: &text)
        try fill(text, buffer, capacity, outLength)
    }
}

/// `int cairn_verify_many(size_t count, const void *const *datas, const size_t *lens, int flags, char *buf,
/// size_t cap, size_t *out_len, char **err)`: compact verdicts of `count` manifests, separated by 0x1D.
@_cdecl("cairn_verify_many")
public func cairn_verify_many(
    _ count: Int,
    _ datas: UnsafePointer<UnsafeRawPointer?>?,
    _ lengths: UnsafePointer<Int>?,
    _ flags: Int32,
    _ buffer: UnsafeMutableRawPointer?,
    _ capacity: Int,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        guard count >= 0 else { throw CairnFailure(Status.usage, "count is negative") }
        try checkVerifyFlags(flags & VerifyFlags.hashOnly)
        var text: [UInt8] = []
        if count > 0 {
            guard let datas, let lengths else { throw CairnFailure(Status.usage, "datas or lens is NULL") }
            text.reserveCapacity(min(count, 1 << 16) * 200)
            for index in 0..<count {
                let bytes = try Arguments.bytes(datas[index], lengths[index])
                let verdict = try ManifestVerdict.verify(bytes: bytes, hashOnly: flags & VerifyFlags.hashOnly != 0)
                if index > 0 { text.append(CompactVerdict.record) }
                CompactVerdict.append(verdict, to: &text)
            }
        }
        try fill(text, buffer, capacity, outLength)
    }
}

// MARK: Import

/// What `cairn_import` reports: the ``ImportResult`` fields and whether the run was already in the ledger.
struct ImportReport: Encodable {
    var result: ImportResult?
    var runID: String
    var entryIndex: UInt64
    var manifest: String
    var alreadyPresent: Bool

    private enum CodingKeys: String, CodingKey {
        case runID = "run_id"
        case entryIndex = "entry_index"
        case manifest
        case alreadyPresent = "already_present"
        case assetsStored = "assets_stored"
        case assetsMissing = "assets_missing"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .runID)
        try container.encode(entryIndex, forKey: .entryIndex)
        try container.encode(manifest, forKey: .manifest)
        try container.encode(alreadyPresent, forKey: .alreadyPresent)
        try container.encode(result?.assetsStored.count ?? 0, forKey: .assetsStored)
        try container.encode(result?.assetsMissing ?? [], forKey: .assetsMissing)
    }
}

/// `CAIRN_IMPORT_SKIP_EXISTING`: a run already in the ledger with the same canonical hash is not appended again.
let importSkipExisting: Int32 = 1

/// `int cairn_import(cairn_store *, const void *data, size_t len, const char *assets_dir_or_null, int flags,
/// char **json, size_t *json_len, char **err)`: verifies a genblaze manifest and appends it, as `cairn import
/// [--assets DIR]` does.
@_cdecl("cairn_import")
public func cairn_import(
    _ handle: OpaquePointer?,
    _ data: UnsafeRawPointer?,
    _ length: Int,
    _ assets: UnsafePointer<CChar>?,
    _ flags: Int32,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let bytes = Array(try Arguments.bytes(data, length))
        let assets = try assets.map { try Arguments.string($0, "assets_dir") }
        guard flags & ~importSkipExisting == 0 else {
            throw CairnFailure(Status.usage, "unknown import flags \(flags)")
        }
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        let ledger = try handle.ledger()
        let report: ImportReport = try handle.exclusive {
            if flags & importSkipExisting != 0, let manifest = try? Manifest.parse(bytes),
                let existing = try ledger.run(manifest.run.runID),
                existing.canonicalHash == manifest.canonicalHash
            {
                // Only a manifest that verifies is skipped as already present; anything else goes through the
                // import's checks below and fails there.
                if try ManifestVerdict.verify(bytes: bytes, hashOnly: false).isVerified {
                    return ImportReport(
                        result: nil,
                        runID: existing.runID,
                        entryIndex: existing.entryIndex,
                        manifest: existing.manifestDigest,
                        alreadyPresent: true
                    )
                }
            }
            let result = try ledger.importManifest(bytes: bytes, assetsDirectory: assets)
            return ImportReport(
                result: result,
                runID: result.runID,
                entryIndex: result.entry.index,
                manifest: result.manifestDigest.description,
                alreadyPresent: false
            )
        }
        try handOut(try canonicalJSON(report), out, outLength)
    }
}

// MARK: Queries

typealias JSONOut = (
    out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, length: UnsafeMutablePointer<Int>?
)

/// `int cairn_lineage(cairn_store *, const char *run_id, int flags, char **json, size_t *json_len, char **err)`:
/// `{run, ancestors}` (or with `CAIRN_LINEAGE_DESCENDANTS`, the descendants tree); `CAIRN_E_NOT_FOUND` when the run
/// has no manifest entry.
@_cdecl("cairn_lineage")
public func cairn_lineage(
    _ handle: OpaquePointer?,
    _ runID: UnsafePointer<CChar>?,
    _ flags: Int32,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let runID = try Arguments.string(runID, "run_id")
        guard flags & ~1 == 0 else { throw CairnFailure(Status.usage, "unknown lineage flags \(flags)") }
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        let ledger = try handle.ledger()
        guard let run = try ledger.run(runID) else {
            throw CairnFailure(Status.notFound, "no manifest for run \(runID) in the ledger")
        }
        if flags & 1 != 0 {
            guard let tree = try ledger.descendants(of: runID) else {
                throw CairnFailure(Status.notFound, "no manifest for run \(runID) in the ledger")
            }
            try handOut(try canonicalJSON(tree), out, outLength)
        } else {
            let ancestry = RunAncestry(run: run, ancestors: try ledger.ancestors(of: runID))
            try handOut(try canonicalJSON(ancestry), out, outLength)
        }
    }
}

/// The runs that produced (`made`) or consumed (`used`) a digest, as a JSON array (empty when none).
func digestUses(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    produced: Bool,
    _ out: JSONOut,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let digest = try Arguments.digest(digest)
        _ = try Arguments.out(out.out, "out")
        _ = try Arguments.out(out.length, "out_len")
        let ledger = try handle.ledger()
        let uses = produced ? try ledger.runs(producing: digest) : try ledger.runs(consuming: digest)
        try handOut(try canonicalJSON(uses), out.out, out.length)
    }
}

/// `int cairn_made(cairn_store *, const char *digest, char **json, size_t *json_len, char **err)`.
@_cdecl("cairn_made")
public func cairn_made(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    digestUses(handle, digest, produced: true, (out, outLength), err)
}

/// `int cairn_used(cairn_store *, const char *digest, char **json, size_t *json_len, char **err)`.
@_cdecl("cairn_used")
public func cairn_used(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    digestUses(handle, digest, produced: false, (out, outLength), err)
}

/// `int cairn_log(cairn_store *, long limit, char **json, size_t *json_len, char **err)`: runs newest first; a
/// negative limit lists them all.
@_cdecl("cairn_log")
public func cairn_log(
    _ handle: OpaquePointer?,
    _ limit: Int,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        let runs = try handle.ledger().runs(limit: limit < 0 ? nil : limit)
        try handOut(try canonicalJSON(runs), out, outLength)
    }
}

/// `int cairn_manifest(cairn_store *, const char *run_id, uint8_t **out, size_t *out_len, char **err)`: the
/// manifest file the ledger holds for a run (`CAIRN_E_NOT_FOUND` when none).
@_cdecl("cairn_manifest")
public func cairn_manifest(
    _ handle: OpaquePointer?,
    _ runID: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let runID = try Arguments.string(runID, "run_id")
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        guard let bytes = try handle.ledger().manifestBytes(runID: runID) else {
            throw CairnFailure(Status.notFound, "no manifest for run \(runID) in the ledger")
        }
        try handOut(bytes, out, outLength)
    }
}

/// `int cairn_ledger_verify(cairn_store *, char **json, size_t *json_len, char **err)`: the `cairn ledger verify
/// --json` report; `CAIRN_OK` with `"ok": false` in it when problems were found.
@_cdecl("cairn_ledger_verify")
public func cairn_ledger_verify(
    _ handle: OpaquePointer?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(outLength, "out_len")
        // Opening repairs what a crash leaves (as `cairn ledger verify` does) before the read-only check.
        _ = try handle.ledger()
        let report = try Ledger.verify(storeRoot: handle.store.root)
        try handOut(try canonicalJSON(report), out, outLength)
    }
}
