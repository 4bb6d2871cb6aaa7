public import Foundation

/// An element of an S3 XML reply: its name (without namespace prefix), its text and its child elements.
///
/// S3 replies are small, flat documents; this reader handles what they use (declaration, elements, attributes,
/// character data, the five named entities and numeric references, CDATA, comments) and refuses anything
/// malformed, so a reply that is not what S3 sends fails loudly instead of being half read.
public struct S3XMLElement: Sendable, Hashable {
    /// The element's local name (`Key`, `Contents`).
    public var name: String
    /// The character data directly inside the element, entities decoded.
    public var text: String
    /// The child elements, in document order.
    public var children: [S3XMLElement]

    /// The first child named `name`.
    public func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }

    /// Every child named `name`.
    public func children(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

    /// The text of the first child named `name`.
    public func text(of name: String) -> String? { child(name)?.text }

    /// Parses a whole document and returns its root element.
    ///
    /// - Throws: ``S3Error`` (`s3_bad_reply`) naming the byte offset of the problem.
    public static func parse(_ bytes: [UInt8]) throws(S3Error) -> S3XMLElement {
        var reader = Reader(bytes: bytes)
        return try reader.document()
    }
}

private struct Reader {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func fail(_ what: String) -> S3Error {
        S3Error(kind: .badReply, message: "malformed XML reply at byte \(index): \(what)")
    }

    mutating func document() throws(S3Error) -> S3XMLElement {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        try skipMisc()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("no root element") }
        let root = try element()
        try skipMisc()
        guard index == bytes.count else { throw fail("content after the root element") }
        return root
    }

    /// Whitespace, `<?...?>` and comments between elements at the top level.
    mutating func skipMisc() throws(S3Error) {
        while true {
            skipSpace()
            if starts("<?") {
                try skip(past: "?>")
            } else if starts("<!--") {
                try skip(past: "-->")
            } else {
                return
            }
        }
    }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    func starts(_ text: String) -> Bool {
        let pattern = Array(text.utf8)
        return index + pattern.count <= bytes.count && Array(bytes[index..<index + pattern.count]) == pattern
    }

    mutating func skip(past text: String) throws(S3Error) {
        let pattern = Array(text.utf8)
        while index + pattern.count <= bytes.count {
            if Array(bytes[index..<index + pattern.count]) == pattern {
                index += pattern.count
                return
            }
            index += 1
        }
        throw fail("unterminated '\(text)'")
    }

    mutating func name() throws(S3Error) -> String {
        let start = index
        while index < bytes.count,
            ![0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")]
                .contains(bytes[index])
        {
            index += 1
        }
        guard index > start else { throw fail("empty name") }
        let full = String(decoding: bytes[start..<index], as: UTF8.self)
        return full.split(separator: ":").last.map(String.init) ?? full
    }

    /// `<name attr="...">content</name>` or `<name/>`; `index` is at `<`.
    mutating func element() throws(S3Error) -> S3XMLElement {
        index += 1
        let elementName = try name()
        // Attributes (namespaces included) are read and ignored.
        while true {
            skipSpace()
            guard index < bytes.count else { throw fail("unterminated start tag <\(elementName)>") }
            if bytes[index] == UInt8(ascii: "/") {
                guard index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ">") else { throw fail("bad '/'") }
                index += 2
                return S3XMLElement(name: elementName, text: "", children: [])
            }
            if bytes[index] == UInt8(ascii: ">") {
                index += 1
                break
            }
            _ = try name()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("attribute without '='") }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                throw fail("unquoted attribute value")
            }
            let quote = bytes[index]
            index += 1
            while index < bytes.count, bytes[index] != quote { index += 1 }
            guard index < bytes.count else { throw fail("unterminated attribute value") }
            index += 1
        }
        var text: [UInt8] = []
        var children: [S3XMLElement] = []
        while true {
            guard index < bytes.count else { throw fail("unterminated element <\(elementName)>") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                if starts("</") {
                    index += 2
                    let closing = try name()
                    skipSpace()
                    guard closing == elementName, index < bytes.count, bytes[index] == UInt8(ascii: ">") else {
                        throw fail("</\(closing)> closes <\(elementName)>")
                    }
                    index += 1
                    return S3XMLElement(
                        name: elementName,
                        text: String(decoding: text, as: UTF8.self),
                        children: children
                    )
                } else if starts("<!--") {
                    try skip(past: "-->")
                } else if starts("<![CDATA[") {
                    index += 9
                    let start = index
                    try skip(past: "]]>")
                    text += bytes[start..<index - 3]
                } else if starts("<?") {
                    try skip(past: "?>")
                } else {
                    children.append(try element())
                }
            } else if byte == UInt8(ascii: "&") {
                text += try entity()
            } else {
                text.append(byte)
                index += 1
            }
        }
    }

    /// `&amp;` and friends, `&#NN;`, `&#xHH;`; `index` is at `&`.
    mutating func entity() throws(S3Error) -> [UInt8] {
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: ";"), end - start < 12 { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ";") else { throw fail("unterminated entity") }
        let body = String(decoding: bytes[start..<end], as: UTF8.self)
        index = end + 1
        switch body {
        case "amp": return [UInt8(ascii: "&")]
        case "lt": return [UInt8(ascii: "<")]
        case "gt": return [UInt8(ascii: ">")]
        case "quot": return [UInt8(ascii: "\"")]
        case "apos": return [UInt8(ascii: "'")]
        default:
            var value: UInt32?
            if body.hasPrefix("#x") || body.hasPrefix("#X") {
                value = UInt32(body.dropFirst(2), radix: 16)
            } else if body.hasPrefix("#") {
                value = UInt32(body.dropFirst(), radix: 10)
            }
            guard let value, let scalar = Unicode.Scalar(value) else { throw fail("unknown entity &\(body);") }
            return Array(String(Character(scalar)).utf8)
        }
    }
}

