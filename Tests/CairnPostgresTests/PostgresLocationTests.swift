import CairnPostgres
import Foundation
import Testing

/// Ledger URLs, the passfile and error messages (spec/postgres.md): no server needed, run in every build.
@Suite(.timeLimit(.minutes(15)))
struct PostgresLocationTests {
    @Test func aURLNamesHostPortDatabaseUserAndSchema() throws {
        let location = try PostgresLedgerLocation(url: "postgres://alice@db.example:6543/ledgers?schema=team_a")
        #expect(location.host == "db.example")
        #expect(location.port == 6543)
        #expect(location.database == "ledgers")
        #expect(location.user == "alice")
        #expect(location.schema == "team_a")
        #expect(location.tls == .prefer)
        #expect(location.description == "postgres://alice@db.example:6543/ledgers?schema=team_a")
    }

    @Test func defaultsComeFromTheEnvironmentAndLibpq() throws {
        let location = try PostgresLedgerLocation(
            url: "postgresql://127.0.0.1/cairn?sslmode=disable",
            environment: ["PGUSER": "bob"]
        )
        #expect(location.port == 5432 && location.user == "bob" && location.schema == "cairn")
        #expect(location.tls == .disable)
    }

    @Test(arguments: [
        "http://host/db", "postgres:///db", "postgres://host", "postgres://host/", "postgres://host/db?schema=Bad",
        "postgres://host/db?schema=1a", "postgres://host/db?sslmode=verify-full", "postgres://host/db?user=x",
    ])
    func malformedURLsAreRefused(url: String) {
        #expect {
            _ = try PostgresLedgerLocation(url: url, environment: [:])
        } throws: { error in
            (error as? PostgresLedgerError)?.code == .badLocation
        }
    }

    @Test func aPasswordInTheURLIsRefusedWithoutRepeatingIt() {
        #expect {
            _ = try PostgresLedgerLocation(url: "postgres://alice:s3cret-pw@host:5432/db", environment: [:])
        } throws: { error in
            let text = "\(error)"
            return (error as? PostgresLedgerError)?.code == .badLocation && !text.contains("s3cret-pw")
                && text.contains("PGPASSWORD")
        }
    }

    @Test func passwordsComeFromPGPASSWORDThenThePassfile() throws {
        let location = try PostgresLedgerLocation(url: "postgres://cairn@127.0.0.1:5433/ledger", environment: [:])
        #expect(PostgresCredentials.password(for: location, environment: ["PGPASSWORD": "from-env"]) == "from-env")
        let passfile = """
            # comment
            otherhost:5433:ledger:cairn:wrong
            127.0.0.1:5432:ledger:cairn:wrong-port
            127.0.0.1:*:ledger:cairn:pa\\:ss\\\\word
            *:*:*:*:fallback
            """
        #expect(PostgresCredentials.passfileLookup(passfile, location: location) == "pa:ss\\word")
        let other = try PostgresLedgerLocation(url: "postgres://x@elsewhere/db", environment: [:])
        #expect(PostgresCredentials.passfileLookup(passfile, location: other) == "fallback")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-pgpass-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("pgpass").path
        try Data(passfile.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(PostgresCredentials.password(for: location, environment: ["PGPASSFILE": path]) == "pa:ss\\word")
        // libpq ignores a passfile that others may read, and so does Cairn.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        #expect(PostgresCredentials.password(for: location, environment: ["PGPASSFILE": path]) == nil)
    }

    @Test func errorsNameThePurposeServerAndSQLState() {
        let error = PostgresLedgerError(
            .server,
            purpose: "appending 3 entries at index 7",
            location: "127.0.0.1:5432/cairn",
            sqlState: "42501",
            detail: "permission denied for table entries"
        )
        #expect(
            error.description
                == "PostgreSQL at 127.0.0.1:5432/cairn: appending 3 entries at index 7 failed (SQLSTATE 42501): "
                + "permission denied for table entries"
        )
    }

    @Test func theBuildSaysWhetherItHasPostgreSQL() {
        #if PostgreSQL
        #expect(PostgresSupport.isAvailable)
        #else
        #expect(!PostgresSupport.isAvailable)
        #expect(PostgresSupport.missingSupportMessage.contains("--traits PostgreSQL"))
        #endif
    }
}
