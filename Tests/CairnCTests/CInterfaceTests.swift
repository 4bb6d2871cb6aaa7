import CairnC
import Foundation
import Testing
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A call's status and the message it handed back (freed here with `cairn_free`).
struct CallResult {
    var status: Int32
    var message: String?
}

/// Calls `body` with an error out-parameter, as a C caller would, and takes the message.
func call(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32) -> CallResult {
    var err: UnsafeMutablePointer<CChar>? = nil
    let status = body(&err)
    defer { cairn_free(err) }
    return CallResult(status: status, message: err.map { String(cString: $0) })
}

/// The NUL-terminated text in a caller-owned buffer.
func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Takes a library-owned buffer as bytes and frees it.
func take(_ pointer: UnsafeMutablePointer<UInt8>?, _ length: Int) -> [UInt8] {
    defer { cairn_free(pointer) }
    guard let pointer else { return [] }
    return Array(UnsafeBufferPointer(start: pointer, count: length))
}

/// A store opened (created) through the C ABI in its own temporary directory.
final class CStore {
    let directory: TemporaryDirectory
    let handle: OpaquePointer

    init() throws {
        directory = try TemporaryDirectory(prefix: "cairn-c")
        var handle: OpaquePointer? = nil
        let path = directory.appending("store")
        let result = call { cairn_store_open(path, 1, &handle, $0) }
        try #require(result.status == 0, "cairn_store_open: \(result.message ?? "")")
        self.handle = try #require(handle)
    }

    deinit { cairn_store_close(handle) }

    func put(_ bytes: [UInt8]) throws -> String {
        var digest = [CChar](repeating: 0, count: 80)
        let result = bytes.withUnsafeBytes { buffer in
            call { cairn_put_bytes(handle, buffer.baseAddress, buffer.count, &digest, $0) }
        }
        try #require(result.status == 0, "cairn_put_bytes: \(result.message ?? "")")
        return text(digest)
    }

    func json(
        _ body: (inout UnsafeMutablePointer<UInt8>?, inout Int, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) ->
            Int32
    )
        -> (CallResult, Any?)
    {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let result = call { body(&out, &length, $0) }
        let bytes = take(out, length)
        guard result.status == 0 else { return (result, nil) }
        return (result, try? JSONSerialization.jsonObject(with: Data(bytes)))
    }
}

/// The C ABI (include/cairn.h) called directly: status codes, messages, buffers and ownership, bad arguments.
@Suite(.timeLimit(.minutes(15)))
struct CInterfaceTests {
    @Test func versionAndABI() {
        #expect(cairn_abi_version() == 1)
        #expect(String(cString: cairn_version()) == "0.1.0")
    }

    @Test func putGetHasReadRoundTrip() throws {
        let store = try CStore()
        let bytes = Array("hello".utf8)
        let digest = try store.put(bytes)
        #expect(digest == "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")

        var present: Int32 = -1
        #expect(call { cairn_has(store.handle, digest, &present, $0) }.status == 0)
        #expect(present == 1)

        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        #expect(call { cairn_get(store.handle, digest, &out, &length, $0) }.status == 0)
        #expect(take(out, length) == bytes)

        // A caller buffer too small: CAIRN_E_BUFFER (24) and the size needed.
        var small = [UInt8](repeating: 0, count: 2)
        let tooSmall = call { cairn_read(store.handle, digest, &small, 2, &length, $0) }
        #expect(tooSmall.status == 24)
        #expect(length == 5)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(call { cairn_read(store.handle, digest, &buffer, 16, &length, $0) }.status == 0)
        #expect(Array(buffer[..<length]) == bytes)

        // A streaming reader gives the bytes, then 0 at the end.
        var reader: OpaquePointer? = nil
        #expect(call { cairn_reader_open(store.handle, digest, &reader, $0) }.status == 0)
        var streamed: [UInt8] = []
        while true {
            var chunk = [UInt8](repeating: 0, count: 2)
            var n = 0
            let status = call { cairn_reader_read(reader, &chunk, 2, &n, $0) }.status
            #expect(status == 0)
            if n == 0 || status != 0 { break }
            streamed += chunk[..<n]
        }
        cairn_reader_close(reader)
        #expect(streamed == bytes)
    }

    @Test func absentAndInvalidDigestsAndNullArguments() throws {
        let store = try CStore()
        let absent = "sha256:" + String(repeating: "0", count: 64)
        var present: Int32 = -1
        #expect(call { cairn_has(store.handle, absent, &present, $0) }.status == 0)
        #expect(present == 0)

        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let missing = call { cairn_get(store.handle, absent, &out, &length, $0) }
        #expect(missing.status == 10)
        #expect(missing.message?.contains("no such object") == true)
        #expect(out == nil)

        let invalid = call { cairn_has(store.handle, "sha256:XYZ", &present, $0) }
        #expect(invalid.status == 20)
        #expect(invalid.message?.contains("invalid digest") == true)

        #expect(call { cairn_has(nil, absent, &present, $0) }.status == 20)
        #expect(call { cairn_has(store.handle, nil, &present, $0) }.status == 20)
        #expect(call { cairn_has(store.handle, absent, nil, $0) }.status == 20)
        var digest = [CChar](repeating: 0, count: 80)
        let nullData = call { cairn_put_bytes(store.handle, nil, 3, &digest, $0) }
        #expect(nullData.status == 20)
        #expect(nullData.message == "data is NULL but length is 3")
        // No error out-parameter: the status alone.
        #expect(cairn_has(store.handle, "nope", &present, nil) == 20)

        var handle: OpaquePointer? = nil
        let notAStore = try TemporaryDirectory(prefix: "cairn-c-empty")
        let opened = call { cairn_store_open(notAStore.path, 0, &handle, $0) }
        #expect(opened.status == 23)
        #expect(handle == nil)
    }

