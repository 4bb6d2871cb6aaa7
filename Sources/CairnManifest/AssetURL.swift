/// genblaze's `strip_asset_url_credentials`: the canonical, credential-free form of an asset URL that schema 1.6
/// hashes for assets without a valid sha256.
public enum AssetURL {
    static let credentialNames: Set<String> = [
        "access_token", "authorization", "awsaccesskeyid", "expires", "expires_in", "expiry", "key-pair-id",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "x-id",
    ]
    static let azureNames: Set<String> = [
        "se", "sig", "skoid", "sks", "sktid", "skv", "sp", "spr", "sr", "srt", "ss", "st", "sv",
    ]
    static let azureMarkers: Set<String> = ["sv", "se", "sp", "sr", "ss", "srt"]
    static let cloudFrontNames: Set<String> = ["expires", "key-pair-id", "policy", "signature"]
    static let gcsNames: Set<String> = ["expires", "googleaccessid", "signature"]
    static let usesNetloc: Set<String> = [
        "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp", "snews",
        "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws", "wss",
    ]

    /// The bytes a URL scheme may hold.
    static let schemeCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.".utf8)

    /// The canonical URL: fragment and userinfo dropped, scheme and host lowercased, credential query parameters
    /// removed, the rest sorted and percent-encoded (Python `urllib.parse` semantics).
    ///
    /// - Throws: ``ManifestError`` with code ``ManifestError/Code/invalidURL`` for a bad port or IPv6 host.
    public static func canonical(_ url: String) throws -> String {
        let parts = try split(url)
        let pairs = queryPairs(parts.query)
        let lowered = Set(pairs.map { $0.name.lowercased() })
        let isAzure = !lowered.isDisjoint(with: azureMarkers)
        let isCloudFront = lowered.contains("key-pair-id")
        let isGCS = lowered.contains("googleaccessid")
        let isSigV2 = lowered.contains("awsaccesskeyid")
        let kept = pairs.filter { pair in
            let key = pair.name.lowercased()
            let credential =
                credentialNames.contains(key) || key.hasPrefix("x-amz-") || key.hasPrefix("x-goog-")
                || key.hasPrefix("x-bz-") || (isAzure && azureNames.contains(key))
                || (isCloudFront && cloudFrontNames.contains(key)) || (isGCS && gcsNames.contains(key))
                || (isSigV2 && key == "signature")
            return !credential
        }
        let sorted = kept.enumerated().sorted { lhs, rhs in
            let (a, b) = (lhs.element, rhs.element)
            if !a.name.unicodeScalars.elementsEqual(b.name.unicodeScalars) { return codePointLess(a.name, b.name) }
            if (a.value != nil) != (b.value != nil) { return a.value == nil }
            let (va, vb) = (a.value ?? "", b.value ?? "")
            if !va.unicodeScalars.elementsEqual(vb.unicodeScalars) { return codePointLess(va, vb) }
            return lhs.offset < rhs.offset
        }.map(\.element)
        let query = sorted.map { pair in
            pair.value.map { percentEncode(pair.name) + "=" + percentEncode($0) } ?? percentEncode(pair.name)
        }.joined(separator: "&")

        let scheme = parts.scheme.lowercased()
        var host = (try hostname(of: parts.netloc) ?? "").lowercased()
        if host.contains(":") && !host.hasPrefix("[") { host = "[\(host)]" }
        let netloc = try port(of: parts.netloc).map { "\(host):\($0)" } ?? host
        return unsplit(scheme: scheme, netloc: netloc, path: parts.path, query: query)
    }

    struct Parts {
        var scheme = ""
        var netloc = ""
        var path = ""
        var query = ""
    }

    static func invalid(_ message: String) -> ManifestError {
        ManifestError(.invalidURL, kind: "ValueError", message)
    }

    /// Python 3.11 `urlsplit` (fragment dropped).
    static func split(_ input: String) throws -> Parts {
        var scalars = Array(input.unicodeScalars)[...]
        while let first = scalars.first, first.value <= 0x20 { scalars.removeFirst() }
        var url = Array(scalars.filter { $0 != "\t" && $0 != "\r" && $0 != "\n" })[...]
        var parts = Parts()
        if let colon = url.firstIndex(of: ":"), colon > url.startIndex, let first = url.first, first.isASCII,
            first.properties.isAlphabetic
        {
            let candidate = url[..<colon]
            if candidate.allSatisfy({ $0.isASCII && schemeCharacters.contains(UInt8($0.value)) }) {
                parts.scheme = String(String.UnicodeScalarView(candidate)).lowercased()
                url = url[(colon + 1)...]
            }
        }
        if url.count >= 2 && url[url.startIndex] == "/" && url[url.startIndex + 1] == "/" {
            let rest = url[(url.startIndex + 2)...]
            let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            parts.netloc = String(String.UnicodeScalarView(rest[..<end]))
            url = rest[end...]
            let open = parts.netloc.contains("[")
            let close = parts.netloc.contains("]")
            if open != close { throw invalid("Invalid IPv6 URL") }
        }
        if let hash = url.firstIndex(of: "#") { url = url[..<hash] }
        if let question = url.firstIndex(of: "?") {
            parts.query = String(String.UnicodeScalarView(url[(question + 1)...]))
            url = url[..<question]
        }
        parts.path = String(String.UnicodeScalarView(url))
        return parts
    }

