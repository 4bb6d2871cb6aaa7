package import SystemPackage

/// A system call that failed: which call, on which path (when it had one), and the `Errno` it returned.
///
/// Every error that comes from the operating system reaches the layers above as one of these; each layer wraps it
/// in its own typed error (`StoreError`, `LedgerError`, `PipelineError`) with the path and the errno kept.
package struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The call, as a verb: "open", "read", "fsync", "rename", ...
    package var operation: String
    /// The path the call was about, when it had one (calls on a descriptor may leave it nil).
    package var path: String?
    /// What the system said.
    package var errno: Errno

    package init(_ operation: String, path: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// The same failure, naming `path` when it had none.
    package func at(_ path: String) -> SystemError {
        var copy = self
        if copy.path == nil { copy.path = path }
        return copy
    }

    /// "cannot fsync /a/b: Input/output error (errno 5)".
    package var description: String {
        "cannot \(operation)\(path.map { " " + $0 } ?? ""): \(errno) (errno \(errno.rawValue))"
    }
}

extension Errno {
    /// What the user can do about this failure, for the errors that have one answer: a full filesystem or an
    /// exceeded quota. Appended to error messages that carry an `Errno`.
    package var advice: String? {
        switch self {
        case .noSpace, .diskQuotaExceeded: "the filesystem is full: free some space and run the command again"
        default: nil
        }
    }
}
