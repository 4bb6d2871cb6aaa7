import Foundation
import Testing
import _CairnTestSupport

/// One hostile input for the `cairn` binary and what it must say.
struct ResourceBomb: Sendable, CustomStringConvertible {
    /// A short name, also the file's name.
    var name: String
    /// The verbs it is fed to: `verify` and `import` for JSON, `run` for pipeline files.
    var verbs: [String]
    /// Fragments the error must contain: the problem and, for reader errors, the position.
    var expected: [String]
    /// Writes the file.
    var make: @Sendable (String) throws -> Void

    var description: String { name }

    /// Writes `chunks` one after the other, so a 100 MB file never sits whole in the test's memory twice.
    static func write(_ path: String, _ chunks: [(String, Int)]) throws {
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        for (text, times) in chunks {
            // About 1 MiB per write.
            let perBlock = max(1, min(times, (1 << 20) / max(1, text.utf8.count)))
            let block = Data(String(repeating: text, count: perBlock).utf8)
            var left = times
            while left > 0 {
                let count = min(left, perBlock)
                try handle.write(
                    contentsOf: count == perBlock ? block : Data(String(repeating: text, count: count).utf8)
                )
                left -= count
            }
        }
    }

    static let json = ["verify", "import"]

    /// The bombs of RELIABILITY.md; Benchmarks/compare/bombs.sh times the same shapes beside Python's json.
    static let all: [ResourceBomb] = [
        ResourceBomb(name: "deep.json", verbs: json, expected: ["line 1, column 1001", "nesting deeper than 1000"]) {
            try write($0, [("[", 10_000), ("]", 10_000)])
        },
        // 2^70 is valid JSON (Python reads it exactly); the reader keeps it and the manifest check refuses the file.
        ResourceBomb(name: "bigint.json", verbs: json, expected: ["ValidationError", "run", "Field required"]) {
            try write($0, [("{\"n\": 1180591620717411303424}", 1)])  // 2^70
        },
        ResourceBomb(
            name: "hugeint.json",
            verbs: json,
            expected: ["line 1, column 7", "more than Python's limit of 4300"]
        ) {
            try write($0, [("{\"n\": ", 1), ("9", 100_000), ("}", 1)])
        },
        ResourceBomb(name: "bigstring.json", verbs: json, expected: ["ValidationError", "run", "Field required"]) {
            try write($0, [("{\"s\": \"", 1), ("a", 100 << 20), ("\"}", 1)])
        },
        ResourceBomb(
            name: "array.json",
            verbs: json,
            expected: ["manifest must be a JSON object, got list"]
        ) { try write($0, [("[", 1), ("0,", 999_999), ("0]", 1)]) },
        ResourceBomb(name: "keys.json", verbs: json, expected: ["ValidationError", "run", "Field required"]) {
            try write($0, [("{", 1), (#""k": 0, "#, 199_999), (#""k": 1}"#, 1)])  // the last of 200,000 wins
        },
        ResourceBomb(name: "nan.json", verbs: json, expected: ["ValidationError", "run", "Field required"]) {
            try write($0, [("{\"x\": NaN, \"y\": -Infinity}", 1)])
        },
        ResourceBomb(name: "bom.json", verbs: json, expected: ["line 1, column 1 (byte 0)", "byte order mark"]) {
            try write($0, [("\u{FEFF}{\"schema_version\": \"1.0\"}", 1)])
        },
        ResourceBomb(
            name: "surrogate.json",
            verbs: json,
            expected: ["line 1, column 2 (byte 1)", "unpaired surrogate"]
        ) { try write($0, [("{\"\\ud800\": 1}", 1)]) },
        ResourceBomb(name: "cycle.yaml", verbs: ["run"], expected: ["stages a, b depend on each other in a cycle"]) {
            try write($0, [(pipeline(stages: [("a", "b"), ("b", "a")]), 1)])
        },
        ResourceBomb(name: "self.yaml", verbs: ["run"], expected: ["stage a depends on itself"]) {
            try write($0, [(pipeline(stages: [("a", "a")]), 1)])
        },
        ResourceBomb(name: "deep.yaml", verbs: ["run"], expected: ["line 2, column", "nesting level"]) {
            try write($0, [("name: deep\nmetadata: {a: ", 1), ("[", 10_000), ("]", 10_000), ("}\n", 1)])
        },
        ResourceBomb(name: "aliases.yaml", verbs: ["run"], expected: ["more than 1000000 YAML nodes", "alias"]) {
            try write($0, [(laughs(), 1)])
        },
    ]

    /// A pipeline file with one step per stage and the given (stage, depends_on) pairs.
    static func pipeline(stages: [(String, String)]) -> String {
        var text = "name: cyclic\nstages:\n"
        for (name, dependsOn) in stages {
            text += "  - name: \(name)\n    depends_on: [\(dependsOn)]\n    steps:\n"
            text += "      - {name: step-\(name), model: text-v1, prompt: x, modality: text}\n"
        }
        return text
    }

    /// "Billion laughs": nine levels of anchors, each nine aliases of the one before (9^9 strings once expanded).
    static func laughs() -> String {
        var text = "name: laughs\nmetadata:\n  l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        for level in 1...8 {
            text += "  l\(level): &l\(level) [" + Array(repeating: "*l\(level - 1)", count: 9).joined(separator: ", ")
            text += "]\n"
        }
        return text + "steps:\n  - {name: one, model: text-v1, prompt: x, modality: text}\n"
    }
}

/// Hostile input (RELIABILITY.md, "Hostile input"): each bomb fed to the `cairn` binary in a child process ends in
/// exit 2 with a typed error naming the problem (and, from the JSON reader, the position), leaves the store as it
/// was, and stays within a memory bound. The bound is generous on purpose (debug build, allocator slack): peak RSS
/// below 4 × the input's size + 160 MiB. Times are measured by Benchmarks/compare/bombs.sh, never asserted here.
@Suite(.timeLimit(.minutes(15)))
struct ResourceBombTests {
    /// Every file under `path` with its bytes, to tell a changed store from an unchanged one. The SQLite index is
    /// left out: it is derived from the ledger, and opening it may rewrite its pages.
    static func snapshot(_ path: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        guard let walker = FileManager.default.enumerator(atPath: path) else { return files }
        for case let relative as String in walker where !relative.hasPrefix("index.sqlite") {
            let full = path + "/" + relative
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return files
    }

    @Test(arguments: ResourceBomb.all)
    func bombIsRefusedWithinBounds(_ bomb: ResourceBomb) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/time"),
            "GNU time measures the peak RSS: apt-get install time (scripts/setup.sh does)"
        )
        let cli = try CLIStore()
        let path = cli.directory.appending(bomb.name)
        try bomb.make(path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        // The ledger's files are made the first time a verb opens it; make them before taking the snapshot.
        let opened = try cli.run(["ledger", "verify"])
        #expect(opened.status == 0, "\(opened.stderrText)")
        let before = try Self.snapshot(cli.storePath)
        #expect(!before.isEmpty)
        for verb in bomb.verbs {
            let arguments = verb == "verify" ? [verb, path] : [verb, "--store", cli.storePath, path]
            let result = try runProcess(
                "/usr/bin/time",
                ["-f", "maxrss=%M", cairnExecutablePath()] + arguments,
                environment: ["CAIRN_HOME": cli.directory.appending("no-store")],
                currentDirectory: cli.directory.path
            )
            #expect(result.status == 2, "\(verb) \(bomb.name): \(result.stderrText)")
            for fragment in bomb.expected {
                #expect(result.stderrText.contains(fragment), "\(verb) \(bomb.name): \(result.stderrText)")
            }
            let line = result.stderrText.split(separator: "\n").last { $0.hasPrefix("maxrss=") }
            let kilobytes = try #require(line.flatMap { Int($0.dropFirst("maxrss=".count)) })
            let bound = (4 * size + (160 << 20)) / 1024
            #expect(kilobytes < bound, "\(verb) \(bomb.name): peak RSS \(kilobytes) KiB, bound \(bound) KiB")
            #expect(try Self.snapshot(cli.storePath) == before, "\(verb) \(bomb.name) changed the store")
        }
        let after = try cli.run(["ledger", "verify"])
        #expect(after.status == 0 && after.stdoutText.hasPrefix("OK: 0 entries"), "\(after.stdoutText)")
    }
}
