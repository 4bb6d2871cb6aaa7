public import SystemPackage
import _CairnSystem

/// A failure of the ledger: a code, a message naming the file, entry index, run or digest, and the cause.
public struct LedgerError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }

        /// A caller passed a value out of range (an index past the tree, a bad size).
        public static let invalidArgument = Code("invalid_argument")
        /// A system call failed; `underlying` holds the errno.
        public static let io = Code("io")
        /// The log holds a record that fails its checksum or framing and is not a torn tail.
        public static let corruptLog = Code("corrupt_log")
        /// An entry's bytes are not a valid ledger entry.
        public static let invalidEntry = Code("invalid_entry")
        /// A Merkle proof does not have the shape its position requires, or does not verify.
        public static let proofInvalid = Code("proof_invalid")
        /// A signed note or checkpoint is malformed or its signature fails.
        public static let signatureInvalid = Code("signature_invalid")
        /// A key file is missing or malformed.
        public static let keyInvalid = Code("key_invalid")
        /// No such run, entry or object.
        public static let notFound = Code("not_found")
        /// The derived index could not be read or written.
        public static let index = Code("index")
        /// Garbage collection refused to run (an unreadable root).
        public static let gcRefused = Code("gc_refused")
        /// A manifest failed verification (it was read, and a check failed).
        public static let manifestInvalid = Code("manifest_invalid")
        /// Bytes that are not a manifest at all: not JSON, not an object, missing the run or its identifiers.
        public static let manifestMalformed = Code("manifest_malformed")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// A message naming the path, index, run or digest involved.
    public var message: String
    /// What the system said, when a system call failed.
    public var errno: Errno?
    /// The error that caused this one, if any.
    public var underlying: (any Error & Sendable)?

    /// Creates an error. Public so that a ``LedgerStorage`` written outside Cairn reports its failures with the
    /// codes of `spec/backends.md`.
    public init(_ code: Code, _ message: String, errno: Errno? = nil, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.underlying = underlying
    }

    /// The message, with the errno text or the underlying error when there is one.
    public var description: String {
        var text = message
        if let errno { text += ": \(errno)" }
        if let underlying { text += ": \(underlying)" }
        if let advice = errno?.advice, !text.contains(advice) { text += " (\(advice))" }
        return text
    }
}
