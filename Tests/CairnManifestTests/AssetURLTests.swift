import Foundation
import Testing
import _CairnTestSupport

@testable import CairnManifest

/// What genblaze's `strip_asset_url_credentials` gives for one URL: the canonical text or a ValueError's message.
enum AssetURLOutcome: Sendable, Equatable, CustomStringConvertible {
    case canonical(String)
    case valueError(String)

    /// Cairn's outcome for `url`.
    init(cairn url: String) {
        do {
            self = .canonical(try AssetURL.canonical(url))
        } catch let error as ManifestError where error.code == .invalidURL && error.kind == "ValueError" {
            self = .valueError(error.message)
        } catch {
            self = .valueError("unexpected error \(error)")
        }
    }

    /// Compares code points, not Swift's canonical equivalence.
    static func == (lhs: AssetURLOutcome, rhs: AssetURLOutcome) -> Bool {
        switch (lhs, rhs) {
        case (.canonical(let a), .canonical(let b)), (.valueError(let a), .valueError(let b)):
            a.utf8.elementsEqual(b.utf8)
        default: false
        }
    }

    var description: String {
        switch self {
        case .canonical(let text): "canonical \(text.debugDescription)"
        case .valueError(let message): "ValueError \(message.debugDescription)"
        }
    }
}

