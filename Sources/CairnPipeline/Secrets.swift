package import CairnManifest
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which names hold credentials, and how their values are kept out of everything Cairn writes
/// (spec/pipeline.md, "Secrets").
///
/// A name looks like a credential when one of its words (split at `_`, `-`, `.`, spaces and lower-to-upper case
/// changes, compared without case) is `authorization`, `token`, `secret`, `password`, `passwd`, `credential`,
/// `credentials`, `apikey`, `cookie` or `bearer`, or when two neighbouring words are `api key`, `access key`,
/// `private key` or `secret key`. So `Authorization`, `X-Api-Key`, `HF_TOKEN`, `client_secret`, `apiKey` and
/// `AWS_SECRET_ACCESS_KEY` look like credentials; `max_tokens`, `tokenizer`, `author` and `key` do not.
package enum SecretNames {
    static let words: Set<String> = [
        "authorization", "token", "secret", "password", "passwd", "credential", "credentials", "apikey", "cookie",
        "bearer",
    ]
    static let pairs: Set<String> = ["api key", "access key", "private key", "secret key"]

    /// Whether `name` (a header, an environment variable or a parameter key) looks like it holds a credential.
    package static func looksSecret(_ name: String) -> Bool {
        let parts = words(of: name)
        if parts.contains(where: words.contains) { return true }
        for index in parts.indices.dropLast() where pairs.contains(parts[index] + " " + parts[index + 1]) {
            return true
        }
        return false
    }

    static func words(of name: String) -> [String] {
        var result: [String] = []
        var current = ""
        var previousWasLower = false
        for character in name {
            if character == "_" || character == "-" || character == "." || character == " " {
                if !current.isEmpty { result.append(current.lowercased()) }
                current = ""
                previousWasLower = false
                continue
            }
            if character.isUppercase && previousWasLower && !current.isEmpty {
                result.append(current.lowercased())
                current = ""
            }
            current.append(character)
            previousWasLower = character.isLowercase || character.isNumber
        }
        if !current.isEmpty { result.append(current.lowercased()) }
        return result
    }

    /// The first place in `value` where a string is held under a key that looks like a credential, as a field path
    /// below `path` (for example `params.auth.api_key`), or `nil` when there is none. Numbers, booleans, nulls and
    /// empty strings are never credentials (`max_tokens: 256` is a parameter).
    package static func literalSecretPath(in value: JSONValue, path: String) -> String? {
        switch value {
        case .object(let object):
            for (key, item) in object {
                let itemPath = "\(path).\(key)"
                if looksSecret(key), holdsText(item) { return itemPath }
                if let found = literalSecretPath(in: item, path: itemPath) { return found }
            }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = literalSecretPath(in: item, path: "\(path)[\(index)]") { return found }
            }
        default:
            break
        }
        return nil
    }

    static func holdsText(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): !text.isEmpty
        case .unpairedSurrogateString(let units): !units.isEmpty
        case .array(let items): items.contains(where: holdsText)
        case .object(let object): object.contains { holdsText($0.value) }
        default: false
        }
    }

    /// What to tell a user who wrote a credential into a hashed field.
    static let advice =
        "looks like a credential, and this field is stored in the manifest and hashed, so it could never be"
        + " redacted; take it from the environment instead (headers_from_env for an http provider; a process"
        + " provider's command inherits the environment cairn runs in), see spec/pipeline.md, Secrets"
}

