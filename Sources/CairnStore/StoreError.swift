public import CairnCore
public import SystemPackage
import _CairnSystem

/// A store operation that failed: what went wrong (`code`), where (`path`, `digest`) and why (`errno`).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// A short, stable identifier in snake_case, such as `not_found`.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// There is no store at the path (no `config.json`).
        public static let notAStore = Code("not_a_store")
        /// `create` found a store already there.
        public static let alreadyExists = Code("already_exists")
        /// `config.json` is unreadable, malformed or names an unsupported layout.
        public static let badConfiguration = Code("bad_configuration")
        /// The object is not in the store.
        public static let notFound = Code("not_found")
        /// The object's bytes do not hash to its digest.
        public static let corrupt = Code("corrupt")
        /// The object's file has a different size than was recorded when it was stored.
        public static let truncated = Code("truncated")
        /// The input cannot be stored (a directory, a missing file, an unreadable stream).
        public static let badInput = Code("bad_input")
        /// The digest uses another algorithm than the store.
        public static let wrongAlgorithm = Code("wrong_algorithm")
        /// Bytes given to a put with an expected digest hash to another digest; nothing was stored.
        public static let digestMismatch = Code("digest_mismatch")
        /// A system call failed (see `underlying`).
        public static let io = Code("io")

        /// The identifier.
        public var description: String { rawValue }
    }

    /// What went wrong.
    public var code: Code
    /// A short statement of what failed, without the path (for example "cannot read object").
    public var message: String
    /// The file or directory involved, if any.
    public var path: String?
    /// The object involved, if any.
    public var digest: Digest?
    /// What the system said, when a system call failed.
    public var errno: Errno?
    /// The backend's own error, when the failure came from a backend other than the local disk (an S3 reply
    /// with its status, code and request id, say).
    public var underlying: (any Error & Sendable)?

    /// Creates an error. Public so that an ``ObjectBackend`` written outside Cairn reports its failures with the
    /// codes of `spec/backends.md`.
    public init(
        code: Code,
        message: String,
        path: String? = nil,
        digest: Digest? = nil,
        errno: Errno? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.digest = digest
        self.errno = errno
        self.underlying = underlying
    }

    /// One line: the message, the digest and path when known, the system's text for `errno`, and the backend's
    /// error.
    public var description: String {
        var text = message
        if let digest { text += " \(digest)" }
        if let path { text += ": \(path)" }
        if let errno { text += ": \(errno)" }
        if let underlying { text += ": \(underlying)" }
        if let advice = errno?.advice, !text.contains(advice) { text += " (\(advice))" }
        return text
    }

    /// An error for a failed system call (`error` is a `SystemError`; `ENOENT` maps to `.notFound`).
    static func io(_ message: String, path: String, digest: Digest? = nil, _ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        let number = (error as? SystemError)?.errno
        let code: Code = number == .noSuchFileOrDirectory ? .notFound : .io
        return StoreError(code: code, message: message, path: path, digest: digest, errno: number)
    }

    /// An error for a failed system call while writing: always `.io`, since a path that vanished under a write
    /// (the store removed while it runs) means the write failed, not that an object is absent.
    static func writeFailed(_ message: String, path: String, _ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        return StoreError(code: .io, message: message, path: path, errno: (error as? SystemError)?.errno)
    }
}