/// Tricky URLs and what genblaze 0.3.8 (Python 3.11.7 `urllib.parse`) gives for them.
let assetURLCases: [(url: String, expected: AssetURLOutcome)] = [
    // The reference's example, userinfo, port normalization, fragments.
    (
        "https://Bucket.S3.Example.TEST:443/v/o.png?X-Amz-Signature=..&b=2&a=1&a#x",
        .canonical("https://bucket.s3.example.test:443/v/o.png?a&a=1&b=2")
    ),
    ("https://h/p?y=a+b&z=%7E", .canonical("https://h/p?y=a%2Bb&z=~")),
    ("file:///p", .canonical("file:///p")),
    ("HTTP://user:pw@Host.COM:0080/Path?Q=1", .canonical("http://host.com:80/Path?Q=1")),
    ("HtTp://h/%zz%41?%zz=%41", .canonical("http://h/%zz%41?%25zz=A")),
    ("https://h/p#frag?x", .canonical("https://h/p")),
    ("https://h/p?", .canonical("https://h/p")),
    ("https://h?x=1", .canonical("https://h?x=1")),
    ("https://h/?&&a&&", .canonical("https://h/?a")),
    ("http://h:/p", .canonical("http://h/p")),
    ("http://:80/p", .canonical("http://:80/p")),
    ("http://@/p", .canonical("http:///p")),
    ("foo://u@/p", .canonical("foo:/p")),
    ("  \t\nHTTP://H/a\tb\r\nc", .canonical("http://h/abc")),
    ("\u{01}\u{1F} https://h/", .canonical("https://h/")),
    ("mailto:Someone@Example.com", .canonical("mailto:Someone@Example.com")),
    ("//Host/p", .canonical("//host/p")),
    ("http:x", .canonical("http:///x")),
    ("1http://x", .canonical("1http://x")),
    // IPv6 and IPvFuture hosts.
    ("http://[2001:DB8::1]:8080/x", .canonical("http://[2001:db8::1]:8080/x")),
    ("http://[fe80::1%25EtH0]/", .canonical("http://[fe80::1%25eth0]/")),
    ("http://[FE80::1%EtH0]:1234/keys", .canonical("http://[fe80::1%eth0]:1234/keys")),
    ("http://[::ffff:1.2.3.4]/", .canonical("http://[::ffff:1.2.3.4]/")),
    ("http://[::1]abc/", .canonical("http://[::1]/")),
    ("http://a[::1]/", .canonical("http://[::1]/")),
    ("http://[::1]@host/", .canonical("http://host/")),
    ("http://[v1.x]/", .canonical("http://v1.x/")),
    ("http://[::1/", .valueError("Invalid IPv6 URL")),
    ("http://::1]/", .valueError("Invalid IPv6 URL")),
    ("http://[abc]/", .valueError("'abc' does not appear to be an IPv4 or IPv6 address")),
    ("http://[1.2.3.4]/", .valueError("An IPv4 address cannot be in brackets")),
    ("http://[vx.y]/", .valueError("IPvFuture address is invalid")),
    ("http://[v1.]/", .valueError("IPvFuture address is invalid")),
    ("http://[V1.x]/", .valueError("'V1.x' does not appear to be an IPv4 or IPv6 address")),
    ("http://[::1.2.3.04]/", .valueError("'::1.2.3.04' does not appear to be an IPv4 or IPv6 address")),
    ("http://[1:2:3:4:5:6:7:8:9]/", .valueError("'1:2:3:4:5:6:7:8:9' does not appear to be an IPv4 or IPv6 address")),
    ("http://[1::2::3]/", .valueError("'1::2::3' does not appear to be an IPv4 or IPv6 address")),
    ("http://[12345::]/", .valueError("'12345::' does not appear to be an IPv4 or IPv6 address")),
    ("http://[::1%]/", .valueError("'::1%' does not appear to be an IPv4 or IPv6 address")),
    ("http://[::1%a%b]/", .valueError("'::1%a%b' does not appear to be an IPv4 or IPv6 address")),
    ("http://[a'b]/", .valueError("\"a'b\" does not appear to be an IPv4 or IPv6 address")),
    ("http://[a\"b']/", .valueError("'a\"b\\'' does not appear to be an IPv4 or IPv6 address")),
    // Ports.
    ("http://h:80a/", .valueError("Port could not be cast to integer value as '80a'")),
    ("http://h:65536/", .valueError("Port out of range 0-65535")),
    ("http://h:99999999999999999999999/", .valueError("Port out of range 0-65535")),
    ("http://h:'/", .valueError("Port could not be cast to integer value as \"'\"")),
    ("http://h:\u{01}/", .valueError("Port could not be cast to integer value as '\\x01'")),
    ("http://h:\u{FF18}\u{FF10}/", .valueError("Port could not be cast to integer value as '\u{FF18}\u{FF10}'")),
    // Non-ASCII hosts: Python's str.lower() (final sigma included) and the NFKC netloc check.
    (
        "https://\u{391}\u{3A3}.example/\u{E9}?\u{FC}=\u{F6}",
        .canonical("https://\u{3B1}\u{3C3}.example/\u{E9}?%C3%BC=%C3%B6")
    ),
    ("https://x\u{3A3}/", .canonical("https://x\u{3C2}/")),
    ("https://x\u{3A3}%y\u{3A3}/", .canonical("https://x\u{3C2}%y\u{3C2}/")),
    ("http://\u{130}stanbul.example/", .canonical("http://i\u{307}stanbul.example/")),
    ("http://h\u{2100}/", .valueError("netloc 'h\u{2100}' contains invalid characters under NFKC normalization")),
    // Query: percent escapes (invalid UTF-8 becomes U+FFFD as Python decodes it), '+', sorting.
    (
        "https://h/p?a=%FF&b=%C3%A9&c=%e2%82&d=%ED%A0%80&e=%F4%90%80%80&f=%C0%AF&g=%4",
        .canonical(
            "https://h/p?a=%EF%BF%BD&b=%C3%A9&c=%EF%BF%BD&d=%EF%BF%BD%EF%BF%BD%EF%BF%BD"
                + "&e=%EF%BF%BD%EF%BF%BD%EF%BF%BD%EF%BF%BD&f=%EF%BF%BD%EF%BF%BD&g=%254"
        )
    ),
    ("http://h/p?a=%2B%20+ &b=\u{E9}\u{E8}", .canonical("http://h/p?a=%2B%20%2B%20&b=%C3%A9%C3%A8")),
    ("https://h/p?b=2&a=2&a=1&a=&a&B=0&%61=x", .canonical("https://h/p?B=0&a&a=&a=1&a=2&a=x&b=2")),
    // Credentials: always, Azure SAS, CloudFront, GCS v2, SigV2, and the same names without their marker.
    (
        "https://h/p?x-amz-date=1&X-Goog-Signature=2&x-bz-info=3&x-id=GetObject&response-content-type=a"
            + "&access_token=t&Authorization=b&expires_in=1&expiry=2&keep",
        .canonical("https://h/p?keep")
    ),
    (
        "https://a.blob.core.windows.net/c/b?sv=2020&sig=abc&comp=list&SE=x&st=y",
        .canonical("https://a.blob.core.windows.net/c/b?comp=list")
    ),
    ("https://h/p?sig=abc&st=1", .canonical("https://h/p?sig=abc&st=1")),
    ("https://d.cloudfront.net/a?Policy=p&Signature=s&Key-Pair-Id=k&v=1", .canonical("https://d.cloudfront.net/a?v=1")),
    ("https://h/p?Signature=s&v=1", .canonical("https://h/p?Signature=s&v=1")),
    (
        "https://storage.googleapis.com/b/o?GoogleAccessId=g&Expires=1&Signature=s&alt=media",
        .canonical("https://storage.googleapis.com/b/o?alt=media")
    ),
    (
        "https://s3.amazonaws.com/b/k?AWSAccessKeyId=A&Expires=1&Signature=s&x=1",
        .canonical("https://s3.amazonaws.com/b/k?x=1")
    ),
    // U+212A KELVIN SIGN lowercases to ASCII "k": "Key-Pair-Id" in disguise, which also marks CloudFront.
    ("https://EXAMPLE.com/p?%E2%84%AAey-Pair-Id=1&Expires=2&v", .canonical("https://example.com/p?v")),
]