    /// `(hostname, port text)` from a netloc, as Python's `_hostinfo`.
    static func hostInfo(_ netloc: String) -> (host: String, port: String?) {
        var info = Substring(netloc)
        if let at = info.lastIndex(of: "@") { info = info[info.index(after: at)...] }
        var host: Substring
        var port: Substring
        if let open = info.firstIndex(of: "[") {
            let bracketed = info[info.index(after: open)...]
            if let close = bracketed.firstIndex(of: "]") {
                host = bracketed[..<close]
                let after = bracketed[bracketed.index(after: close)...]
                port = after.firstIndex(of: ":").map { after[after.index(after: $0)...] } ?? ""
            } else {
                host = bracketed
                port = ""
            }
        } else if let colon = info.firstIndex(of: ":") {
            host = info[..<colon]
            port = info[info.index(after: colon)...]
        } else {
            host = info
            port = ""
        }
        return (String(host), port.isEmpty ? nil : String(port))
    }

    static func hostname(of netloc: String) throws -> String? {
        let host = hostInfo(netloc).host
        guard !host.isEmpty else { return nil }
        if let percent = host.firstIndex(of: "%") {
            return host[..<percent].lowercased() + host[percent...]
        }
        return host.lowercased()
    }

    static func port(of netloc: String) throws -> Int? {
        guard let text = hostInfo(netloc).port else { return nil }
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text) else {
            throw invalid("Port could not be cast to integer value as '\(text)'")
        }
        guard value <= 65535 else { throw invalid("Port out of range 0-65535") }
        return value
    }

    /// Python 3.11 `urlunsplit` with an empty fragment.
    static func unsplit(scheme: String, netloc: String, path: String, query: String) -> String {
        var url = path
        if !netloc.isEmpty || (!scheme.isEmpty && usesNetloc.contains(scheme) && !url.hasPrefix("//")) {
            if !url.isEmpty && !url.hasPrefix("/") { url = "/" + url }
            url = "//" + netloc + url
        }
        if !scheme.isEmpty { url = scheme + ":" + url }
        if !query.isEmpty { url += "?" + query }
        return url
    }

    /// genblaze's `_query_pairs_preserving_plus`.
    static func queryPairs(_ query: String) -> [(name: String, value: String?)] {
        guard !query.isEmpty else { return [] }
        var pairs: [(name: String, value: String?)] = []
        for piece in query.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = piece.firstIndex(of: "=") {
                pairs.append(
                    (percentDecode(piece[..<equals]), percentDecode(piece[piece.index(after: equals)...]))
                )
            } else {
                pairs.append((percentDecode(piece), nil))
            }
        }
        return pairs
    }

    /// Python's `unquote` (UTF-8, invalid sequences become U+FFFD).
    static func percentDecode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var output = ""
        var pending: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 0x30...0x39: byte - 0x30
            case 0x41...0x46: byte - 0x41 + 10
            case 0x61...0x66: byte - 0x61 + 10
            default: nil
            }
        }
        var literal: [UInt8] = []
        func flushPending() {
            if !pending.isEmpty {
                output += String(decoding: pending, as: UTF8.self)
                pending.removeAll()
            }
        }
        func flushLiteral() {
            if !literal.isEmpty {
                output += String(decoding: literal, as: UTF8.self)
                literal.removeAll()
            }
        }
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = hexValue(utf8[index + 1]), let low = hexValue(utf8[index + 2])
            {
                flushLiteral()
                pending.append(high << 4 | low)
                index += 3
            } else {
                flushPending()
                literal.append(utf8[index])
                index += 1
            }
        }
        flushPending()
        flushLiteral()
        return output
    }

    /// Python's `quote(text, safe="")`: everything but `A-Za-z0-9_.-~` percent-encoded from UTF-8, uppercase hex.
    static func percentEncode(_ text: String) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
