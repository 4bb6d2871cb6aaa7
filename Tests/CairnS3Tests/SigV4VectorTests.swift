import CairnCore
import CairnS3
import Foundation
import Testing
import _CairnTestSupport

/// The signer against AWS's published SigV4 vectors (`spec/vectors/sigv4/`, sources in its README).
@Suite(.timeLimit(.minutes(15)))
struct SigV4VectorTests {
    struct Case: Sendable, CustomStringConvertible {
        var group: String
        var name: String
        var directory: String
        var description: String { group + "/" + name }
    }

    static let root = repositoryRoot() + "/spec/vectors/sigv4"

    static let cases: [Case] = {
        var cases: [Case] = []
        for group in ["aws-sig-v4-test-suite", "s3-examples"] {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + group)) ?? []
            for name in names.sorted() where name != "context" {
                cases.append(Case(group: group, name: name, directory: root + "/" + group + "/" + name))
            }
        }
        return cases
    }()

    static func text(_ path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The `context` file's `key=value` lines.
    static func context(_ group: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in (text(root + "/" + group + "/context") ?? "").split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    /// Parses a `.req` file into the signer's request (every header signed, payload hashed).
    static func request(_ text: String) throws -> SigV4Signer.Request {
        let parts = text.components(separatedBy: "\n\n")
        let head = parts[0].split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let body = parts.count > 1 ? parts[1...].joined(separator: "\n\n") : ""
        let requestLine = head[0].split(separator: " ")
        try #require(requestLine.count == 3)
        let target = String(requestLine[1])
        let path = String(target.prefix { $0 != "?" })
        var query: [(name: String, value: String)] = []
        if target.count > path.count {
            for item in target.dropFirst(path.count + 1).split(separator: "&") {
                let name = item.prefix { $0 != "=" }
                query.append((String(name), String(item.dropFirst(name.count + 1))))
            }
        }
        var headers: [(name: String, value: String)] = []
        for line in head.dropFirst() {
            let name = line.prefix { $0 != ":" }
            headers.append((String(name), String(line.dropFirst(name.count + 1))))
        }
        let payloadHash =
            headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
            .trimmingCharacters(in: .whitespaces) ?? hexSHA256(Array(body.utf8))
        return SigV4Signer.Request(
            method: String(requestLine[0]),
            path: path,
            query: query,
            headers: headers,
            payloadHash: payloadHash
        )
    }

    static func hexSHA256(_ bytes: [UInt8]) -> String {
        ContentHasher.digest(of: bytes, algorithm: .sha256).hex
    }

    @Test func theVectorsAreThere() {
        #expect(Self.cases.filter { $0.group == "aws-sig-v4-test-suite" }.count == 12)
        #expect(Self.cases.filter { $0.group == "s3-examples" }.count == 4)
    }

    @Test(arguments: cases)
    func signsLikeAWS(_ vector: Case) throws {
        let context = Self.context(vector.group)
        let signer = SigV4Signer(
            accessKeyID: try #require(context["access_key"]),
            secretAccessKey: try #require(context["secret_key"]),
            region: try #require(context["region"]),
            service: try #require(context["service"])
        )
        let dateText = try #require(context["date"])
        let date = try #require(Self.parseAmzDate(dateText))
        let base = vector.directory + "/" + vector.name
        let request = try Self.request(try #require(Self.text(base + ".req")))
        let canonical = signer.canonicalRequest(request)
        if let creq = Self.text(base + ".creq") {
            #expect(canonical.text == creq)
        }
        let stringToSign = signer.stringToSign(canonicalRequest: canonical.text, date: date)
        if let sts = Self.text(base + ".sts") {
            #expect(stringToSign == sts)
        }
        // The S3 documentation prints the header without spaces after its commas.
        let expected = try #require(Self.text(base + ".authz")).replacingOccurrences(of: ", ", with: ",")
        let authorization = signer.authorization(for: request, date: date).replacingOccurrences(of: ", ", with: ",")
        #expect(authorization == expected)
    }

    @Test func theDateIsWrittenInUTC() throws {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 951_782_400)) == "20000229T000000Z")
    }

    @Test func encodingKeepsOnlyUnreservedCharacters() {
        #expect(SigV4Signer.uriEncode("a b/c+d=e&ሴ~", keepSlash: true) == "a%20b/c%2Bd%3De%26%E1%88%B4~")
        #expect(SigV4Signer.uriEncode("a/b", keepSlash: false) == "a%2Fb")
    }

    @Test func aDifferentSecretGivesADifferentSignature() throws {
        let request = SigV4Signer.Request(method: "GET", path: "/", headers: [("host", "h")], payloadHash: "x")
        let date = Date(timeIntervalSince1970: 0)
        let one = SigV4Signer(accessKeyID: "A", secretAccessKey: "secret-one", region: "r").authorization(
            for: request,
            date: date
        )
        let two = SigV4Signer(accessKeyID: "A", secretAccessKey: "secret-two", region: "r").authorization(
            for: request,
            date: date
        )
        #expect(one != two)
        #expect(!one.contains("secret"))
    }

    static func parseAmzDate(_ text: String) -> Date? {
        var components = DateComponents()
        let digits = Array(text)
        guard digits.count == 16 else { return nil }
        func number(_ range: Range<Int>) -> Int? { Int(String(digits[range])) }
        components.year = number(0..<4)
        components.month = number(4..<6)
        components.day = number(6..<8)
        components.hour = number(9..<11)
        components.minute = number(11..<13)
        components.second = number(13..<15)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar.date(from: components)
    }
}
