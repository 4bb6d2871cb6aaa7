public import CairnCore
public import CairnLedger
public import CairnStore
import Foundation
public import _CairnTestSupport

#if S3
import CairnS3
#endif
#if PostgreSQL
import CairnPostgres
#endif

/// Where the store, ledger and pipeline suites keep their objects and their ledger: the local store and files
/// always, and the scale-out backends of spec/backends.md when this build has their trait and their server's
/// variables are set (`scripts/test.sh` with `CAIRN_SERVER_TESTS=1`):
///
/// | name | objects | ledger |
/// |---|---|---|
/// | `local` | a local ``ObjectStore`` | the local files |
/// | `s3` | an S3 bucket (`CAIRN_S3_ENDPOINT`, `CAIRN_S3_BUCKET`, `AWS_*`) | the local files |
/// | `postgres` | a local ``ObjectStore`` | PostgreSQL (`CAIRN_PG_URL`) |
/// | `s3+postgres` | an S3 bucket | PostgreSQL |
///
/// A suite's test takes one as its argument (`@Test(arguments: TestBackend.available)`), so without servers it runs
/// once, on `local`, and with them once per backend. Each ``make(algorithm:durability:)`` gets a namespace of its
/// own (a fresh key prefix in the bucket, a fresh PostgreSQL schema), removed when the instance goes.
public struct TestBackend: Sendable, Hashable, CustomStringConvertible {
    /// Objects in an S3 bucket rather than a local store.
    public let s3Objects: Bool
    /// The ledger in PostgreSQL rather than local files.
    public let postgresLedger: Bool

    /// `local`, `s3`, `postgres` or `s3+postgres`.
    public var description: String {
        switch (s3Objects, postgresLedger) {
        case (false, false): "local"
        case (true, false): "s3"
        case (false, true): "postgres"
        case (true, true): "s3+postgres"
        }
    }

    /// The local store and ledger files.
    public static let local = TestBackend(s3Objects: false, postgresLedger: false)

    /// Every backend this build and environment can run: `local`, then those whose trait is built and whose server
    /// is named in the environment. `CAIRN_TEST_BACKENDS` (a comma-separated list of names) narrows it.
    public static let available: [TestBackend] = {
        var backends = [local]
        let s3 = S3TestServer.environment != nil
        let postgres = PostgresTestServer.url != nil
        if s3 { backends.append(TestBackend(s3Objects: true, postgresLedger: false)) }
        if postgres { backends.append(TestBackend(s3Objects: false, postgresLedger: true)) }
        if s3 && postgres { backends.append(TestBackend(s3Objects: true, postgresLedger: true)) }
        if let only = ProcessInfo.processInfo.environment["CAIRN_TEST_BACKENDS"] {
            let names = Set(only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            backends = backends.filter { names.contains($0.description) }
        }
        return backends
    }()

    /// The available backends whose objects are in a local store (`local`, `postgres`): for tests of what the local
    /// store promises beyond the contract (a size recorded at ingest, say).
    public static var withLocalObjects: [TestBackend] { available.filter { !$0.s3Objects } }

    /// A fresh, empty instance: objects in `algorithm` (a local store with `durability`), and a ledger opened on
    /// demand with ``BackendInstance/openLedger()``.
    public func make(algorithm: DigestAlgorithm = .sha256, durability: Durability = .object) throws -> BackendInstance {
        try BackendInstance(self, algorithm: algorithm, durability: durability)
    }
}

/// One test's objects and ledger on a ``TestBackend``, in a namespace of their own that is removed when the value
/// goes: the temporary directory, the objects under the bucket prefix, the PostgreSQL schema.
public final class BackendInstance: @unchecked Sendable {
    // Invariant: `opened` is guarded by `lock`; everything else is set once in init.
    /// The backend this instance runs on.
    public let backend: TestBackend
    /// The test's temporary directory: the store root and any files the test writes.
    public let directory: TemporaryDirectory
    /// The folder the ledger's key and index (and the pipeline's step cache) live in: the local store's root, or
    /// `directory/store` when the objects are in S3.
    public let root: String
    /// The objects.
    public let objects: any ObjectBackend
    /// The local store, when the objects are local (tests that also look at its files).
    public let localStore: ObjectStore?
    private let cleanUp: @Sendable () -> Void
    private let damage: @Sendable (Digest, [UInt8]) throws -> Void
    private let makeStorage: @Sendable () throws -> (any LedgerStorage)?
    private let closeStorage: @Sendable (any LedgerStorage) -> Void
    private let lock = NSLock()
    private var opened: [any LedgerStorage] = []