/// Random URLs built from the pieces where `urllib.parse` and genblaze's credential rules have corners.
struct RandomAssetURLs {
    var rng: SeededGenerator

    static let leads = ["", "", "", " ", "\t", "\u{01}", "\n ", "\u{1F} ", "\u{0B}"]
    static let schemes = [
        "https", "https", "http", "HTTPS", "hTTp", "file", "s3", "gs", "mailto", "git+ssh", "svn+ssh", "weird",
        "1x", "x y", "", "Ftp", "WSS",
    ]
    static let separators = ["://", "://", "://", ":", ":/", ":///", "//"]
    static let userinfos = ["", "", "", "user@", "user:pa:ss@", "a@b@", "[::1]@", "u%40x@", "U:P@"]
    static let hosts = [
        "example.com", "Bucket.S3.Amazonaws.COM", "[2001:DB8::1]", "[::1]", "[fe80::1%25En0]", "[v7.Fx]", "[V7.x]",
        "[1.2.3.4]", "[::ffff:1.2.3.4]", "[not-ip]", "[::1", "::1]", "[1::2::3]", "[]", "[::]", "[1:2:3:4:5:6:7:8]",
        "[1:2:3:4:5:6:7::8]", "[::1.2.3.256]", "\u{C9}XAMPLE.com", "x\u{3A3}", "\u{391}\u{3A3}.gr",
        "\u{391}\u{3A3}\u{301}", "\u{130}stanbul.tr", "b\u{FC}cher.DE", "h\u{2100}", "\u{FF45}\u{FF58}.com",
        "a\u{FF0F}b", "a\u{FE55}b", "", "h\tost", "xn--bcher-kva.example", "HOST%41", "ho st", "A.B.C", "[v1.\u{E9}]",
        "[::1%\u{E9}]", "[FE80::A%Eth0]",
        "\u{212A}ELVIN.example", "a\u{3A3}%\u{3A3}b", "[::1]:8080@x", "[::1]x[", "\u{3A3}",
    ]
    static let ports = [
        "", "", "", ":", ":443", ":0080", ":65535", ":65536", ":99999999999999999999", ":8a", ": 80", ":-1",
        ":+80", ":\u{FF18}\u{FF10}", ":'", ":80:90", ":0", ":\u{0663}",
    ]
    static let paths = [
        "", "/", "/a/b.png", "/A%20B/%zz/\u{E9}", "a", "//double", "/p;params", "/\u{E9}/\u{1F600}", "/x\ty", "/%E2%82",
        "/Mixed/CASE", "/a@b:c",
    ]
    static let names = [
        "X-Amz-Signature", "x-amz-date", "X-AMZ-Credential", "X-Goog-Signature", "x-bz-x", "x-amz", "sig", "SIG",
        "sv", "Sv", "se", "sp", "sr", "ss", "srt", "st", "skoid", "sks", "sktid", "skv", "spr", "Key-Pair-Id",
        "KEY-PAIR-ID", "Policy", "Signature", "signature", "GoogleAccessId", "googleaccessid", "AWSAccessKeyId",
        "Expires", "expires_in", "Expiry", "access_token", "Authorization", "response-content-type",
        "Response-Cache-Control", "response-content-disposition", "X-Id", "x-id", "a", "a", "b", "B", "%61",
        "%E2%84%AAey-pair-id", "na%C3%AFve", "%FF", "%C0%AF", "%ED%A0%80", "\u{FC}", "a+b", "%2B", "%20", "%",
        "%4", "%zz", "", "\u{3A3}", "x%00y", "%53%49%47", "S%76", "z", "key", "version",
    ]
    static let values = [
        "1", "", "a+b", "%7E", "%2F", "\u{E9}", "%F0%9F%98%80", "%F0%9F%98", "x=y", "%25", "+", " ", "%C3",
        "%C3\u{E9}", "\u{E9}%A9", "2024-01-01T00:00:00Z", "abc%2Fdef%3D%3D",
    ]
    static let fragments = ["", "", "", "#", "#frag", "#a?b", "#x&y=1"]
    static let junk = Array(":/?#[]@%&=+ aZ09.\u{E9}\t\u{3A3}\u{FF1A}v-".unicodeScalars)

    mutating func pick(_ items: [String]) -> String { items[Int(rng.next() % UInt64(items.count))] }

    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    mutating func query() -> String {
        var pieces: [String] = []
        for _ in 0..<Int(rng.next() % 7) {
            let name = pick(Self.names)
            pieces.append(chance(20) ? name : name + "=" + pick(Self.values))
        }
        if chance(15) { pieces.insert("", at: Int(rng.next() % UInt64(pieces.count + 1))) }
        return pieces.joined(separator: "&")
    }

