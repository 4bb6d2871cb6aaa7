import Foundation

/// genblaze's `strip_asset_url_credentials`: the canonical, credential-free form of an asset URL that schema 1.6
/// hashes for assets without a valid sha256.
///
/// The work is done on the URL's UTF-8 bytes. Every delimiter `urllib.parse` looks for is ASCII, so byte positions
/// split the text exactly where Python's character positions do; only non-ASCII hosts and query names take the
/// slower Unicode paths (Python's `str.lower()`, the NFKC netloc check).
public enum AssetURL {
    /// The canonical URL: fragment and userinfo dropped, scheme and host lowercased, credential query parameters
    /// removed, the rest sorted and percent-encoded (Python 3.11 `urllib.parse` semantics).
    ///
    /// - Throws: ``ManifestError`` with code ``ManifestError/Code/invalidURL`` and kind `ValueError` (with Python's
    ///   message) for a bad port, an unbalanced or invalid bracketed host, or a netloc that NFKC turns into
    ///   delimiters.
    public static func canonical(_ url: String) throws -> String {
        var url = url
        return try url.withUTF8 { utf8 in
            // urlsplit: strip leading C0 controls and spaces, then remove every tab, CR and LF.
            var start = 0
            while start < utf8.count && utf8[start] <= 0x20 { start += 1 }
            let body = UnsafeBufferPointer(rebasing: utf8[start...])
            guard body.contains(where: isRemovedControl) else { return try canonical(bytes: body) }
            let cleaned = body.filter { !isRemovedControl($0) }
            return try cleaned.withUnsafeBufferPointer { try canonical(bytes: $0) }
        }
    }

    static func isRemovedControl(_ byte: UInt8) -> Bool { byte == 0x09 || byte == 0x0A || byte == 0x0D }

    static func invalid(_ message: String) -> ManifestError {
        ManifestError(.invalidURL, kind: "ValueError", message)
    }

    // MARK: - Splitting

    /// The parts of a URL, as byte ranges of its cleaned UTF-8 (Python 3.11 `urlsplit`, fragment dropped).
    struct Parts {
        var scheme: Range<Int>
        var netloc: Range<Int>
        var path: Range<Int>
        var query: Range<Int>
    }

