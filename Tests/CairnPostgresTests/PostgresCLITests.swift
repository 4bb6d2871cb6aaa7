import CairnLedger
import Foundation
import Testing
import _CairnTestSupport

/// `cairn init --ledger`, `cairn ledger export` and `import` (spec/postgres.md).
@Suite(.timeLimit(.minutes(15)))
struct PostgresCLITests {
    #if !PostgreSQL
    @Test func initWithAPostgresLedgerSaysTheBuildLacksPostgreSQLAndMakesNothing() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-pg-cli")
        let store = directory.appending("store")
        let result = try runCairn(["init", "--store", store, "--ledger", "postgres://cairn@127.0.0.1:5432/cairn"])
        #expect(result.status == 2)
        #expect(result.stderrText.contains("lacks PostgreSQL support"), "\(result.stderrText)")
        #expect(result.stderrText.contains("--traits PostgreSQL"))
        #expect(!FileManager.default.fileExists(atPath: store + "/config.json"))
    }
    #else
    static func checkpoint(_ store: String) throws -> (size: Int, root: String) {
        let result = try runCairn(["ledger", "checkpoint", "--json", "--store", store])
        #expect(result.status == 0, "\(result.stderrText)")
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        return ((object?["tree_size"] as? Int) ?? -1, (object?["root_hash"] as? String) ?? "")
    }

    @Test(.enabled(if: PostgresServer.url != nil, PostgresServer.skipReason))
    func aStoreWithAPostgresLedgerExportsAndImportsWithIdenticalRoots() throws {
        let first = PostgresServer.Scratch()
        let second = PostgresServer.Scratch()
        let directory = try TemporaryDirectory(prefix: "cairn-pg-cli")
        let a = directory.appending("a")
        let made = try runCairn(["init", "--store", a, "--ledger", first.url])
        #expect(made.status == 0, "\(made.stderrText)")
        let location = try String(contentsOfFile: a + "/ledger/location", encoding: .utf8)
        #expect(
            location.hasPrefix("postgres://")
                && !location.contains(ProcessInfo.processInfo.environment["PGPASSWORD"] ?? "\u{0}")
        )
        for value in ["one", "two", "three"] {
            let tagged = try runCairn(["ledger", "tag", "run-1", "step=\(value)", "--store", a])
            #expect(tagged.status == 0, "\(tagged.stderrText)")
        }
        let original = try Self.checkpoint(a)
        #expect(original.size == 3 && original.root.count == 64)
        // Nothing was written to local ledger files: the entries are in PostgreSQL.
        #expect(!FileManager.default.fileExists(atPath: a + "/ledger/entries.log"))

        let verified = try runCairn(["ledger", "verify", "--store", a])
        #expect(verified.status == 0 && verified.stdoutText.contains("OK: 3 entries"), "\(verified.stderrText)")

        // PostgreSQL to local files: the copy verifies offline with the same root and checkpoint.
        let copy = directory.appending("copy")
        let exported = try runCairn(["ledger", "export", copy + "/ledger", "--json", "--store", a])
        #expect(exported.status == 0, "\(exported.stderrText)")
        let verification = try Ledger.verify(storeRoot: copy)
        #expect(verification.isOK, "\(verification.problems)")
        #expect(verification.rootHash.hex == original.root && verification.checkpoint?.size == 3)

        // Local files into an empty PostgreSQL ledger, and a PostgreSQL ledger into a local store.
        let b = directory.appending("b")
        #expect(try runCairn(["init", "--store", b, "--ledger", second.url]).status == 0)
        let imported = try runCairn(["ledger", "import", copy + "/ledger", "--store", b])
        #expect(imported.status == 0, "\(imported.stderrText)")
        let c = directory.appending("c")
        #expect(try runCairn(["init", "--store", c]).status == 0)
        let pulled = try runCairn(["ledger", "import", second.url, "--store", c])
        #expect(pulled.status == 0, "\(pulled.stderrText)")
        for store in [b, c] {
            let seen = try Self.checkpoint(store)
            #expect(seen.size == original.size && seen.root == original.root, "\(store)")
        }
        // A ledger that is not empty is never overwritten.
        let again = try runCairn(["ledger", "import", first.url, "--store", c])
        #expect(again.status == 2 && again.stderrText.contains("already holds a ledger"), "\(again.stderrText)")
    }
    #endif
}