    mutating func next() -> String {
        if chance(15) {
            var text = ""
            for _ in 0..<Int(rng.next() % 24) { text.unicodeScalars.append(Self.junk[Int(rng.next() % 21)]) }
            return text
        }
        var url = pick(Self.leads) + pick(Self.schemes) + pick(Self.separators) + pick(Self.userinfos)
        url += pick(Self.hosts) + pick(Self.ports) + pick(Self.paths)
        if chance(80) { url += "?" + query() }
        url += pick(Self.fragments)
        if chance(10) {
            var scalars = Array(url.unicodeScalars)
            scalars.insert(chance(50) ? "\t" : "\n", at: Int(rng.next() % UInt64(scalars.count + 1)))
            url = String(String.UnicodeScalarView(scalars))
        }
        return url
    }
}

/// A JSON string literal for `text` (raw UTF-8, control characters escaped).
func jsonStringLiteral(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}

/// genblaze's outcome for each URL, from one Python process.
func genblazeAssetURLOutcomes(_ urls: [String], python: String) throws -> [AssetURLOutcome] {
    let script = """
        import json, sys
        from genblaze_core._asset_url import strip_asset_url_credentials
        for url in json.loads(sys.stdin.buffer.read().decode("utf-8")):
            try:
                out = {"ok": strip_asset_url_credentials(url)}
            except Exception as exc:
                out = {"error": type(exc).__name__, "message": str(exc)}
            print(json.dumps(out))
        """
    let input = "[" + urls.map(jsonStringLiteral).joined(separator: ",\n") + "]"
    let result = try runProcess(python, ["-c", script], stdin: Data(input.utf8))
    guard result.status == 0 else {
        throw TestFileError(path: "genblaze URL canonicalizer failed: \(result.stderrText)")
    }
    return try result.stdoutText.split(separator: "\n").map { line in
        let object = try JSONReader.parse(Array(line.utf8)).objectValue ?? [:]
        if let text = object["ok"]?.stringValue { return .canonical(text) }
        let kind = object["error"]?.stringValue ?? "?"
        let message = object["message"]?.stringValue ?? ""
        return .valueError(kind == "ValueError" ? message : "\(kind): \(message)")
    }
}

@Suite(.timeLimit(.minutes(15)))
struct AssetURLTests {
    @Test("Tricky URLs canonicalize as genblaze does", arguments: assetURLCases.indices)
    func trickyURL(index: Int) {
        let (url, expected) = assetURLCases[index]
        #expect(AssetURLOutcome(cairn: url) == expected, "\(url.debugDescription)")
    }

    @Test("Errors are ManifestError.invalidURL with genblaze's ValueError")
    func errorShape() {
        #expect {
            _ = try AssetURL.canonical("http://h:x/")
        } throws: { error in
            guard let error = error as? ManifestError else { return false }
            return error.code == .invalidURL && error.kind == "ValueError"
                && error.description == "ValueError: Port could not be cast to integer value as 'x'"
        }
    }
}

@Suite(
    .enabled(if: genblazePython != nil || runningOnCI, "CAIRN_GENBLAZE_PYTHON is not set (run scripts/test.sh)"),
    .timeLimit(.minutes(15))
)
struct AssetURLGenblazeTests {
    @Test("The tricky-URL table is what genblaze itself gives")
    func tableMatchesGenblaze() throws {
        let python = try #require(genblazePython, "CI=true but CAIRN_GENBLAZE_PYTHON is missing")
        let outcomes = try genblazeAssetURLOutcomes(assetURLCases.map(\.url), python: python)
        try #require(outcomes.count == assetURLCases.count)
        for (entry, outcome) in zip(assetURLCases, outcomes) {
            #expect(outcome == entry.expected, "\(entry.url.debugDescription)")
        }
    }

    @Test("Random URLs: Cairn's canonical form or error equals genblaze's (differential)")
    func differentialAgainstGenblaze() throws {
        let python = try #require(genblazePython, "CI=true but CAIRN_GENBLAZE_PYTHON is missing")
        let count = slowTestsEnabled ? 20000 : 600
        let seed = UInt64(ProcessInfo.processInfo.environment["CAIRN_FUZZ_SEED"] ?? "") ?? 0x5EED_0A55
        var generator = RandomAssetURLs(rng: SeededGenerator(seed: seed))
        let urls = (0..<count).map { _ in generator.next() }
        let expected = try genblazeAssetURLOutcomes(urls, python: python)
        try #require(expected.count == urls.count)
        var mismatches = 0
        for (url, want) in zip(urls, expected) {
            let got = AssetURLOutcome(cairn: url)
            if got != want {
                mismatches += 1
                if mismatches <= 20 { Issue.record("\(url.debugDescription): Cairn \(got), genblaze \(want)") }
            }
        }
        #expect(mismatches == 0)
    }
}