/// Replaces every occurrence of known secret values with `[redacted]` in text and bytes.
///
/// Values shorter than ``minimumLength`` bytes are not searched for: they would match ordinary text, and a
/// credential is never that short.
package struct Redactor: Sendable {
    /// The replacement text.
    package static let marker = "[redacted]"
    /// The shortest value that is redacted.
    package static let minimumLength = 6

    /// Authorization schemes whose credential part is redacted on its own as well.
    static let schemes: Set<String> = ["bearer", "basic", "token", "apikey", "digest"]

    /// The values, longest first (so that a value containing another is replaced whole).
    package let values: [[UInt8]]

    package init(values: some Sequence<String>) {
        var all: [String] = []
        for value in values {
            all.append(value)
            // `Bearer <token>`, `Basic <credentials>`: the credential alone is a secret too.
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2, Self.schemes.contains(parts[0].lowercased()) {
                all.append(String(parts[1]).trimmingCharacters(in: .whitespaces))
            }
        }
        let unique = Set(all.filter { $0.utf8.count >= Self.minimumLength })
        self.values = unique.map { Array($0.utf8) }.sorted {
            $0.count > $1.count || ($0.count == $1.count && $0.lexicographicallyPrecedes($1))
        }
    }

    /// The secrets of a run: the value of every environment variable whose name looks like a credential, and
    /// whatever each provider declares (values of headers taken from the environment, of headers named like
    /// credentials, of credential-named query parameters in its endpoint, of credential-named variables it sets).
    package init(environment: [String: String], providers: [any Provider]) {
        var values = environment.filter { SecretNames.looksSecret($0.key) }.map(\.value)
        for case let provider as any SecretHolding in providers {
            values += provider.secretValues(environment: environment)
        }
        self.init(values: values)
    }

    package var isEmpty: Bool { values.isEmpty }

    /// `text` with every secret value replaced.
    package func redact(_ text: String) -> String {
        guard !values.isEmpty else { return text }
        let bytes = Array(text.utf8)
        let redacted = redact(bytes)
        return redacted == bytes ? text : String(decoding: redacted, as: UTF8.self)
    }

    /// `bytes` with every secret value replaced.
    package func redact(_ bytes: [UInt8]) -> [UInt8] {
        var current = bytes
        let marker = Array(Self.marker.utf8)
        for value in values {
            var ranges: [Range<Int>] = []
            current.withUnsafeBytes { haystack in
                value.withUnsafeBytes { needle in
                    guard let base = haystack.baseAddress, let pattern = needle.baseAddress, let first = value.first
                    else { return }
                    var offset = 0
                    // memchr finds each candidate first byte; memcmp checks the rest.
                    while haystack.count - offset >= needle.count,
                        let found = memchr(base + offset, Int32(first), haystack.count - offset - needle.count + 1)
                    {
                        let start = base.distance(to: UnsafeRawPointer(found))
                        if memcmp(base + start, pattern, needle.count) == 0 {
                            ranges.append(start..<(start + needle.count))
                            offset = start + needle.count
                        } else {
                            offset = start + 1
                        }
                    }
                }
            }
            guard !ranges.isEmpty else { continue }
            var output: [UInt8] = []
            output.reserveCapacity(current.count)
            var copied = 0
            for range in ranges {
                output += current[copied..<range.lowerBound]
                output += marker
                copied = range.upperBound
            }
            output += current[copied...]
            current = output
        }
        return current
    }

    /// `record` with its bytes redacted.
    package func redact(_ record: ProviderRecord) -> ProviderRecord {
        var copy = record
        copy.bytes = redact(record.bytes)
        return copy
    }
}

/// A provider that knows which of its settings are secrets, so that a run can redact them.
package protocol SecretHolding {
    /// The secret values this provider sends or passes on, given the environment it reads.
    func secretValues(environment: [String: String]) -> [String]
}

extension HTTPProvider: SecretHolding {
    package func secretValues(environment: [String: String]) -> [String] {
        var values = headersFromEnvironment.values.compactMap { environment[$0] }
        values += headers.filter { SecretNames.looksSecret($0.key) }.map(\.value)
        values += Self.endpointSecrets(endpoint)
        return values
    }

    /// The password in the endpoint's user info and the values of query parameters named like credentials.
    static func endpointSecrets(_ endpoint: URL) -> [String] {
        guard let components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false) else { return [] }
        var values: [String] = []
        if let password = components.password, !password.isEmpty { values.append(password) }
        for item in components.queryItems ?? [] where SecretNames.looksSecret(item.name) {
            if let value = item.value, !value.isEmpty { values.append(value) }
        }
        return values
    }
}

extension ProcessProvider: SecretHolding {
    package func secretValues(environment: [String: String]) -> [String] {
        self.environment.filter { SecretNames.looksSecret($0.key) }.map(\.value)
    }
}
