import CZstd

/// The physical type of a Parquet column Cairn writes (spec/export.md, "Column types"). Every column is OPTIONAL
/// (a value or null).
public enum ParquetColumnType: String, Sendable, Hashable, CaseIterable {
    /// BYTE_ARRAY annotated STRING (UTF-8).
    case string
    /// INT64 (signed).
    case int64
    /// DOUBLE (IEEE 754 binary64).
    case double
    /// BOOLEAN.
    case boolean
}

/// The values of one column, null where absent.
public enum ParquetColumnValues: Sendable, Hashable {
    case string([String?])
    case int64([Int64?])
    case double([Double?])
    case boolean([Bool?])

    /// An empty column of `type`.
    public init(type: ParquetColumnType) {
        switch type {
        case .string: self = .string([])
        case .int64: self = .int64([])
        case .double: self = .double([])
        case .boolean: self = .boolean([])
        }
    }

    /// The column's type.
    public var type: ParquetColumnType {
        switch self {
        case .string: .string
        case .int64: .int64
        case .double: .double
        case .boolean: .boolean
        }
    }

    /// The number of values (nulls included).
    public var count: Int {
        switch self {
        case .string(let values): values.count
        case .int64(let values): values.count
        case .double(let values): values.count
        case .boolean(let values): values.count
        }
    }
}

/// A named, typed column of a ``ParquetTable``.
public struct ParquetColumn: Sendable, Hashable {
    public var name: String
    public var values: ParquetColumnValues

    public init(name: String, values: ParquetColumnValues) {
        self.name = name
        self.values = values
    }
}

/// A table to write as one Parquet file: columns of equal length.
public struct ParquetTable: Sendable, Hashable {
    public var columns: [ParquetColumn]

    public init(columns: [ParquetColumn]) {
        self.columns = columns
    }

    /// The number of rows (the length of the first column; 0 for no columns).
    public var rowCount: Int { columns.first?.values.count ?? 0 }
}

/// Page compression of a Parquet file.
public enum ParquetCompression: String, Sendable, Hashable, CaseIterable {
    /// Each page compressed with zstd (codec ZSTD) through libzstd, level ``ParquetWriter/zstdLevel``.
    case zstd
    /// Pages stored as they are (codec UNCOMPRESSED).
    case none
}

/// A failure to write a Parquet file.
public struct ParquetWriteError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// Writes Parquet files (Apache Parquet format 2.x, data pages v1; spec/export.md cites the format): one row group
/// per ``maximumRowGroupRows`` rows, one column chunk per column and row group holding one data page, preceded by a
/// dictionary page when the column is dictionary encoded. String columns are dictionary encoded (RLE_DICTIONARY
/// indices, PLAIN dictionary) when at most half their non-null values are distinct, PLAIN otherwise; other columns
/// are PLAIN. Definition levels use the RLE/bit-packed hybrid. The footer is Thrift compact `FileMetaData`.
public struct ParquetWriter: Sendable {
    /// The zstd level pages are compressed with.
    public static let zstdLevel: Int32 = 1
    /// The most rows one row group holds.
    public var maximumRowGroupRows: Int
    public var compression: ParquetCompression
    /// The footer's `created_by`.
    public var createdBy: String

    public init(compression: ParquetCompression, createdBy: String, maximumRowGroupRows: Int = 131_072) {
        self.compression = compression
        self.createdBy = createdBy
        self.maximumRowGroupRows = max(1, maximumRowGroupRows)
    }

    // Parquet enum values (parquet.thrift).
    private enum PhysicalType: Int32 {
        case boolean = 0
        case int64 = 2
        case double = 5
        case byteArray = 6
    }
    private enum Encoding: Int32 {
        case plain = 0
        case rle = 3
        case rleDictionary = 8
    }
    private static let optionalRepetition: Int32 = 1
    private static let utf8ConvertedType: Int32 = 0
    private static let dataPageType: Int32 = 0
    private static let dictionaryPageType: Int32 = 2