    @Test func corruptObjectIsReported() throws {
        let store = try CStore()
        let digest = try store.put(Array("intact bytes".utf8))
        let hex = String(digest.dropFirst("sha256:".count))
        let path = store.directory.appending("store/objects/sha256/\(hex.prefix(2))/\(hex)")
        chmod(path, 0o644)
        try Data("intact bytez".utf8).write(to: URL(fileURLWithPath: path))
        var out: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        let result = call { cairn_get(store.handle, digest, &out, &length, $0) }
        #expect(result.status == 11)
        #expect(out == nil)

        var reader: OpaquePointer? = nil
        #expect(call { cairn_reader_open(store.handle, digest, &reader, $0) }.status == 0)
        var chunk = [UInt8](repeating: 0, count: 64)
        var n = 0
        #expect(call { cairn_reader_read(reader, &chunk, 64, &n, $0) }.status == 0)
        #expect(n == 12)
        #expect(call { cairn_reader_read(reader, &chunk, 64, &n, $0) }.status == 11)
        cairn_reader_close(reader)
    }

    @Test func verifyImportAndQueries() throws {
        let store = try CStore()
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: genblazeVectorsPath + "/cases/d_basic.json")))
        let (verified, verdict) = store.json { out, length, err in
            bytes.withUnsafeBytes { cairn_verify($0.baseAddress, $0.count, nil, 0, &out, &length, err) }
        }
        #expect(verified.status == 0)
        let fields = try #require(verdict as? [String: Any])
        #expect(fields["hash_ok"] as? Bool == true)
        #expect(
            fields["canonical_hash"] as? String == "5b89723fcbd438cfaff6ba458d297272cde18cdb7c038a4d668df532778a70f6"
        )

        var compact = [UInt8](repeating: 0, count: 512)
        var length = 0
        let compactResult = bytes.withUnsafeBytes { buffer in
            call { cairn_verify_compact(buffer.baseAddress, buffer.count, 0, &compact, 512, &length, $0) }
        }
        #expect(compactResult.status == 0)
        let compactFields = compact[..<length].split(separator: 0x1F, omittingEmptySubsequences: false)
        #expect(compactFields.count == 9)
        #expect(compactFields.first.map { Array($0) } == Array("v".utf8))

        // Truncated manifest: a verdict with an error, not a failed call.
        let truncated = Array(bytes.prefix(bytes.count / 2))
        let (refused, refusedVerdict) = store.json { out, length, err in
            truncated.withUnsafeBytes { cairn_verify($0.baseAddress, $0.count, nil, 0, &out, &length, err) }
        }
        #expect(refused.status == 0)
        #expect((refusedVerdict as? [String: Any])?["error"] is String)

        let (imported, report) = store.json { out, length, err in
            bytes.withUnsafeBytes { cairn_import(store.handle, $0.baseAddress, $0.count, nil, 1, &out, &length, err) }
        }
        #expect(imported.status == 0, "\(imported.message ?? "")")
        let importFields = try #require(report as? [String: Any])
        #expect(importFields["already_present"] as? Bool == false)
        let runID = try #require(importFields["run_id"] as? String)
        let (again, againReport) = store.json { out, length, err in
            bytes.withUnsafeBytes { cairn_import(store.handle, $0.baseAddress, $0.count, nil, 1, &out, &length, err) }
        }
        #expect(again.status == 0)
        #expect((againReport as? [String: Any])?["already_present"] as? Bool == true)

        let (logged, log) = store.json { cairn_log(store.handle, -1, &$0, &$1, $2) }
        #expect(logged.status == 0)
        #expect((log as? [Any])?.count == 1)

        let (lineage, ancestry) = store.json { cairn_lineage(store.handle, runID, 0, &$0, &$1, $2) }
        #expect(lineage.status == 0)
        #expect(((ancestry as? [String: Any])?["run"] as? [String: Any])?["run_id"] as? String == runID)
        let (unknown, _) = store.json { cairn_lineage(store.handle, "no-such-run", 0, &$0, &$1, $2) }
        #expect(unknown.status == 10)

        var manifestOut: UnsafeMutablePointer<UInt8>? = nil
        var manifestLength = 0
        #expect(call { cairn_manifest(store.handle, runID, &manifestOut, &manifestLength, $0) }.status == 0)
        #expect(take(manifestOut, manifestLength) == bytes)

        let (verifiedLedger, ledgerReport) = store.json { cairn_ledger_verify(store.handle, &$0, &$1, $2) }
        #expect(verifiedLedger.status == 0)
        #expect((ledgerReport as? [String: Any])?["ok"] as? Bool == true)

        let tampered = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "5b89", with: "5b88").utf8)
        let (refusedImport, _) = store.json { out, length, err in
            tampered.withUnsafeBytes {
                cairn_import(store.handle, $0.baseAddress, $0.count, nil, 0, &out, &length, err)
            }
        }
        #expect(refusedImport.status == 12)
        #expect(refusedImport.message?.contains("does not verify") == true)
    }

    @Test func putFilesDurabilityAndVerifyMany() throws {
        let store = try CStore()
        let paths = try (0..<3).map { index in
            let path = store.directory.appending("input-\(index).txt")
            try Data("input \(index)".utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        #expect(call { cairn_store_set_durability(store.handle, 7, $0) }.status == 20)
        #expect(call { cairn_store_set_durability(store.handle, 3, $0) }.status == 0)

        var digests = [CChar](repeating: 0, count: 80 * 3)
        let stored = withCStrings(paths) { pointers in
            call { cairn_put_files(store.handle, 3, pointers, 2, &digests, $0) }
        }
        #expect(stored.status == 0, "\(stored.message ?? "")")
        for index in 0..<3 {
            let digest = text(Array(digests[(index * 80)..<(index * 80 + 80)]))
            var present: Int32 = 0
            #expect(call { cairn_has(store.handle, digest, &present, $0) }.status == 0)
            #expect(present == 1)
        }

        // A missing file among the inputs: CAIRN_E_IO, naming it, and nothing of the batch is stored.
        let fresh = store.directory.appending("fresh.txt")
        try Data("fresh bytes".utf8).write(to: URL(fileURLWithPath: fresh))
        let missing = store.directory.appending("missing.txt")
        let refused = withCStrings([fresh, missing]) { pointers in
            call { cairn_put_files(store.handle, 2, pointers, 2, &digests, $0) }
        }
        #expect(refused.status == 22)
        #expect(refused.message?.contains("missing.txt") == true)
        var present: Int32 = 1
        // The digest those bytes have, from a second store.
        let freshDigest = try CStore().put(Array("fresh bytes".utf8))
        #expect(call { cairn_has(store.handle, freshDigest, &present, $0) }.status == 0)
        #expect(present == 0)

        let good = Array(try Data(contentsOf: URL(fileURLWithPath: genblazeVectorsPath + "/cases/d_basic.json")))
        let bad = Array("{not json".utf8)
        var buffer = [UInt8](repeating: 0, count: 8)
        var length = 0
        let verdicts = [good, bad]
        let small = withByteBuffers(verdicts) { datas, lengths in
            call { cairn_verify_many(2, datas, lengths, 0, &buffer, 8, &length, $0) }
        }
        #expect(small.status == 24)
        buffer = [UInt8](repeating: 0, count: length)
        let capacity = length
        let done = withByteBuffers(verdicts) { datas, lengths in
            call { cairn_verify_many(2, datas, lengths, 0, &buffer, capacity, &length, $0) }
        }
        #expect(done.status == 0)
        let records = buffer[..<length].split(separator: 0x1D, omittingEmptySubsequences: false)
        #expect(records.count == 2)
        #expect(records.first?.first == UInt8(ascii: "v"))
        #expect(records.last?.first == UInt8(ascii: "r"))
    }

    @Test func concurrentCallsOnOneHandle() async throws {
        let store = try CStore()
        let handle = UInt(bitPattern: store.handle)
        let digests = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let bytes = Array("blob \(index)".utf8)
                    var digest = [CChar](repeating: 0, count: 80)
                    let pointer = OpaquePointer(bitPattern: handle)
                    let result = bytes.withUnsafeBytes { buffer in
                        call { cairn_put_bytes(pointer, buffer.baseAddress, buffer.count, &digest, $0) }
                    }
                    try #require(result.status == 0)
                    return text(digest)
                }
            }
            var all: Set<String> = []
            for try await digest in group { all.insert(digest) }
            return all
        }
        #expect(digests.count == 8)
    }
}

/// Calls `body` with a C array of NUL-terminated copies of `strings`.
func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with C arrays of pointers to and lengths of `buffers`.
func withByteBuffers<T>(
    _ buffers: [[UInt8]],
    _ body: (UnsafePointer<UnsafeRawPointer?>, UnsafePointer<Int>) -> T
) -> T {
    let copies = buffers.map { bytes -> UnsafeMutableRawPointer in
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { memory.copyMemory(from: base, byteCount: source.count) }
        }
        return memory
    }
    defer { for copy in copies { copy.deallocate() } }
    let pointers: [UnsafeRawPointer?] = copies.map { UnsafeRawPointer($0) }
    let lengths = buffers.map(\.count)
    return pointers.withUnsafeBufferPointer { p in
        lengths.withUnsafeBufferPointer { body(p.baseAddress!, $0.baseAddress!) }
    }
}
