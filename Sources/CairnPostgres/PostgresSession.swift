#if PostgreSQL
import CairnLedger
import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// One blocking connection to the server of a `PostgresLedgerLocation`, with its own one-thread event loop group:
/// connects on first use and again after a broken connection, and maps every failure onto
/// ``PostgresLedgerError`` (as ``PostgresLedgerStorage`` does). Not thread-safe: its owner serialises calls.
final class PostgresSession {
    let target: PostgresLedgerLocation
    private let password: String?
    private let group: MultiThreadedEventLoopGroup
    private let logger = Logger(label: "cairn.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private var connection: PostgresConnection?
    private var closed = false
    private var nextConnectionID = 0
    /// The `application_name` the server shows for this session.
    private let applicationName: String
    /// What a call after ``close()`` names as closed ("storage", "index").
    private let owner: String

    init(
        target: PostgresLedgerLocation,
        environment: [String: String],
        applicationName: String = "cairn-index",
        owner: String = "connection"
    ) {
        self.target = target
        self.applicationName = applicationName
        self.owner = owner
        password = PostgresCredentials.password(for: target, environment: environment)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    deinit { close() }

    /// Closes the connection and shuts the event loop group down.
    func close() {
        guard !closed else { return }
        closed = true
        if let connection { try? connection.close().wait() }
        connection = nil
        try? group.syncShutdownGracefully()
    }

    func fail(_ error: any Error, _ purpose: String) -> any Error {
        if error is PostgresLedgerError || error is LedgerError { return error }
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                let state = error.serverInfo?[.sqlState]
                var code: PostgresLedgerError.Code = state?.hasPrefix("28") == true ? .authentication : .server
                // Connection exceptions and an administrator's or crash shutdown end the session.
                if state?.hasPrefix("08") == true || state?.hasPrefix("57P") == true {
                    code = .connection
                    connection = nil
                }
                return PostgresLedgerError(
                    code,
                    purpose: purpose,
                    location: target.server,
                    sqlState: state,
                    detail: error.serverInfo?[.message]
                )
            case .authMechanismRequiresPassword:
                connection = nil
                return PostgresLedgerError(
                    .authentication,
                    purpose: purpose,
                    location: target.server,
                    detail: "the server asks for a password; set PGPASSWORD or add a line to the passfile"
                )
            default:
                connection = nil
                var detail = "\(error.code)"
                if let underlying = error.underlying { detail += ": \(underlying)" }
                return PostgresLedgerError(.connection, purpose: purpose, location: target.server, detail: detail)
            }
        }
        if error is PostgresDecodingError {
            return PostgresLedgerError(
                .server,
                purpose: purpose,
                location: target.server,
                detail: "a column has an unexpected type (are these Cairn's tables?)"
            )
        }
        connection = nil
        return PostgresLedgerError(.connection, purpose: purpose, location: target.server, detail: "\(error)")
    }

    private func connected() throws -> PostgresConnection {
        if let connection, !connection.isClosed { return connection }
        guard !closed else {
            throw PostgresLedgerError(.connection, purpose: "using a closed \(owner)", location: target.server)
        }
        let purpose = "connecting as \(target.user)"
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch target.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
        } catch {
            throw PostgresLedgerError(.connection, purpose: purpose, location: target.server, detail: "TLS: \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: target.host,
            port: target.port,
            username: target.user,
            password: password,
            database: target.database,
            tls: tls
        )
        configuration.options.connectTimeout = .seconds(10)
        configuration.options.additionalStartupParameters = [
            ("synchronous_commit", "on"), ("application_name", applicationName),
        ]
        nextConnectionID += 1
        do {
            let made = try PostgresConnection.connect(
                on: group.next(),
                configuration: configuration,
                id: nextConnectionID,
                logger: logger
            ).wait()
            connection = made
            return made
        } catch {
            throw fail(error, purpose)
        }
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    func run(_ purpose: String, _ query: PostgresQuery) throws -> [PostgresRow] {
        let connection = try connected()
        do {
            return try connection.query(query, logger: logger).wait().rows
        } catch {
            throw fail(error, purpose)
        }
    }

    /// Sends `queries` one after another, then waits for all: one wake-up of the calling thread instead of one per
    /// statement (postgres-nio runs them in order).
    @discardableResult
    func runPipelined(_ purpose: String, _ queries: [PostgresQuery]) throws -> [[PostgresRow]] {
        let connection = try connected()
        let futures = queries.map { connection.query($0, logger: logger) }
        var results: [[PostgresRow]] = []
        var failure: (any Error)?
        for future in futures {
            do {
                results.append(try future.wait().rows)
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw fail(failure, purpose) }
        return results
    }

    /// Sends a statement whose outcome nobody waits for (a ROLLBACK after a failure): the next statement on the
    /// connection runs after it.
    func send(_ query: PostgresQuery) {
        guard let connection, !connection.isClosed else { return }
        _ = connection.query(query, logger: logger)
    }

    func decode<T>(_ purpose: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw fail(error, purpose) }
    }

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    func transaction<R>(_ purpose: String, _ body: () throws -> R) throws -> R {
        try run(purpose, "BEGIN")
        do {
            let result = try body()
            try run(purpose, "COMMIT")
            return result
        } catch {
            send("ROLLBACK")
            throw error
        }
    }
}

/// A one-dimensional array parameter whose elements may be NULL (postgres-nio's arrays cannot hold one): the
/// binary array format with a length of -1 for each NULL element.
struct NullableArray<Element: PostgresArrayEncodable & PostgresNonThrowingEncodable>: PostgresNonThrowingEncodable {
    var values: [Element?]

    init(_ values: [Element?]) { self.values = values }

    static var psqlType: PostgresDataType { Element.psqlArrayType }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(values.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(values.contains { $0 == nil } ? 1 : 0, as: Int32.self)
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !values.isEmpty else { return }
        buffer.writeInteger(Int32(values.count))
        buffer.writeInteger(1, as: Int32.self)
        for value in values {
            guard let value else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            let lengthAt = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            value.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - lengthAt - 4), at: lengthAt)
        }
    }
}
#endif