    private struct ChunkMetadata {
        var type: PhysicalType
        var encodings: [Encoding]
        var path: String
        var valueCount: Int64
        var nullCount: Int64
        var uncompressedSize: Int64
        var compressedSize: Int64
        var dataPageOffset: Int64
        var dictionaryPageOffset: Int64?
    }

    private struct RowGroupMetadata {
        var chunks: [ChunkMetadata]
        var rowCount: Int64
        var uncompressedSize: Int64
        var fileOffset: Int64
        var compressedSize: Int64
    }

    /// The bytes of a Parquet file holding `table`.
    public func encode(_ table: ParquetTable) throws(ParquetWriteError) -> [UInt8] {
        let rows = table.rowCount
        for column in table.columns where column.values.count != rows {
            throw ParquetWriteError(
                "column \(column.name) has \(column.values.count) values, the table has \(rows) rows"
            )
        }
        var file: [UInt8] = Array("PAR1".utf8)
        file.reserveCapacity(rows * table.columns.count * 8 + 1024)
        var groups: [RowGroupMetadata] = []
        var start = 0
        repeat {
            let end = min(rows, start + maximumRowGroupRows)
            let groupOffset = Int64(file.count)
            var chunks: [ChunkMetadata] = []
            for column in table.columns {
                chunks.append(try writeChunk(column, range: start..<end, into: &file))
            }
            groups.append(
                RowGroupMetadata(
                    chunks: chunks,
                    rowCount: Int64(end - start),
                    uncompressedSize: chunks.reduce(0) { $0 + $1.uncompressedSize },
                    fileOffset: groupOffset,
                    compressedSize: Int64(file.count) - groupOffset
                )
            )
            start = end
        } while start < rows
        let footer = footerBytes(table: table, rows: rows, groups: groups)
        file += footer
        var length = UInt32(footer.count).littleEndian
        withUnsafeBytes(of: &length) { file += $0 }
        file += Array("PAR1".utf8)
        return file
    }

    private func footerBytes(table: ParquetTable, rows: Int, groups: [RowGroupMetadata]) -> [UInt8] {
        var thrift = ThriftCompactWriter()
        thrift.writeStruct { meta in
            meta.field(1, i32: 1)
            var schema: [(name: String, type: ParquetColumnType?)] = [("schema", nil)]
            schema += table.columns.map { ($0.name, $0.values.type) }
            let childCount = Int32(table.columns.count)
            meta.field(2, structList: schema) { element, item in
                guard let type = item.type else {
                    element.field(4, string: item.name)
                    element.field(5, i32: childCount)
                    return
                }
                element.field(1, i32: Self.physicalType(type).rawValue)
                element.field(3, i32: Self.optionalRepetition)
                element.field(4, string: item.name)
                if type == .string {
                    element.field(6, i32: Self.utf8ConvertedType)
                    element.field(10) { logical in logical.field(1) { _ in } }
                }
            }
            meta.field(3, i64: Int64(rows))
            meta.field(4, structList: groups) { group, metadata in
                group.field(1, structList: metadata.chunks) { chunk, column in
                    chunk.field(2, i64: column.dictionaryPageOffset ?? column.dataPageOffset)
                    chunk.field(3) { meta in
                        meta.field(1, i32: column.type.rawValue)
                        meta.field(2, i32List: column.encodings.map(\.rawValue))
                        meta.field(3, stringList: [column.path])
                        meta.field(4, i32: compression == .zstd ? 6 : 0)
                        meta.field(5, i64: column.valueCount)
                        meta.field(6, i64: column.uncompressedSize)
                        meta.field(7, i64: column.compressedSize)
                        meta.field(9, i64: column.dataPageOffset)
                        if let offset = column.dictionaryPageOffset { meta.field(11, i64: offset) }
                        meta.field(12) { statistics in statistics.field(3, i64: column.nullCount) }
                    }
                }
                group.field(2, i64: metadata.uncompressedSize)
                group.field(3, i64: metadata.rowCount)
                group.field(5, i64: metadata.fileOffset)
                group.field(6, i64: metadata.compressedSize)
            }
            meta.field(6, string: createdBy)
        }
        return thrift.bytes
    }

