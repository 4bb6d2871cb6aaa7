import Foundation
import Testing
import _CairnTestSupport

@Suite(.timeLimit(.minutes(15)))
struct VerifyCommandTests {
    static let vectors = genblazeVectorsPath

    /// (case name, genblaze CLI exit code, genblaze's first output line) from expected.jsonl.
    static let cases: [(String, Int32, String)] = {
        guard let data = FileManager.default.contents(atPath: vectors + "/expected.jsonl") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = object["case"] as? String, let exit = object["cli_exit"] as? Int,
                let output = object["cli_output"] as? String
            else { return nil }
            return (name, Int32(exit), output)
        }
    }()

    static let okPrefix = "OK: manifest hash verified; all output assets declare sha256 and carry in-spec metadata."

    @Test("Exit code and first line match genblaze's CLI on every vector")
    func vectorsMatchGenblazeCLI() throws {
        #expect(Self.cases.count >= 15)
        for (name, exit, output) in Self.cases {
            let result = try runCairn(["verify", Self.vectors + "/cases/\(name).json"])
            #expect(result.status == exit, "\(name): \(result.stderrText)")
            if exit == 0 {
                #expect(result.stdoutText.hasPrefix(Self.okPrefix), "\(name)")
                #expect(output.hasPrefix(Self.okPrefix))
                #expect(result.stderrText.isEmpty, "\(name)")
            } else {
                let firstLine = result.stderrText.split(separator: "\n").first.map(String.init)
                #expect(firstLine == output, "\(name)")
                #expect(result.stdoutText.isEmpty, "\(name)")
            }
        }
    }

    @Test("--hash-only prints genblaze's hash-only line")
    func hashOnly() throws {
        let result = try runCairn(["verify", "--hash-only", Self.vectors + "/cases/d_asset_no_sha256.json"])
        #expect(result.status == 0)
        #expect(result.stdoutText == "OK: manifest hash verified. Asset bytes were not fetched or compared.\n")
        let tampered = try runCairn(["verify", "--hash-only", Self.vectors + "/cases/d_tamper_prompt.json"])
        #expect(tampered.status == 1)
        #expect(tampered.stderrText == "FAIL: manifest hash mismatch.\n")
    }

    @Test("--json prints one object per file with the documented fields")
    func jsonOutput() throws {
        let files = ["d_basic", "d_tamper_prompt", "d_schema_1_6"].map { Self.vectors + "/cases/\($0).json" }
        let result = try runCairn(["verify", "--json"] + files)
        #expect(result.status == 1)
        let lines = result.stdoutText.split(separator: "\n")
        try #require(lines.count == 3)
        let objects = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
        for key in [
            "file", "schema_version", "stored_hash", "canonical_hash", "hash_ok", "verify_ok", "unverified_sha256_ids",
            "invalid_metadata_ids", "assets", "error",
        ] {
            #expect(objects.allSatisfy { $0.keys.contains(key) }, "missing \(key)")
        }
        #expect(objects[0]["hash_ok"] as? Bool == true)
        #expect(objects[0]["verify_ok"] as? Bool == true)
        #expect(
            objects[0]["canonical_hash"] as? String
                == "5b89723fcbd438cfaff6ba458d297272cde18cdb7c038a4d668df532778a70f6"
        )
        #expect(objects[1]["hash_ok"] as? Bool == false)
        #expect(
            objects[1]["canonical_hash"] as? String
                == "c8fe01e1aad7b4989b8f8111d427a0e28713a246b4c682c113d0adcc1db2ad0b"
        )
        #expect((objects[2]["unverified_sha256_ids"] as? [String])?.count == 1)
        let assets = objects[0]["assets"] as? [[String: Any]]
        #expect(assets?.first?["status"] as? String == "unchecked")
    }

    @Test("Unreadable, malformed and refused files exit 2 naming the file")
    func refusedFiles() throws {
        let directory = try TemporaryDirectory()
        let missing = try runCairn(["verify", directory.appending("nope.json")])
        #expect(missing.status == 2)
        #expect(missing.stderrText.contains("nope.json"))
        let folder = try runCairn(["verify", directory.path])
        #expect(folder.status == 2)
        let samples: [(String, String, String)] = [
            ("truncated.json", "{\"schema_version\":\"1.5\",\"run\":{\"steps\":[", "JSONDecodeError"),
            ("bom.json", "\u{FEFF}{}", "JSONDecodeError"),
            ("list.json", "[1,2]", "ManifestError"),
            ("future.json", "{\"schema_version\":\"2.0\",\"run\":{}}", "UnsupportedSchemaVersionError"),
            (
                "extra.json", "{\"run\":{\"steps\":[{\"provider\":\"p\",\"model\":\"m\",\"x_extra\":1}]}}",
                "run.steps.0.x_extra"
            ),
            ("deep.json", String(repeating: "[", count: 100_000), "JSONDecodeError"),
            ("pointer.json", "{\"manifest_uri\":\"s3://b/k\",\"canonical_hash\":\"\"}", "PointerSidecarError"),
        ]
        for (name, text, expected) in samples {
            let path = directory.appending(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let result = try runCairn(["verify", path])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderrText.contains(expected), "\(name): \(result.stderrText)")
            #expect(result.stderrText.split(separator: "\n").count == 1, "\(name): one line")
        }
        let usage = try runCairn(["verify"])
        #expect(usage.status == 2)
    }

    @Test("--assets DIR: matching, mismatching and missing bytes")
    func assetBytes() throws {
        let directory = try TemporaryDirectory()
        let assets = directory.appending("assets")
        try FileManager.default.createDirectory(atPath: assets, withIntermediateDirectories: true)
        let good = Data("good bytes".utf8)
        // Build a manifest whose output asset declares the SHA-256 of `good`, named by url file name.
        let digest = try runProcess("/usr/bin/openssl", ["dgst", "-sha256", "-r"], stdin: good)
        let hex = String(digest.stdoutText.prefix(64))
        let manifest = """
            {"schema_version":"1.5","run":{"steps":[{"provider":"p","model":"m","assets":[
            {"asset_id":"a-1","url":"https://cdn.test/out.png?sig=x","media_type":"image/png","sha256":"\(hex)"}]}]}}
            """
        // Let cairn tell us the hash, then write the sealed file.
        let path = directory.appending("m.json")
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: path))
        let probe = try runCairn(["verify", "--json", path])
        let object = try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any]
        let hash = try #require(object?["canonical_hash"] as? String)
        let sealed = manifest.replacingOccurrences(of: "\"run\":", with: "\"canonical_hash\":\"\(hash)\",\"run\":")
        try Data(sealed.utf8).write(to: URL(fileURLWithPath: path))

        // Missing bytes are a failure, never OK.
        let missing = try runCairn(["verify", "--assets", assets, path])
        #expect(missing.status == 1)
        #expect(missing.stderrText.contains("bytes missing"))
        #expect(!missing.stderrText.contains("sig=x"), "query is redacted")

        // Found by url file name and matching.
        try good.write(to: URL(fileURLWithPath: assets + "/out.png"))
        let ok = try runCairn(["verify", "--assets", assets, path])
        #expect(ok.status == 0, "\(ok.stderrText)")
        #expect(ok.stdoutText.contains("1 asset(s) found and matched"))
        let json = try runCairn(["verify", "--json", "--assets", assets, path])
        let record = try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any]
        let status = (record?["assets"] as? [[String: Any]])?.first?["status"] as? String
        #expect(status == "ok")

        // Mismatching bytes.
        try Data("other bytes".utf8).write(to: URL(fileURLWithPath: assets + "/out.png"))
        let bad = try runCairn(["verify", "--assets", assets, path])
        #expect(bad.status == 1)
        #expect(bad.stderrText.contains("sha256 mismatch"))

        // A file named by digest wins over the url file name.
        try good.write(to: URL(fileURLWithPath: assets + "/\(hex)"))
        #expect(try runCairn(["verify", "--assets", assets, path]).status == 0)

        // A store: missing until the bytes are put, then ok. A store that names objects by BLAKE2b finds them by
        // the SHA-256 of its objects' bytes.
        for (algorithm, location) in [("sha256", "store:sha256:\(hex)"), ("blake2b-256", "store:blake2b-256:")] {
            let store = directory.appending("store-" + algorithm)
            #expect(try runCairn(["init", "--store", store, "--algorithm", algorithm]).status == 0)
            let absent = try runCairn(["verify", "--store", store, path])
            #expect(absent.status == 1)
            #expect(absent.stderrText.contains("bytes missing"))
            let put = try runCairn(["put", "--store", store, "-"], stdin: good)
            #expect(put.status == 0, "\(put.stderrText)")
            let stored = try runCairn(["verify", "--json", "--store", store, path])
            #expect(stored.status == 0, "\(stored.stdoutText) \(stored.stderrText)")
            #expect(stored.stdoutText.contains(location))
            if algorithm == "blake2b-256" {
                // One note on stderr, with one prefix.
                #expect(stored.stderrText.hasPrefix("cairn: the store names objects by blake2b-256; hashing its 1 "))
                #expect(!stored.stderrText.contains("cairn: cairn:"))
            }
            let record = try JSONSerialization.jsonObject(with: stored.stdout) as? [String: Any]
            #expect((record?["assets"] as? [[String: Any]])?.first?["status"] as? String == "ok")
        }
    }

    /// Writes a manifest at `path` whose one step outputs `assets` (asset id, url, sha256 hex), sealed with the
    /// canonical hash `cairn verify` reports for it.
    static func writeSealedManifest(_ assets: [(String, String, String)], at path: String) throws {
        let list = assets.map {
            #"{"asset_id":"\#($0.0)","url":"\#($0.1)","media_type":"image/png","sha256":"\#($0.2)"}"#
        }
        let manifest =
            #"{"schema_version":"1.5","run":{"steps":[{"provider":"p","model":"m","assets":["#
            + list.joined(separator: ",") + "]}]}}"
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: path))
        let probe = try runCairn(["verify", "--hash-only", "--json", path])
        let object = try JSONSerialization.jsonObject(with: probe.stdout) as? [String: Any]
        let hash = try #require(object?["canonical_hash"] as? String)
        let sealed = manifest.replacingOccurrences(of: #""run":"#, with: #""canonical_hash":"\#(hash)","run":"#)
        try Data(sealed.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The SHA-256 of `bytes`, in hex, from openssl.
    static func sha256Hex(_ bytes: Data) throws -> String {
        String(try runProcess("/usr/bin/openssl", ["dgst", "-sha256", "-r"], stdin: bytes).stdoutText.prefix(64))
    }

    @Test("A store found by itself checks what it holds; a named store or --require-assets must hold every asset")
    func implicitStoreChecksOnlyWhatItHolds() throws {
        let directory = try TemporaryDirectory()
        let good = Data("bytes the store holds".utf8)
        let goodHex = try Self.sha256Hex(good)
        let elsewhereHex = try Self.sha256Hex(Data("bytes that live on S3".utf8))
        let manifest = directory.appending("m.json")
        try Self.writeSealedManifest(
            [
                ("local-1", "https://cdn.test/here.png", goodHex),
                ("remote-1", "s3://bucket/far.png?X-Amz-Signature=s", elsewhereHex),
            ],
            at: manifest
        )
        // The store is ./.cairn in the working directory, or $CAIRN_HOME: both are found without being named.
        let work = directory.appending("work")
        let store = work + "/.cairn"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        #expect(try runCairn(["init", "--store", store]).status == 0)
        func verify(_ arguments: [String], viaHome: Bool = false) throws -> ProcessResult {
            viaHome
                ? try runCairn(["verify"] + arguments + [manifest], environment: ["CAIRN_HOME": store])
                : try runCairn(
                    ["verify"] + arguments + [manifest],
                    environment: ["CAIRN_HOME": ""],
                    currentDirectory: work
                )
        }
        func statuses(_ result: ProcessResult) throws -> [String] {
            let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
            return ((object?["assets"] as? [[String: Any]]) ?? []).compactMap { $0["status"] as? String }
        }
        let uncheckedLine =
            Self.okPrefix + " Asset bytes were not fetched or compared; add --assets DIR or --store PATH "
            + "to verify the media itself.\n"

        // 1. The found store holds none of the bytes: genblaze's wording for unchecked bytes, exit 0.
        for viaHome in [false, true] {
            let none = try verify([], viaHome: viaHome)
            #expect(none.status == 0, "\(none.stderrText)")
            #expect(none.stdoutText == uncheckedLine)
            #expect(none.stderrText.isEmpty)
            let json = try verify(["--json"], viaHome: viaHome)
            #expect(json.status == 0)
            #expect(try statuses(json) == ["unchecked", "unchecked"])
        }

        // 2. It holds one asset's bytes: that one is checked, the other is reported as not checked, exit 0.
        #expect(try runCairn(["put", "--store", store, "-"], stdin: good).status == 0)
        for viaHome in [false, true] {
            let some = try verify([], viaHome: viaHome)
            #expect(some.status == 0, "\(some.stderrText)")
            #expect(
                some.stdoutText == Self.okPrefix.dropLast() + "; 1 asset(s) found and matched their declared sha256; "
                    + "1 asset(s) not found there: their bytes were not fetched or compared.\n"
            )
            let json = try verify(["--json"], viaHome: viaHome)
            #expect(json.status == 0)
            #expect(try statuses(json) == ["ok", "unchecked"])
        }

        // 3. Named sources and --require-assets: the asset that is not there is a failure.
        for arguments in [["--store", store], ["--require-assets"], ["--assets", work]] {
            let named = try verify(arguments)
            #expect(named.status == 1, "\(arguments)")
            #expect(named.stderrText.contains("FAIL: asset remote-1 (s3://bucket/far.png?...): bytes missing"))
            #expect(!named.stderrText.contains("X-Amz-Signature"), "query is redacted")
            let json = try verify(["--json"] + arguments)
            #expect(json.status == 1)
            // With --assets the store in the working directory is still searched first.
            #expect(try statuses(json) == ["ok", "missing"], "\(arguments)")
        }

        // 4. The found store holds different bytes under the asset's digest: a failure, whoever chose the store.
        let object = store + "/objects/sha256/" + goodHex.prefix(2) + "/" + goodHex
        try FileManager.default.removeItem(atPath: object)
        try Data("bytes that were swapped".utf8).write(to: URL(fileURLWithPath: object))
        for viaHome in [false, true] {
            let bad = try verify([], viaHome: viaHome)
            #expect(bad.status == 1)
            #expect(bad.stderrText.contains("FAIL: asset local-1 (https://cdn.test/here.png): sha256 mismatch"))
            let json = try verify(["--json"], viaHome: viaHome)
            #expect(json.status == 1)
            #expect(try statuses(json) == ["mismatch", "unchecked"])
        }

        // --require-assets with no source at all is a usage error, and --hash-only cannot take it.
        let nowhere = try runCairn(["verify", "--require-assets", manifest])
        #expect(nowhere.status == 2)
        #expect(nowhere.stderrText.contains("no asset source"))
        #expect(try runCairn(["verify", "--hash-only", "--require-assets", manifest]).status == 2)
    }

    @Test("A store in the working directory or in CAIRN_HOME does not change genblaze's verdict on the vectors")
    func vectorsWithAStoreAround() throws {
        let work = try TemporaryDirectory()
        #expect(try runCairn(["init", "--store", work.appending(".cairn")]).status == 0)
        for (name, exit, output) in Self.cases {
            for result in [
                try runCairn(
                    ["verify", Self.vectors + "/cases/\(name).json"],
                    environment: ["CAIRN_HOME": ""],
                    currentDirectory: work.path
                ),
                try runCairn(
                    ["verify", Self.vectors + "/cases/\(name).json"],
                    environment: ["CAIRN_HOME": work.appending(".cairn")]
                ),
            ] {
                #expect(result.status == exit, "\(name): \(result.stderrText)")
                let first = (exit == 0 ? result.stdoutText : result.stderrText).split(separator: "\n").first
                if exit == 0 {
                    #expect(
                        first.map(String.init) == Self.okPrefix + " " + "Asset bytes were not fetched or compared; "
                            + "add --assets DIR or --store PATH to verify the media itself.",
                        "\(name)"
                    )
                } else {
                    #expect(first.map(String.init) == output, "\(name)")
                }
            }
        }
    }
}