    static func canonical(bytes url: UnsafeBufferPointer<UInt8>) throws -> String {
        let parts = try split(url)
        let (host, portText) = hostInfo(url, parts.netloc)
        let port = try portNumber(url, portText)
        let query = canonicalQuery(url, parts.query)

        var out: [UInt8] = []
        out.reserveCapacity(url.count + 8)
        // urlunsplit((scheme, netloc, path, query, "")).
        for byte in url[parts.scheme] { out.append(asciiLowercased(byte)) }
        if !parts.scheme.isEmpty { out.append(UInt8(ascii: ":")) }
        let path = url[parts.path]
        let hasNetloc = !host.isEmpty || port != nil
        if hasNetloc || (!parts.scheme.isEmpty && usesNetloc(url[parts.scheme]) && !path.starts(with: [0x2F, 0x2F])) {
            out.append(contentsOf: [0x2F, 0x2F])
            appendHost(url[host], to: &out)
            if let port {
                out.append(UInt8(ascii: ":"))
                out.append(contentsOf: String(port).utf8)
            }
            if let first = path.first, first != UInt8(ascii: "/") { out.append(UInt8(ascii: "/")) }
        }
        out.append(contentsOf: path)
        if !query.isEmpty {
            out.append(UInt8(ascii: "?"))
            out.append(contentsOf: query)
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func split(_ url: UnsafeBufferPointer<UInt8>) throws -> Parts {
        var position = 0
        var scheme = 0..<0
        if let colon = url.firstIndex(of: UInt8(ascii: ":")), colon > 0, isASCIILetter(url[0]),
            url[..<colon].allSatisfy(isSchemeByte)
        {
            scheme = 0..<colon
            position = colon + 1
        }
        var netloc = position..<position
        if url.count - position >= 2 && url[position] == UInt8(ascii: "/") && url[position + 1] == UInt8(ascii: "/") {
            var end = position + 2
            while end < url.count, !isNetlocEnd(url[end]) { end += 1 }
            netloc = (position + 2)..<end
            position = end
            try checkBrackets(url, netloc)
        }
        var end = url.count
        if let hash = url[position...].firstIndex(of: UInt8(ascii: "#")) { end = hash }
        var query = end..<end
        if let question = url[position..<end].firstIndex(of: UInt8(ascii: "?")) {
            query = (question + 1)..<end
            end = question
        }
        if url[netloc].contains(where: { $0 >= 0x80 }) { try checkNFKC(url, netloc) }
        return Parts(scheme: scheme, netloc: netloc, path: position..<end, query: query)
    }

    static func isASCIILetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    static func isHexDigit(_ byte: UInt8) -> Bool { isDigit(byte) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x66) }

    /// `A-Za-z0-9+-.`, the characters of a scheme.
    static func isSchemeByte(_ byte: UInt8) -> Bool {
        isASCIILetter(byte) || isDigit(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
            || byte == UInt8(ascii: ".")
    }

    static func isNetlocEnd(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#")
    }

    static func asciiLowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte }

    /// `urllib.parse.uses_netloc`: schemes whose URLs get `//` even with an empty netloc.
    static func usesNetloc(_ scheme: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        switch String(decoding: scheme.lazy.map(asciiLowercased), as: UTF8.self) {
        case "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https", "shttp", "snews",
            "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp", "nfs", "git", "git+ssh", "ws",
            "wss":
            true
        default: false
        }
    }

    // MARK: - Netloc checks (urlsplit's errors)

    /// An unbalanced `[`/`]` is an error; a bracketed host must be an IPv6 address or an IPvFuture literal.
    static func checkBrackets(_ url: UnsafeBufferPointer<UInt8>, _ netloc: Range<Int>) throws {
        let open = url[netloc].firstIndex(of: UInt8(ascii: "["))
        let hasClose = url[netloc].contains(UInt8(ascii: "]"))
        guard (open != nil) == hasClose else { throw invalid("Invalid IPv6 URL") }
        guard let open else { return }
        let end = url[(open + 1)..<netloc.upperBound].firstIndex(of: UInt8(ascii: "]")) ?? netloc.upperBound
        let host = url[(open + 1)..<end]
        if host.first == UInt8(ascii: "v") {
            guard isIPvFuture(host) else { throw invalid("IPvFuture address is invalid") }
        } else if isIPv4(host) {
            throw invalid("An IPv4 address cannot be in brackets")
        } else if !isIPv6(host) {
            let text = pythonRepr(String(decoding: host, as: UTF8.self))
            throw invalid("\(text) does not appear to be an IPv4 or IPv6 address")
        }
    }

    /// `v[0-9A-Fa-f]+\..+`
    static func isIPvFuture(_ host: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        var index = host.startIndex + 1
        while index < host.endIndex && isHexDigit(host[index]) { index += 1 }
        return index > host.startIndex + 1 && index < host.endIndex && host[index] == UInt8(ascii: ".")
            && index + 1 < host.endIndex
    }

    /// Python's `IPv4Address`: four decimal octets of 1 to 3 digits, no leading zero, at most 255.
    static func isIPv4(_ text: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        let octets = text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return octets.count == 4
            && octets.allSatisfy { octet in
                guard (1...3).contains(octet.count), octet.allSatisfy(isDigit) else { return false }
                guard octet.count == 1 || octet.first != UInt8(ascii: "0") else { return false }
                return octet.reduce(0) { $0 * 10 + Int($1 - 0x30) } <= 255
            }
    }

    /// Python's `IPv6Address` (scope id, embedded IPv4 and `::` rules included).
    static func isIPv6(_ text: UnsafeBufferPointer<UInt8>.SubSequence) -> Bool {
        var address = text
        if let percent = text.firstIndex(of: UInt8(ascii: "%")) {
            let scope = text[(percent + 1)...]
            guard !scope.isEmpty, !scope.contains(UInt8(ascii: "%")) else { return false }
            address = text[..<percent]
        }
        guard !address.isEmpty, !address.contains(UInt8(ascii: "/")) else { return false }
        // Each part is its bytes, or nil for a hextet already known to be valid (from an IPv4 suffix).
        var parts: [UnsafeBufferPointer<UInt8>.SubSequence?] = address.split(
            separator: UInt8(ascii: ":"),
            omittingEmptySubsequences: false
        ).map { $0 }
        guard parts.count >= 3 else { return false }
        if let last = parts[parts.count - 1], last.contains(UInt8(ascii: ".")) {
            guard isIPv4(last) else { return false }
            parts[parts.count - 1] = nil
            parts.append(nil)
        }
        guard parts.count <= 9 else { return false }
        func isEmpty(_ index: Int) -> Bool { parts[index]?.isEmpty ?? false }
        var skip: Int?
        for index in 1..<(parts.count - 1) where isEmpty(index) {
            guard skip == nil else { return false }
            skip = index
        }
        var high: Int
        var low: Int
        if let skip {
            high = skip
            low = parts.count - skip - 1
            if isEmpty(0) {
                high -= 1
                guard high == 0 else { return false }
            }
            if isEmpty(parts.count - 1) {
                low -= 1
                guard low == 0 else { return false }
            }
            guard 8 - (high + low) >= 1 else { return false }
        } else {
            guard parts.count == 8, !isEmpty(0), !isEmpty(7) else { return false }
            high = 8
            low = 0
        }
        let hextets = Array(parts[..<high]) + Array(parts[(parts.count - low)...])
        return hextets.allSatisfy { part in
            guard let part else { return true }
            return (1...4).contains(part.count) && part.allSatisfy(isHexDigit)
        }
    }

    /// urlsplit's `_checknetloc`: a non-ASCII netloc must not gain `/?#@:` under NFKC.
    static func checkNFKC(_ url: UnsafeBufferPointer<UInt8>, _ netloc: Range<Int>) throws {
        let text = String(decoding: url[netloc], as: UTF8.self)
        var stripped = text
        stripped.unicodeScalars.removeAll { "@:#?".unicodeScalars.contains($0) }
        let normalized = stripped.precomposedStringWithCompatibilityMapping
        if normalized.unicodeScalars.contains(where: { "/?#@:".unicodeScalars.contains($0) }) {
            throw invalid("netloc '\(text)' contains invalid characters under NFKC normalization")
        }
    }

    // MARK: - Host and port

    /// `(hostname, port text)` byte ranges of a netloc, as Python's `_hostinfo`.
    static func hostInfo(_ url: UnsafeBufferPointer<UInt8>, _ netloc: Range<Int>) -> (Range<Int>, Range<Int>) {
        var start = netloc.lowerBound
        if let at = url[netloc].lastIndex(of: UInt8(ascii: "@")) { start = at + 1 }
        let end = netloc.upperBound
        let info = url[start..<end]
        if let open = info.firstIndex(of: UInt8(ascii: "[")) {
            guard let close = url[(open + 1)..<end].firstIndex(of: UInt8(ascii: "]")) else {
                return ((open + 1)..<end, end..<end)
            }
            let colon = url[(close + 1)..<end].firstIndex(of: UInt8(ascii: ":"))
            return ((open + 1)..<close, colon.map { ($0 + 1)..<end } ?? end..<end)
        }
        if let colon = info.firstIndex(of: UInt8(ascii: ":")) {
            return (start..<colon, (colon + 1)..<end)
        }
        return (start..<end, end..<end)
    }

    /// Python's `SplitResult.port`: nil when empty, else ASCII digits in 0...65535.
    static func portNumber(_ url: UnsafeBufferPointer<UInt8>, _ text: Range<Int>) throws -> Int? {
        guard !text.isEmpty else { return nil }
        guard url[text].allSatisfy(isDigit) else {
            let shown = pythonRepr(String(decoding: url[text], as: UTF8.self))
            throw invalid("Port could not be cast to integer value as \(shown)")
        }
        var value = 0
        for byte in url[text] {
            value = value * 10 + Int(byte - 0x30)
            guard value <= 65535 else { throw invalid("Port out of range 0-65535") }
        }
        return value
    }

    /// Appends the lowercased hostname, bracketed when it holds a `:`.
    static func appendHost(_ host: UnsafeBufferPointer<UInt8>.SubSequence, to out: inout [UInt8]) {
        let start = out.count
        if host.allSatisfy({ $0 < 0x80 }) {
            for byte in host { out.append(asciiLowercased(byte)) }
        } else {
            // `hostname` lowercases the part before a zone `%`, then genblaze lowercases it all.
            let text = String(decoding: host, as: UTF8.self)
            let percent = text.firstIndex(of: "%") ?? text.endIndex
            let hostname = pythonLowercased(text[..<percent]) + text[percent...]
            out.append(contentsOf: pythonLowercased(Substring(hostname)).utf8)
        }
        let lowered = out[start...]
        if lowered.contains(UInt8(ascii: ":")) && lowered.first != UInt8(ascii: "[") {
            out.insert(UInt8(ascii: "["), at: start)
            out.append(UInt8(ascii: "]"))
        }
    }

    /// Python's `str.lower()`: full lowercase mappings, and capital sigma becomes final sigma at the end of a word.
    static func pythonLowercased(_ text: Substring) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if scalar == "\u{3A3}" {
                out.append(isFinalSigma(scalars, at: index) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// CPython's `handle_capital_sigma`: a cased letter before (skipping case-ignorables), none after.
    static func isFinalSigma(_ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        let before = scalars[..<index].last { !$0.properties.isCaseIgnorable }
        guard let before, before.properties.isCased else { return false }
        let after = scalars[(index + 1)...].first { !$0.properties.isCaseIgnorable }
        return !(after?.properties.isCased ?? false)
    }

    /// Python's `repr()` of a string, as it appears in ValueError messages.
    static func pythonRepr(_ text: String) -> String {
        let quote: Unicode.Scalar = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        func escaped(_ prefix: String, _ value: UInt32, digits: Int) -> String {
            let hex = String(value, radix: 16)
            return prefix + String(repeating: "0", count: max(0, digits - hex.count)) + hex
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case quote, "\\": out += "\\" + String(scalar)
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: out += escaped("\\x", scalar.value, digits: 2)
            case _ where scalar.isASCII || isPrintable(scalar): out.unicodeScalars.append(scalar)
            case _ where scalar.value <= 0xFF: out += escaped("\\x", scalar.value, digits: 2)
            case _ where scalar.value <= 0xFFFF: out += escaped("\\u", scalar.value, digits: 4)
            default: out += escaped("\\U", scalar.value, digits: 8)
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// Python's `str.isprintable()` for one non-ASCII scalar.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            false
        default: true
        }
    }

    // MARK: - Query

    /// What a (lowercased) query parameter name means to genblaze's credential filter.
    struct NameRole: OptionSet {
        var rawValue: UInt16
        /// Always a credential.
        static let always = NameRole(rawValue: 1 << 0)
        /// A credential in an Azure SAS URL.
        static let azure = NameRole(rawValue: 1 << 1)
        /// A credential in a CloudFront signed URL.
        static let cloudFront = NameRole(rawValue: 1 << 2)
        /// A credential in a GCS v2 signed URL.
        static let gcs = NameRole(rawValue: 1 << 3)
        /// A credential in an AWS SigV2 presigned URL.
        static let sigV2 = NameRole(rawValue: 1 << 4)
        /// Its presence makes the URL an Azure SAS URL (sv, se, sp, sr, ss, srt).
        static let marksAzure = NameRole(rawValue: 1 << 5)
        /// Its presence makes the URL CloudFront-signed (key-pair-id).
        static let marksCloudFront = NameRole(rawValue: 1 << 6)
        /// Its presence makes the URL GCS-v2-signed (googleaccessid).
        static let marksGCS = NameRole(rawValue: 1 << 7)
        /// Its presence makes the URL SigV2-signed (awsaccesskeyid).
        static let marksSigV2 = NameRole(rawValue: 1 << 8)

        /// The credential roles that `marks` (the union of every name's marks) switches on.
        func isCredential(given marks: NameRole) -> Bool {
            contains(.always) || (contains(.azure) && marks.contains(.marksAzure))
                || (contains(.cloudFront) && marks.contains(.marksCloudFront))
                || (contains(.gcs) && marks.contains(.marksGCS)) || (contains(.sigV2) && marks.contains(.marksSigV2))
        }
    }

    /// genblaze's credential name sets, merged into one table of lowercase names.
    static let knownNames: [(name: [UInt8], role: NameRole)] =
        ([
            ("access_token", .always), ("authorization", .always), ("awsaccesskeyid", [.always, .marksSigV2]),
            ("expires", [.always, .cloudFront, .gcs]), ("expires_in", .always), ("expiry", .always),
            ("key-pair-id", [.always, .cloudFront, .marksCloudFront]), ("response-cache-control", .always),
            ("response-content-disposition", .always), ("response-content-encoding", .always),
            ("response-content-language", .always), ("response-content-type", .always), ("x-id", .always),
            ("se", [.azure, .marksAzure]), ("sp", [.azure, .marksAzure]), ("sr", [.azure, .marksAzure]),
            ("ss", [.azure, .marksAzure]), ("srt", [.azure, .marksAzure]), ("sv", [.azure, .marksAzure]),
            ("sig", .azure), ("skoid", .azure), ("sks", .azure), ("sktid", .azure), ("skv", .azure), ("spr", .azure),
            ("st", .azure), ("policy", .cloudFront), ("signature", [.cloudFront, .gcs, .sigV2]),
            ("googleaccessid", [.gcs, .marksGCS]),
        ] as [(String, NameRole)]).map { (Array($0.0.utf8), $0.1) }

    /// Name prefixes that are always credentials.
    static let credentialPrefixes: [[UInt8]] = [Array("x-amz-".utf8), Array("x-goog-".utf8), Array("x-bz-".utf8)]

    /// The role of a decoded parameter name, matched case-insensitively as Python's `name.lower()`.
    static func role(of name: ArraySlice<UInt8>) -> NameRole {
        guard name.allSatisfy({ $0 < 0x80 }) else {
            // Non-ASCII: Swift's full lowercasing (U+212A KELVIN SIGN becomes "k"; final sigma cannot matter).
            return role(ofLowercased: ArraySlice(String(decoding: name, as: UTF8.self).lowercased().utf8))
        }
        return role(ofLowercased: name)
    }

    /// The role of a name whose non-ASCII part is already lowercase; ASCII letters are compared case-insensitively.
    static func role(ofLowercased name: ArraySlice<UInt8>) -> NameRole {
        func matches(_ lowercase: [UInt8]) -> Bool {
            zip(name, lowercase).allSatisfy { asciiLowercased($0) == $1 }
        }
        for prefix in credentialPrefixes where name.count >= prefix.count && matches(prefix) { return .always }
        for known in knownNames where known.name.count == name.count && matches(known.name) { return known.role }
        return []
    }

    /// A query parameter: byte ranges of its decoded name and value in a shared buffer.
    struct Parameter {
        var name: Range<Int>
        var value: Range<Int>?
        var role: NameRole
    }

    /// genblaze's query rebuilding: split, decode, drop credentials, sort, re-encode (empty when nothing is left).
    static func canonicalQuery(_ url: UnsafeBufferPointer<UInt8>, _ query: Range<Int>) -> [UInt8] {
        guard !query.isEmpty else { return [] }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(query.count)
        var parameters: [Parameter] = []
        var marks: NameRole = []
        for piece in url[query].split(separator: UInt8(ascii: "&")) {
            let equals = piece.firstIndex(of: UInt8(ascii: "="))
            let name = percentDecode(piece[..<(equals ?? piece.endIndex)], into: &decoded)
            let value = equals.map { percentDecode(piece[($0 + 1)...], into: &decoded) }
            let role = role(of: decoded[name])
            marks.formUnion(role)
            parameters.append(Parameter(name: name, value: value, role: role))
        }
        parameters.removeAll { $0.role.isCredential(given: marks) }
        guard !parameters.isEmpty else { return [] }
        if parameters.count > 1 {
            decoded.withUnsafeBufferPointer { buffer in
                parameters.sort { lhs, rhs in
                    let names = compare(buffer[lhs.name], buffer[rhs.name])
                    if names != 0 { return names < 0 }
                    guard let left = lhs.value else { return rhs.value != nil }
                    guard let right = rhs.value else { return false }
                    return compare(buffer[left], buffer[right]) < 0
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(query.count + 8)
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            percentEncode(decoded[parameter.name], into: &out)
            if let value = parameter.value {
                out.append(UInt8(ascii: "="))
                percentEncode(decoded[value], into: &out)
            }
        }
        return out
    }

    /// Code point order of two UTF-8 strings (byte order): negative, zero or positive.
    static func compare(
        _ lhs: UnsafeBufferPointer<UInt8>.SubSequence,
        _ rhs: UnsafeBufferPointer<UInt8>.SubSequence
    )
        -> Int
    {
        let shared = min(lhs.count, rhs.count)
        if shared > 0 {
            let order = memcmp(lhs.base.baseAddress! + lhs.startIndex, rhs.base.baseAddress! + rhs.startIndex, shared)
            if order != 0 { return Int(order) }
        }
        return lhs.count - rhs.count
    }

    /// Python's `unquote`: `%XX` escapes decoded, then invalid UTF-8 replaced by U+FFFD. Appends to `decoded` and
    /// returns the range it wrote.
    static func percentDecode(_ text: UnsafeBufferPointer<UInt8>.SubSequence, into decoded: inout [UInt8]) -> Range<Int>
    {
        let start = decoded.count
        guard text.contains(UInt8(ascii: "%")) else {
            decoded.append(contentsOf: text)
            return start..<decoded.count
        }
        var index = text.startIndex
        var escapedNonASCII = false
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%"), index + 2 < text.endIndex, let high = hexValue(text[index + 1]),
                let low = hexValue(text[index + 2])
            {
                let value = high << 4 | low
                escapedNonASCII = escapedNonASCII || value >= 0x80
                decoded.append(value)
                index += 3
            } else {
                decoded.append(byte)
                index += 1
            }
        }
        if escapedNonASCII {
            // Literal non-ASCII is whole scalars, so repairing the concatenation equals Python's run-by-run decoding.
            let repaired = String(decoding: decoded[start...], as: UTF8.self).utf8
            decoded.replaceSubrange(start..., with: repaired)
        }
        return start..<decoded.count
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// Python's `quote(text, safe="")`: everything but `A-Za-z0-9_.-~` percent-encoded, uppercase hex.
    static func percentEncode(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        let hex: StaticString = "0123456789ABCDEF"
        for byte in bytes {
            if isASCIILetter(byte) || isDigit(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "~")
            {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 0x0F)])
            }
        }
    }
}
