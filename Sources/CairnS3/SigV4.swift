import CairnCore
import Crypto
public import Foundation

/// AWS Signature Version 4 (header form), as the S3 backend signs every request (`spec/s3.md`).
///
/// The signer is pure: it turns a request (method, unencoded path, query, headers, payload hash) and a time into
/// the canonical request, the string to sign and the `Authorization` header. It adds no header itself; the caller
/// sends exactly the headers it signed. It is tested against AWS's published SigV4 test-suite vectors
/// (`spec/vectors/sigv4/`).
public struct SigV4Signer: Sendable {
    /// The request as the signer sees it.
    public struct Request: Sendable {
        /// `GET`, `PUT`, ...
        public var method: String
        /// The path, not yet percent-encoded, starting with `/` (for S3: `/bucket/key`).
        public var path: String
        /// Query parameters, not yet percent-encoded, in any order; a parameter without a value has "".
        public var query: [(name: String, value: String)]
        /// Every header to sign, names in any case; a repeated name is joined with commas in order.
        public var headers: [(name: String, value: String)]
        /// Lowercase hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        /// Creates a request.
        public init(
            method: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)],
            payloadHash: String
        ) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The access key ID (public part of the key pair).
    public let accessKeyID: String
    private let secretAccessKey: String
    /// The region in the credential scope (`us-east-1` for most S3-compatible servers).
    public let region: String
    /// The service in the credential scope (`s3`).
    public let service: String

    /// Creates a signer. The secret is kept only to derive signing keys; it is never printed.
    public init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    /// The hex SHA-256 of the empty payload.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The canonical request and its `;`-joined signed header names.
    public func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        // Query: each name and value encoded (slash too), sorted by encoded name, then value.
        var pairs: [(String, String)] = []
        for item in request.query {
            pairs.append((Self.uriEncode(item.name, keepSlash: false), Self.uriEncode(item.value, keepSlash: false)))
        }
        pairs.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        var queryParts: [String] = []
        for pair in pairs { queryParts.append(pair.0 + "=" + pair.1) }

        // Headers: lowercase names, trimmed values with runs of spaces collapsed, repeats joined by commas.
        var names: [String] = []
        var values: [String: String] = [:]
        for header in request.headers {
            let name = header.name.lowercased()
            let value = Self.trimmedHeaderValue(header.value)
            if let existing = values[name] {
                values[name] = existing + "," + value
            } else {
                values[name] = value
                names.append(name)
            }
        }
        names.sort()
        var canonicalHeaders = ""
        for name in names { canonicalHeaders += name + ":" + (values[name] ?? "") + "\n" }
        let signedHeaders = names.joined(separator: ";")

        let text = [
            request.method,
            Self.uriEncode(request.path, keepSlash: true),
            queryParts.joined(separator: "&"),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        return (text, signedHeaders)
    }

    /// `<yyyyMMdd>/<region>/<service>/aws4_request`.
    public func scope(date: Date) -> String {
        String(Self.amzDate(date).prefix(8)) + "/" + region + "/" + service + "/aws4_request"
    }

    /// The string to sign for a canonical request at `date`.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        let hash = Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))
        return "AWS4-HMAC-SHA256\n" + Self.amzDate(date) + "\n" + scope(date: date) + "\n" + hash
    }

    /// The hex signature of `stringToSign` with the key derived for `date`'s day.
    public func signature(stringToSign: String, date: Date) -> String {
        let day = String(Self.amzDate(date).prefix(8))
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The `Authorization` header value for `request` at `date`.
    public func authorization(for request: Request, date: Date) -> String {
        let canonical = canonicalRequest(request)
        let signature = signature(stringToSign: stringToSign(canonicalRequest: canonical.text, date: date), date: date)
        return "AWS4-HMAC-SHA256 Credential=" + accessKeyID + "/" + scope(date: date) + ", SignedHeaders="
            + canonical.signedHeaders + ", Signature=" + signature
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC (the `x-amz-date` header).
    public static func amzDate(_ date: Date) -> String {
        let civil = CivilTime(date)
        return civil.digits(civil.year, 4) + civil.digits(civil.month, 2) + civil.digits(civil.day, 2) + "T"
            + civil.digits(civil.hour, 2) + civil.digits(civil.minute, 2) + civil.digits(civil.second, 2) + "Z"
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters (and `/` when `keepSlash`), as UTF-8,
    /// with uppercase hex.
    public static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0xF)]))
            }
        }
        return out
    }

    /// A header value with leading and trailing whitespace removed and every run of spaces made one space.
    static func trimmedHeaderValue(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in value.unicodeScalars {
            if scalar == " " || scalar == "\t" {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    /// Lowercase hex of a digest or MAC.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A UTC calendar time, computed without Foundation's calendars (thread-safe, no locale).
struct CivilTime {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int

    init(_ date: Date) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        hour = rest / 3_600
        minute = rest % 3_600 / 60
        second = rest % 60
        (year, month, day) = civilDate(daysSinceEpoch: Int64(days))
    }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    /// Seconds since 1970 (Howard Hinnant's days_from_civil).
    var date: Date {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3_600 + minute * 60 + second))
    }

    func digits(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Parses the two date forms S3 replies use.
enum S3Dates {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// An RFC 7231 IMF-fixdate (`Last-Modified: Wed, 12 Oct 2009 17:50:00 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]),
            let month = months.firstIndex(of: String(parts[2]))
        else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3 else { return nil }
        return CivilTime(year: year, month: month + 1, day: day, hour: clock[0], minute: clock[1], second: clock[2])
            .date
    }

    /// An ISO 8601 UTC time as S3's XML writes it (`2010-11-10T20:48:33.000Z`, fraction optional).
    static func iso8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var date = CivilTime(year: year, month: month, day: day, hour: hour, minute: minute, second: second).date
        if bytes.count > 21, bytes[19] == UInt8(ascii: "."), let fraction = Double("0" + text.dropFirst(19).dropLast())
        {
            date += fraction
        }
        return date
    }
}
