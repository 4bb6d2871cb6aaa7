/// Why a pipeline could not be built or run (as opposed to a run that ran and failed, which is a ``RunResult``).
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, in snake_case.
        public let rawValue: String
        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The pipeline description is invalid (a name, a dependency, a field); nothing was run or appended.
        public static let invalidPipeline = Code("invalid_pipeline")
        /// The pipeline file could not be read or parsed; nothing was run or appended.
        public static let invalidFile = Code("invalid_file")
        /// The store failed (an output could not be stored or read back).
        public static let store = Code("store")
        /// The ledger failed (a receipt or manifest could not be appended or read).
        public static let ledger = Code("ledger")
        /// A run or artifact the pipeline refers to does not exist.
        public static let notFound = Code("not_found")

        /// The code's name.
        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A message naming the field, file, line, step, run or digest concerned.
    public var message: String
    /// The underlying error.
    public var underlying: (any Error)?

    /// Creates an error.
    package init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String {
        guard let underlying else { return message }
        return "\(message): \(underlying)"
    }
}
