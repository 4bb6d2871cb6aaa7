public import Foundation

/// Whether this build of Cairn can keep a ledger in PostgreSQL (it was built with the `PostgreSQL` package trait).
public enum PostgresSupport {
    #if PostgreSQL
    /// True: this build has ``PostgresLedgerStorage``.
    public static let isAvailable = true
    #else
    /// False: this build was made without the `PostgreSQL` package trait.
    public static let isAvailable = false
    #endif

    /// What to tell a user whose build lacks PostgreSQL support.
    public static let missingSupportMessage =
        "this build of cairn lacks PostgreSQL support; build it with the PostgreSQL package trait: "
        + "swift build --traits PostgreSQL"
}

/// Where a PostgreSQL ledger lives: `postgres://USER@HOST:PORT/DATABASE?schema=NAME&sslmode=MODE`
/// (`spec/postgres.md`). A location never holds a password: credentials come from `PGPASSWORD` or a passfile.
public struct PostgresLedgerLocation: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS (libpq's `sslmode` names).
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP only.
        case disable
        /// TLS when the server offers it, plain TCP otherwise (libpq's default).
        case prefer
        /// TLS or nothing.
        case require
    }

    /// The server's host name or address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The database.
    public var database: String
    /// The role to connect as.
    public var user: String
    /// The PostgreSQL schema that holds this ledger's tables (one ledger per schema).
    public var schema: String
    /// How the connection uses TLS.
    public var tls: TLSMode

    /// The default schema name.
    public static let defaultSchema = "cairn"

    /// A location from its parts.
    ///
    /// - Throws: ``PostgresLedgerError`` `.badLocation` when the schema is not a plain lower-case SQL identifier.
    public init(
        host: String,
        port: Int = 5432,
        database: String,
        user: String,
        schema: String = PostgresLedgerLocation.defaultSchema,
        tls: TLSMode = .prefer
    ) throws {
        self.host = host
        self.port = port
        self.database = database
        self.user = user
        self.schema = schema
        self.tls = tls
        try Self.checkIdentifier(schema)
        guard (1...65535).contains(port) else {
            throw PostgresLedgerError(.badLocation, purpose: "reading the ledger URL", location: description)
        }
    }

    /// Parses `postgres://[USER@]HOST[:PORT]/DATABASE[?schema=NAME][&sslmode=disable|prefer|require]`
    /// (`postgresql://` too). Without a user, `PGUSER` from `environment` is used, else `postgres`.
    ///
    /// - Throws: ``PostgresLedgerError`` `.badLocation` for anything else, and for a URL that holds a password
    ///   (the message never repeats it).
    public init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func bad(_ why: String) -> PostgresLedgerError {
            PostgresLedgerError(.badLocation, purpose: "reading the ledger URL: \(why)", location: "a postgres:// URL")
        }
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw bad("it must start with postgres://")
        }
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else {
            throw bad("it names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        if parts.password != nil {
            throw bad("it holds a password; give it in PGPASSWORD or a passfile (~/.pgpass, PGPASSFILE) instead")
        }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw bad("it names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        var schema = Self.defaultSchema
        var tls = TLSMode.prefer
        for item in parts.queryItems ?? [] {
            switch item.name {
            case "schema":
                schema = item.value ?? ""
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw bad("sslmode must be disable, prefer or require")
                }
                tls = mode
            default:
                throw bad("unknown parameter \(item.name) (known: schema, sslmode)")
            }
        }
        let user = parts.user.flatMap { $0.isEmpty ? nil : $0 } ?? environment["PGUSER"] ?? "postgres"
        try self.init(
            host: host,
            port: parts.port ?? 5432,
            database: database.removingPercentEncoding ?? database,
            user: user.removingPercentEncoding ?? user,
            schema: schema,
            tls: tls
        )
    }

    static func checkIdentifier(_ name: String) throws {
        let allowed = name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        guard let first = name.utf8.first, first < 0x30 || first > 0x39, allowed, name.utf8.count <= 48 else {
            throw PostgresLedgerError(
                .badLocation,
                purpose:
                    "reading the ledger URL: schema \"\(name)\" is not a lower-case SQL identifier ([a-z_][a-z0-9_]*)",
                location: "a postgres:// URL"
            )
        }
    }

    /// `postgres://USER@HOST:PORT/DATABASE?schema=NAME` (no password: a location never has one).
    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(user)@\(hostPart):\(port)/\(database)"
        if schema != Self.defaultSchema { text += "?schema=\(schema)" }
        return text
    }

    /// `HOST:PORT/DATABASE`, the server as errors name it.
    public var server: String {
        "\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)"
    }
}

