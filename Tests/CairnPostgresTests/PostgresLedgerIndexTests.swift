#if PostgreSQL
import CairnCore
import CairnLedger
import CairnManifest
import CairnPostgres
import CairnStore
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

/// The lineage index in PostgreSQL (spec/postgres.md, "Lineage index") against a real server.
@Suite(.enabled(if: PostgresServer.url != nil, PostgresServer.skipReason), .timeLimit(.minutes(15)))
struct PostgresLedgerIndexTests {
    @Test func passesTheLedgerIndexContract() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-index")
        try LedgerIndexConformance.run(directory: directory.path) { try PostgresLedgerIndex(url: scratch.url) }
    }

    @Test func aLedgerInPostgreSQLKeepsItsIndexThereForEveryHost() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-index-hosts")
        let location = try PostgresLedgerLocation(url: scratch.url)
        let storeA = try ObjectStore.create(at: directory.appending("a"))
        let storeB = try ObjectStore.create(at: directory.appending("b"))
        let a = try Ledger.open(
            objects: storeA,
            storage: try scratch.open(),
            root: storeA.root,
            index: .postgres(location)
        )
        try a.appendTag(runID: "run-1", key: "selected", value: .bool(true))
        #expect(try a.tags(runID: "run-1").map(\.value) == ["true"])
        // The second host opens the same ledger and index: it finds the entry indexed and indexes nothing again.
        let b = try Ledger.open(
            objects: storeB,
            storage: try scratch.open(),
            root: storeB.root,
            index: .postgres(location)
        )
        let index = try PostgresLedgerIndex(location: location)
        #expect(try index.indexedEntries() == 1)
        try b.appendTag(runID: "run-1", key: "selected", value: .bool(false))
        #expect(try a.tags(runID: "run-1").map(\.value) == ["false"])
        #expect(try index.indexedEntries() == 2)
        #expect(try index.rowCounts()["tags"] == 2)
        // No host keeps a local index file.
        #expect(!FileManager.default.fileExists(atPath: storeA.root + "/index.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: storeB.root + "/index.sqlite"))
        #expect(try b.reindex() == 2)
        #expect(try index.rowCounts()["tags"] == 2)
    }

    @Test func theDocumentedViewsAnswerThroughPsql() throws {
        let bin = try #require(ProcessInfo.processInfo.environment["CAIRN_PG_BIN"], "CAIRN_PG_BIN (pg-server.sh env)")
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-index-views")
        let location = try PostgresLedgerLocation(url: scratch.url)
        let store = try ObjectStore.create(at: directory.appending("store"))
        let ledger = try Ledger.open(
            objects: store,
            storage: try scratch.open(),
            root: store.root,
            index: .postgres(location)
        )
        let d = try (0..<3).map { try store.put(Array("view object \($0)".utf8)).digest }
        try ledger.appendManifest(
            bytes: try LedgerIndexConformance.manifest(
                "v0",
                parent: nil,
                name: "root",
                steps: [([d[0]], [d[1], d[2]])]
            )
        )
        try ledger.appendManifest(
            bytes: try LedgerIndexConformance.manifest("v1", parent: "v0", name: "child", steps: [([d[1]], [])])
        )
        try ledger.updateIndex()
        func psql(_ sql: String) throws -> [String] {
            let result = try runProcess(
                bin + "/psql",
                [
                    "-h", location.host, "-p", String(location.port), "-U", location.user, "-d", location.database,
                    "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql,
                ]
            )
            #expect(result.status == 0, "\(result.stderrText)")
            return result.stdoutText.split(separator: "\n").map(String.init)
        }
        let s = location.schema
        #expect(
            try psql("SELECT run_id, parent_run_id, name, status, entry_index FROM \(s).runs ORDER BY entry_index")
                == ["v0||root|succeeded|0", "v1|v0|child|succeeded|1"]
        )
        #expect(
            try psql("SELECT run_id, step_index, provider, modality FROM \(s).steps ORDER BY run_id") == [
                "v0|0|p1|image", "v1|0|p1|image",
            ]
        )
        #expect(
            try psql("SELECT run_id, role, position, sha256 FROM \(s).assets ORDER BY run_id, role, position")
                == [
                    "v0|input|0|\(d[0].hex)", "v0|output|0|\(d[1].hex)", "v0|output|1|\(d[2].hex)",
                    "v1|input|0|\(d[1].hex)",
                ]
        )
        #expect(
            Set(try psql("SELECT kind, from_id, to_id FROM \(s).edges"))
                == ["derived|\(d[0])|\(d[1])", "derived|\(d[0])|\(d[2])", "parent|v0|v1"]
        )
    }

    @Test func theCLIUsesTheSharedIndexAndReindexRebuildsIt() throws {
        let scratch = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-index-cli")
        let a = directory.appending("a")
        let b = directory.appending("b")
        for store in [a, b] {
            let made = try runCairn(["init", "--store", store, "--ledger", scratch.url])
            #expect(made.status == 0, "\(made.stderrText)")
        }
        // Hosts that append to one ledger share its signing key (spec/postgres.md, "Keys").
        for name in ["key", "key.pub"] {
            try FileManager.default.removeItem(atPath: b + "/ledger/" + name)
            try FileManager.default.copyItem(atPath: a + "/ledger/" + name, toPath: b + "/ledger/" + name)
        }
        for value in ["one", "two", "three"] {
            let tagged = try runCairn(["ledger", "tag", "run-1", "step=\"\(value)\"", "--store", a])
            #expect(tagged.status == 0, "\(tagged.stderrText)")
        }
        let reindexed = try runCairn(["ledger", "reindex", "--json", "--store", b])
        #expect(reindexed.status == 0, "\(reindexed.stderrText)")
        #expect(reindexed.stdoutText.contains("\"entries\":3"), "\(reindexed.stdoutText)")
        let index = try PostgresLedgerIndex(url: scratch.url)
        #expect(try index.indexedEntries() == 3)
        #expect(try index.tags(runID: "run-1").map(\.value) == ["\"three\""])
        #expect(try index.rowCounts()["tags"] == 3)
        #expect(!FileManager.default.fileExists(atPath: a + "/index.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: b + "/index.sqlite"))
    }
}
#endif
