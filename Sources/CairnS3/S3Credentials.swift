public import Foundation

/// The key pair (and session token) the backend signs with, read only from the environment (`spec/s3.md`).
///
/// Never written to a configuration file, a log or an error message: `description` names where the credentials
/// came from, not what they are.
public struct S3Credentials: Sendable, CustomStringConvertible {
    /// The access key ID.
    public let accessKeyID: String
    /// The secret access key (kept for signing; never printed).
    let secretAccessKey: String
    /// A temporary session token, sent as `x-amz-security-token` (never printed).
    let sessionToken: String?
    /// The signing region.
    public let region: String

    /// Credentials given directly (tests, programs with their own secret store).
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, region: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional `AWS_SESSION_TOKEN` and `AWS_REGION` (or
    /// `AWS_DEFAULT_REGION`; `us-east-1` when neither is set).
    ///
    /// - Throws: ``S3Error`` (`missing_credentials`) naming the variables that are missing or empty, never their
    ///   values.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(S3Error) -> S3Credentials {
        func value(_ name: String) -> String? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            return text
        }
        let accessKey = value("AWS_ACCESS_KEY_ID")
        let secret = value("AWS_SECRET_ACCESS_KEY")
        guard let accessKey, let secret else {
            let missing = [accessKey == nil ? "AWS_ACCESS_KEY_ID" : nil, secret == nil ? "AWS_SECRET_ACCESS_KEY" : nil]
            throw S3Error(
                kind: .missingCredentials,
                message: "S3 credentials come from the environment; not set: "
                    + missing.compactMap { $0 }.joined(separator: ", ")
            )
        }
        return S3Credentials(
            accessKeyID: accessKey,
            secretAccessKey: secret,
            sessionToken: value("AWS_SESSION_TOKEN"),
            region: value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") ?? "us-east-1"
        )
    }

    /// The signer for these credentials.
    var signer: SigV4Signer {
        SigV4Signer(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, region: region)
    }

    /// Replaces every occurrence of the secret or the session token in `text` (for texts a server sent back).
    func redacting(_ text: String) -> String {
        var text = text
        for secret in [secretAccessKey, sessionToken ?? ""] where secret.count >= 4 {
            text = text.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return text
    }

    /// "S3 credentials (region R)": nothing secret.
    public var description: String { "S3 credentials (region \(region))" }
}