/// The password for a location, from the environment only (`spec/postgres.md`, "Credentials"): `PGPASSWORD`, else
/// the first matching line of the passfile (`PGPASSFILE`, else `~/.pgpass`), as libpq reads it. Nil: no password
/// (trust or peer authentication).
public enum PostgresCredentials {
    /// The password for `location`, or nil when neither `PGPASSWORD` nor a passfile line gives one.
    public static func password(
        for location: PostgresLedgerLocation,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let path =
            environment["PGPASSFILE"]
            ?? environment["HOME"].map { $0 + "/.pgpass" }
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        // libpq ignores a passfile that others may read.
        if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
            mode & 0o077 != 0
        {
            return nil
        }
        return passfileLookup(text, location: location)
    }

    /// The password of the first passfile line (`host:port:database:user:password`, `*` matches anything, `\:`
    /// and `\\` escape) that matches `location`.
    package static func passfileLookup(_ text: String, location: PostgresLedgerLocation) -> String? {
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            var fields: [String] = []
            var current = ""
            var escaped = false
            for character in line {
                if escaped {
                    current.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" && fields.count < 4 {
                    fields.append(current)
                    current = ""
                } else {
                    current.append(character)
                }
            }
            fields.append(current)
            guard fields.count == 5 else { continue }
            let wanted = [location.host, String(location.port), location.database, location.user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }
}

/// A failure of the PostgreSQL ledger: what the storage was doing, the server (`HOST:PORT/DATABASE`), and the
/// server's SQLSTATE and message when the server answered. It never holds a password.
public struct PostgresLedgerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// The ledger URL is malformed or holds a password.
        public static let badLocation = Code("bad_location")
        /// The server could not be reached, or the connection broke.
        public static let connection = Code("connection")
        /// The server refused the credentials (SQLSTATE class 28).
        public static let authentication = Code("authentication")
        /// The server refused or failed a statement; ``sqlState`` says why.
        public static let server = Code("server")
        /// The tables were made by a schema version this build does not know.
        public static let schemaVersion = Code("schema_version")
        /// The log moved under an exclusive access (another writer appended without the lock).
        public static let lostExclusive = Code("lost_exclusive")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What the storage was doing ("appending 5 entries", "reading the checkpoint").
    public var purpose: String
    /// The server, `HOST:PORT/DATABASE` (or the ledger URL without password).
    public var location: String
    /// The server's SQLSTATE (five characters), when the server answered with an error.
    public var sqlState: String?
    /// The server's message, or a description of the connection failure.
    public var detail: String?

    /// Creates an error.
    public init(_ code: Code, purpose: String, location: String, sqlState: String? = nil, detail: String? = nil) {
        self.code = code
        self.purpose = purpose
        self.location = location
        self.sqlState = sqlState
        self.detail = detail
    }

    /// `PostgreSQL at HOST:PORT/DB: PURPOSE failed (SQLSTATE XXXXX): DETAIL`.
    public var description: String {
        var text = "PostgreSQL at \(location): \(purpose) failed"
        if let sqlState { text += " (SQLSTATE \(sqlState))" }
        if let detail { text += ": \(detail)" }
        return text
    }
}