    private static func physicalType(_ type: ParquetColumnType) -> PhysicalType {
        switch type {
        case .string: .byteArray
        case .int64: .int64
        case .double: .double
        case .boolean: .boolean
        }
    }

    /// Writes one column chunk (a dictionary page when dictionary encoded, then one data page).
    private func writeChunk(
        _ column: ParquetColumn,
        range: Range<Int>,
        into file: inout [UInt8]
    ) throws(ParquetWriteError) -> ChunkMetadata {
        let count = range.count
        var defined: [Bool] = []
        defined.reserveCapacity(count)
        var values: [UInt8] = []
        var dictionaryValues: [UInt8]? = nil
        var dictionaryCount = 0
        switch column.values {
        case .string(let all):
            let slice = all[range]
            for value in slice { defined.append(value != nil) }
            var dictionary: [String: UInt32] = [:]
            var indices: [UInt32] = []
            var plain: [UInt8] = []
            var nonNull = 0
            for case let value? in slice {
                nonNull += 1
                if let index = dictionary[value] {
                    indices.append(index)
                } else {
                    let index = UInt32(dictionary.count)
                    dictionary[value] = index
                    indices.append(index)
                    Self.appendPlain(value, to: &plain)
                }
            }
            if nonNull > 0 && dictionary.count * 2 <= nonNull {
                dictionaryValues = plain
                dictionaryCount = dictionary.count
                let width = Self.bitWidth(maximum: UInt32(dictionary.count - 1))
                values.append(UInt8(width))
                Self.appendBitPacked(indices, width: width, to: &values)
            } else {
                values.reserveCapacity(nonNull * 16)
                for case let value? in slice { Self.appendPlain(value, to: &values) }
            }
        case .int64(let all):
            values.reserveCapacity(count * 8)
            for value in all[range] {
                defined.append(value != nil)
                if let value { Self.appendLittleEndian(UInt64(bitPattern: value), to: &values) }
            }
        case .double(let all):
            values.reserveCapacity(count * 8)
            for value in all[range] {
                defined.append(value != nil)
                if let value { Self.appendLittleEndian(value.bitPattern, to: &values) }
            }
        case .boolean(let all):
            var bits: [UInt32] = []
            for value in all[range] {
                defined.append(value != nil)
                if let value { bits.append(value ? 1 : 0) }
            }
            values = Self.packBits(bits, width: 1)
        }
        let nullCount = defined.reduce(0) { $0 + ($1 ? 0 : 1) }

        let chunkStart = Int64(file.count)
        var uncompressedTotal: Int64 = 0
        var dictionaryPageOffset: Int64? = nil
        if let dictionaryValues {
            dictionaryPageOffset = Int64(file.count)
            uncompressedTotal += try writePage(dictionaryValues, type: Self.dictionaryPageType, into: &file) { header in
                header.field(7) { dictionary in
                    dictionary.field(1, i32: Int32(dictionaryCount))
                    dictionary.field(2, i32: Encoding.plain.rawValue)
                }
            }
        }
        let dataPageOffset = Int64(file.count)
        var page: [UInt8] = []
        let levels = Self.definitionLevels(defined)
        Self.appendLittleEndian(UInt32(levels.count), to: &page)
        page += levels
        page += values
        let encoding: Encoding = dictionaryValues == nil ? .plain : .rleDictionary
        uncompressedTotal += try writePage(page, type: Self.dataPageType, into: &file) { header in
            header.field(5) { data in
                data.field(1, i32: Int32(count))
                data.field(2, i32: encoding.rawValue)
                data.field(3, i32: Encoding.rle.rawValue)
                data.field(4, i32: Encoding.rle.rawValue)
            }
        }
        return ChunkMetadata(
            type: Self.physicalType(column.values.type),
            encodings: dictionaryValues == nil ? [.plain, .rle] : [.plain, .rle, .rleDictionary],
            path: column.name,
            valueCount: Int64(count),
            nullCount: Int64(nullCount),
            uncompressedSize: uncompressedTotal,
            compressedSize: Int64(file.count) - chunkStart,
            dataPageOffset: dataPageOffset,
            dictionaryPageOffset: dictionaryPageOffset
        )
    }