/// The replies the backend reads, decoded from their XML.
public enum S3Reply {
    /// `ListObjectsV2`'s result page.
    public struct ObjectList: Sendable, Hashable {
        /// The keys on this page.
        public var keys: [String]
        /// The token for the next page; nil on the last.
        public var continuationToken: String?
    }

    /// One in-progress multipart upload from `ListMultipartUploads`.
    public struct Upload: Sendable, Hashable {
        /// The key it will create.
        public var key: String
        /// Its upload id.
        public var uploadID: String
        /// When it was started.
        public var initiated: Date
    }

    /// `ListMultipartUploads`'s result page.
    public struct UploadList: Sendable, Hashable {
        /// The uploads on this page.
        public var uploads: [Upload]
        /// The markers for the next page; nil on the last.
        public var next: (keyMarker: String, uploadIDMarker: String)?

        public static func == (lhs: UploadList, rhs: UploadList) -> Bool {
            lhs.uploads == rhs.uploads && lhs.next?.keyMarker == rhs.next?.keyMarker
                && lhs.next?.uploadIDMarker == rhs.next?.uploadIDMarker
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(uploads)
            hasher.combine(next?.keyMarker)
            hasher.combine(next?.uploadIDMarker)
        }
    }

    /// An `<Error>` body: S3's code, message and request id.
    public struct ErrorBody: Sendable, Hashable {
        /// S3's error code (`AccessDenied`).
        public var code: String?
        /// S3's message.
        public var message: String?
        /// The request id.
        public var requestID: String?

        /// Creates an error body.
        public init(code: String?, message: String?, requestID: String?) {
            self.code = code
            self.message = message
            self.requestID = requestID
        }
    }

    /// Reads a `ListBucketResult` (ListObjectsV2).
    public static func objectList(_ bytes: [UInt8]) throws(S3Error) -> ObjectList {
        let root = try S3XMLElement.parse(bytes)
        guard root.name == "ListBucketResult" else { throw unexpected(root, "ListBucketResult") }
        let keys = root.children("Contents").compactMap { $0.text(of: "Key") }
        let truncated = root.text(of: "IsTruncated") == "true"
        let token = root.text(of: "NextContinuationToken")
        if truncated && (token ?? "").isEmpty {
            throw S3Error(kind: .badReply, message: "a truncated object list has no NextContinuationToken")
        }
        return ObjectList(keys: keys, continuationToken: truncated ? token : nil)
    }

    /// Reads an `InitiateMultipartUploadResult`'s upload id.
    public static func uploadID(_ bytes: [UInt8]) throws(S3Error) -> String {
        let root = try S3XMLElement.parse(bytes)
        guard root.name == "InitiateMultipartUploadResult" else {
            throw unexpected(root, "InitiateMultipartUploadResult")
        }
        guard let id = root.text(of: "UploadId"), !id.isEmpty else {
            throw S3Error(kind: .badReply, message: "a started multipart upload has no UploadId")
        }
        return id
    }

    /// Reads a `ListMultipartUploadsResult`.
    public static func uploadList(_ bytes: [UInt8]) throws(S3Error) -> UploadList {
        let root = try S3XMLElement.parse(bytes)
        guard root.name == "ListMultipartUploadsResult" else { throw unexpected(root, "ListMultipartUploadsResult") }
        var uploads: [Upload] = []
        for upload in root.children("Upload") {
            guard let key = upload.text(of: "Key"), let id = upload.text(of: "UploadId"),
                let initiated = upload.text(of: "Initiated").flatMap(S3Dates.iso8601)
            else {
                throw S3Error(kind: .badReply, message: "a listed multipart upload lacks Key, UploadId or Initiated")
            }
            uploads.append(Upload(key: key, uploadID: id, initiated: initiated))
        }
        var next: (keyMarker: String, uploadIDMarker: String)?
        if root.text(of: "IsTruncated") == "true" {
            guard let key = root.text(of: "NextKeyMarker"), let id = root.text(of: "NextUploadIdMarker") else {
                throw S3Error(kind: .badReply, message: "a truncated upload list has no next markers")
            }
            next = (key, id)
        }
        return UploadList(uploads: uploads, next: next)
    }

    /// Reads an `<Error>` body; nil when the bytes are not one (empty, HTML from a proxy, another document).
    public static func errorBody(_ bytes: [UInt8]) -> ErrorBody? {
        guard let root = try? S3XMLElement.parse(bytes), root.name == "Error" else { return nil }
        return ErrorBody(
            code: root.text(of: "Code"),
            message: root.text(of: "Message"),
            requestID: root.text(of: "RequestId")
        )
    }

    /// The body of a `CompleteMultipartUpload` request for parts numbered from 1, with their ETags.
    public static func completeMultipartUpload(etags: [String]) -> [UInt8] {
        var text = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for (index, etag) in etags.enumerated() {
            text += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(escape(etag))</ETag></Part>"
        }
        text += "</CompleteMultipartUpload>"
        return Array(text.utf8)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    private static func unexpected(_ root: S3XMLElement, _ expected: String) -> S3Error {
        S3Error(kind: .badReply, message: "expected an XML <\(expected)> reply, got <\(root.name)>")
    }
}