    init(_ backend: TestBackend, algorithm: DigestAlgorithm, durability: Durability) throws {
        self.backend = backend
        let directory = try TemporaryDirectory(prefix: "cairn-backend")
        self.directory = directory
        var cleanUps: [@Sendable () -> Void] = []
        if backend.s3Objects {
            #if S3
            let server = try S3TestServer.require()
            let prefix = "cairn-tests/suite-\(UInt64.random(in: 0...UInt64.max))"
            let s3 = try S3ObjectBackend(
                configuration: S3BackendConfiguration(
                    location: S3Location(bucket: server.bucket, prefix: prefix, endpoint: server.endpoint),
                    algorithm: algorithm
                )
            )
            objects = s3
            localStore = nil
            damage = { try s3.overwriteStoredBytes(of: $0, with: $1) }
            root = directory.appending("store")
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            cleanUps.append {
                // Best effort: a bucket that went away leaves nothing of this process behind to clean.
                if let digests = try? s3.list() { for digest in digests { _ = try? s3.remove(digest) } }
                s3.shutdown()
            }
            #else
            throw BackendUnavailable(description: "this build has no S3 trait")
            #endif
        } else {
            let store = try ObjectStore.create(
                at: directory.appending("store"),
                algorithm: algorithm,
                durability: durability
            )
            objects = store
            localStore = store
            root = store.root
            damage = { digest, bytes in
                // Rewrite the object's file in place, as a disk error or a hand edit would: its size recorded at
                // ingest (`user.cairn.size`, spec/store.md) stays, so other bytes of another length are a cut.
                let path = store.objectPath(for: digest)
                try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
                let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
                defer { try? handle.close() }
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: bytes)
            }
        }
        if backend.postgresLedger {
            #if PostgreSQL
            let base = try PostgresTestServer.require()
            let schema = "t_" + (0..<6).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            let url = base + (base.contains("?") ? "&" : "?") + "schema=\(schema)"
            makeStorage = { try PostgresLedgerStorage(url: url) }
            closeStorage = { ($0 as? PostgresLedgerStorage)?.close() }
            cleanUps.append {
                if let storage = try? PostgresLedgerStorage(url: url) {
                    try? storage.dropSchema()
                    storage.close()
                }
            }
            #else
            throw BackendUnavailable(description: "this build has no PostgreSQL trait")
            #endif
        } else {
            makeStorage = { nil }
            closeStorage = { _ in }
        }
        let steps = cleanUps
        cleanUp = { for step in steps.reversed() { step() } }
    }

    /// The local store; throws for objects in a bucket (for tests that run only on local objects).
    public func requireLocalStore() throws -> ObjectStore {
        guard let localStore else { throw BackendUnavailable(description: "the objects of \(backend) are not local") }
        return localStore
    }

    /// A new instance of this backend's ledger storage (a new connection for PostgreSQL; nil for the local files,
    /// which `Ledger.open(objects:root:)` keeps in `root/ledger`). Closed when this value goes.
    public func openStorage() throws -> (any LedgerStorage)? {
        guard let storage = try makeStorage() else { return nil }
        lock.withLock { opened.append(storage) }
        return storage
    }

    /// The ledger over ``objects``: a new ``Ledger`` (with its own storage connection) on each call, all of them
    /// on the same log, as separate processes would be.
    public func openLedger() throws -> Ledger {
        if let storage = try openStorage() {
            return try Ledger.open(objects: objects, storage: storage, root: root)
        }
        return try Ledger.open(objects: objects, root: root)
    }

    /// The ledger storage the ledger writes: this backend's, or the local files in `root/ledger`.
    public func ledgerStorage() throws -> any LedgerStorage {
        try openStorage() ?? Ledger.localStorage(directory: root + "/ledger")
    }

    /// Replaces the stored bytes of object `digest` with `bytes` behind the backend's back (a disk error, a hand
    /// edit, a bucket written by something else), for tests of what verified reads and their callers do then.
    public func damageObject(_ digest: Digest, with bytes: [UInt8]) throws {
        try damage(digest, bytes)
    }

    /// `cairn ledger verify` as a library call: recomputes every leaf, the tree and the checkpoint signature from
    /// the entries, and checks every manifest body is in ``objects``. A ledger kept elsewhere (PostgreSQL) is copied
    /// into local files first, with the key that signed it, as the command does.
    public func verifyLedger() throws -> LedgerVerification {
        guard let storage = try openStorage() else { return try Ledger.verify(storeRoot: root, objects: objects) }
        let copy = try TemporaryDirectory(prefix: "cairn-backend-verify")
        try Ledger.transfer(from: storage, to: try Ledger.localStorage(directory: copy.appending("ledger")))
        try FileManager.default.copyItem(atPath: root + "/ledger/key.pub", toPath: copy.appending("ledger/key.pub"))
        return try Ledger.verify(storeRoot: copy.path, objects: objects)
    }

    deinit {
        for storage in lock.withLock({ opened }) { closeStorage(storage) }
        cleanUp()
    }
}

/// A backend was asked for that this build cannot make.
public struct BackendUnavailable: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// The S3 server of `scripts/s3-server.sh env`: `CAIRN_S3_ENDPOINT`, `CAIRN_S3_BUCKET` and the `AWS_*` credentials.
/// Nil in a build without the S3 trait.
enum S3TestServer {
    struct Environment {
        var endpoint: String
        var bucket: String
    }

    static let environment: Environment? = {
        #if S3
        let variables = ProcessInfo.processInfo.environment
        guard let endpoint = variables["CAIRN_S3_ENDPOINT"], let bucket = variables["CAIRN_S3_BUCKET"],
            variables["AWS_ACCESS_KEY_ID"] != nil, variables["AWS_SECRET_ACCESS_KEY"] != nil
        else { return nil }
        return Environment(endpoint: endpoint, bucket: bucket)
        #else
        return nil
        #endif
    }()

    static func require() throws -> Environment {
        guard let environment else {
            throw BackendUnavailable(description: "CAIRN_S3_ENDPOINT, CAIRN_S3_BUCKET or AWS_* are not set")
        }
        return environment
    }
}

/// The PostgreSQL server of `scripts/pg-server.sh env`: `CAIRN_PG_URL` (and `PGPASSWORD`). Nil in a build without
/// the PostgreSQL trait.
enum PostgresTestServer {
    static let url: String? = {
        #if PostgreSQL
        return ProcessInfo.processInfo.environment["CAIRN_PG_URL"]
        #else
        return nil
        #endif
    }()

    static func require() throws -> String {
        guard let url else { throw BackendUnavailable(description: "CAIRN_PG_URL is not set") }
        return url
    }
}