    /// Writes a page header of `type` (its sub-header written by `body`) and the page, compressed as configured; returns the
    /// page's size uncompressed, header included.
    private func writePage(
        _ page: [UInt8],
        type: Int32,
        into file: inout [UInt8],
        subHeader body: (inout ThriftCompactWriter) -> Void
    ) throws(ParquetWriteError) -> Int64 {
        let stored = compression == .zstd ? try Self.zstd(page) : page
        var header = ThriftCompactWriter()
        header.writeStruct { fields in
            fields.field(1, i32: type)
            fields.field(2, i32: Int32(page.count))
            fields.field(3, i32: Int32(stored.count))
            body(&fields)
        }
        file += header.bytes
        file += stored
        return Int64(header.bytes.count + page.count)
    }

    static func zstd(_ input: [UInt8]) throws(ParquetWriteError) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                ZSTD_compress(destination.baseAddress, bound, source.baseAddress, source.count, zstdLevel)
            }
        }
        if ZSTD_isError(written) != 0 {
            throw ParquetWriteError("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        output.removeSubrange(written...)
        return output
    }

    // MARK: Encodings

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { bytes += $0 }
    }

    /// PLAIN BYTE_ARRAY: a 4-byte little-endian length, then the bytes.
    static func appendPlain(_ value: String, to bytes: inout [UInt8]) {
        var value = value
        value.withUTF8 { utf8 in
            appendLittleEndian(UInt32(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// The bits needed for values up to `maximum` (at least 1).
    static func bitWidth(maximum: UInt32) -> Int {
        max(1, 32 - maximum.leadingZeroBitCount)
    }

    /// Values packed `width` bits each, least significant bit first, padded with zeros to a multiple of 8 values.
    static func packBits(_ values: [UInt32], width: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        let groups = (values.count + 7) / 8
        bytes.reserveCapacity(groups * width)
        var buffer: UInt64 = 0
        var filled = 0
        for value in values {
            buffer |= UInt64(value) << filled
            filled += width
            while filled >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                filled -= 8
            }
        }
        if filled > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
        let total = groups * width
        if bytes.count < total { bytes += [UInt8](repeating: 0, count: total - bytes.count) }
        return bytes
    }

    /// One bit-packed run of the RLE/bit-packed hybrid: header `groups << 1 | 1`, then the packed values.
    static func appendBitPacked(_ values: [UInt32], width: Int, to bytes: inout [UInt8]) {
        guard !values.isEmpty else { return }
        appendVarint(UInt64((values.count + 7) / 8) << 1 | 1, to: &bytes)
        bytes += packBits(values, width: width)
    }

    /// Definition levels (bit width 1) in the RLE/bit-packed hybrid: one RLE run when all rows agree, else one
    /// bit-packed run.
    static func definitionLevels(_ defined: [Bool]) -> [UInt8] {
        var bytes: [UInt8] = []
        guard let first = defined.first else { return bytes }
        if defined.allSatisfy({ $0 == first }) {
            appendVarint(UInt64(defined.count) << 1, to: &bytes)
            bytes.append(first ? 1 : 0)
        } else {
            appendBitPacked(defined.map { $0 ? 1 : 0 }, width: 1, to: &bytes)
        }
        return bytes
    }
}
