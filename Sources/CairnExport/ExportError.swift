/// Why an export, checkout or offline check could not run (a failed check is a finding, not an error).
public struct ExportError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: String, Sendable, Hashable {
        /// The run (or an object it names) is not in the ledger or store.
        case notFound = "not_found"
        /// The input is not what it claims to be (a bundle, an attestation, a run folder).
        case malformed
        /// The destination exists and is not an empty directory.
        case exists
        /// A file could not be read or written.
        case io
        /// A `--since` that is neither a run ID in the ledger nor a time.
        case invalidSince = "invalid_since"
        /// The output folder of an export or its state file cannot be used.
        case invalidOutput = "invalid_output"
        /// A run's manifest cannot be read back from the store.
        case manifestUnreadable = "manifest_unreadable"
    }

    /// The kind of failure.
    public var code: Code
    /// What failed and where, in words.
    public var message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// One check of an offline verification: what was checked (a file, a bundle part) and whether it held.
public struct Finding: Sendable, Hashable, Encodable {
    /// True when the check held.
    public var ok: Bool
    /// What was checked: a path in a run folder, or a bundle part (`checkpoint`, `entries[2]`, `manifest`).
    public var subject: String
    /// What was found, in words.
    public var message: String

    package init(ok: Bool, subject: String, message: String) {
        self.ok = ok
        self.subject = subject
        self.message = message
    }

    /// `ok: SUBJECT: MESSAGE` or `FAIL: SUBJECT: MESSAGE`.
    public var line: String { (ok ? "ok: " : "FAIL: ") + subject + ": " + message }
}

/// The outcome of an offline verification: every finding, and whether all held.
public struct VerificationReport: Sendable, Hashable, Encodable {
    /// What was verified (`folder`, `bundle`, `attestation`).
    public var kind: String
    /// The run the verified thing is about, when known.
    public var runID: String?
    /// Every check, in order.
    public var findings: [Finding]
    /// True when the key that verified signatures came from the verified file itself, not from the caller.
    public var keyFromInput: Bool

    package init(kind: String, runID: String? = nil, findings: [Finding] = [], keyFromInput: Bool = false) {
        self.kind = kind
        self.runID = runID
        self.findings = findings
        self.keyFromInput = keyFromInput
    }

    /// True when every check held (and there was at least one).
    public var isValid: Bool { !findings.isEmpty && findings.allSatisfy(\.ok) }

    /// The failed checks.
    public var failures: [Finding] { findings.filter { !$0.ok } }

    mutating func pass(_ subject: String, _ message: String) {
        findings.append(Finding(ok: true, subject: subject, message: message))
    }

    mutating func fail(_ subject: String, _ message: String) {
        findings.append(Finding(ok: false, subject: subject, message: message))
    }

    private enum CodingKeys: String, CodingKey { case kind, run_id, valid, findings, key_from_input }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(runID, forKey: .run_id)
        try container.encode(isValid, forKey: .valid)
        try container.encode(findings, forKey: .findings)
        try container.encode(keyFromInput, forKey: .key_from_input)
    }
}
