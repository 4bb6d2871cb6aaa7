/// What went wrong talking to S3: the operation, the key, the HTTP status, S3's error code and request id, or
/// the transport failure (refused connection, reset, timeout), and how many attempts were made.
///
/// It never holds credentials: server texts are passed through ``S3Credentials``'s redaction before they get here.
/// The backend reports it as the `underlying` error of a `StoreError`.
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: String, Sendable {
        /// The server answered with an error status.
        case status = "s3_status"
        /// No answer: connection refused or reset, a timeout, a name that does not resolve.
        case transport = "s3_transport"
        /// The server answered something this client cannot read (bad XML, a missing header).
        case badReply = "s3_bad_reply"
        /// The environment lacks credentials.
        case missingCredentials = "missing_credentials"
        /// An `s3://` location or endpoint that cannot be used.
        case badLocation = "bad_location"
    }

    /// The kind of failure.
    public var kind: Kind
    /// What failed, in a few words ("PUT object", "list objects").
    public var message: String
    /// The request's method and target (`PUT s3://bucket/key`), when a request was made.
    public var request: String?
    /// The HTTP status, when the server answered.
    public var status: Int?
    /// S3's error code (`AccessDenied`, `NoSuchBucket`, `SlowDown`), when the reply had one.
    public var code: String?
    /// S3's error message, when the reply had one.
    public var serverMessage: String?
    /// S3's request id (`x-amz-request-id` or the reply's `RequestId`), for the server's logs.
    public var requestID: String?
    /// How many attempts were made (more than one when the failure was retried).
    public var attempts: Int

    /// Creates an error.
    public init(
        kind: Kind,
        message: String,
        request: String? = nil,
        status: Int? = nil,
        code: String? = nil,
        serverMessage: String? = nil,
        requestID: String? = nil,
        attempts: Int = 1
    ) {
        self.kind = kind
        self.message = message
        self.request = request
        self.status = status
        self.code = code
        self.serverMessage = serverMessage
        self.requestID = requestID
        self.attempts = attempts
    }

    /// One line: message, request, status and code, S3's message, request id, attempts.
    public var description: String {
        var text = message
        if let request { text += " (\(request))" }
        if let status { text += ": HTTP \(status)" }
        if let code { text += " \(code)" }
        if let serverMessage, !serverMessage.isEmpty { text += ": \(serverMessage)" }
        if let requestID, !requestID.isEmpty { text += " [request id \(requestID)]" }
        if attempts > 1 { text += " after \(attempts) attempts" }
        return text
    }
}
