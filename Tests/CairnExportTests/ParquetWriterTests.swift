import Foundation
import Testing
import _CairnTestSupport

@testable import CairnExport

/// The pieces of the Parquet writer against the encodings' own definitions (spec/export.md cites them).
@Suite(.timeLimit(.minutes(15)))
struct ParquetWriterTests {
    @Test func thriftCompactFieldHeadersVarintsAndZigzag() {
        var writer = ThriftCompactWriter()
        writer.writeStruct { fields in
            fields.field(1, i32: 1)  // delta 1, type i32 (5); zigzag(1) = 2
            fields.field(3, i64: -1)  // delta 2, type i64 (6); zigzag(-1) = 1
            fields.field(20, string: "ab")  // delta 17 > 15: type byte, then zigzag(20) = 40
            fields.field(21, bool: true)  // delta 1, type BOOLEAN_TRUE (1)
            fields.field(22, i32: 300)  // zigzag(300) = 600 = 0xD8 0x04
        }
        #expect(writer.bytes == [0x15, 0x02, 0x26, 0x01, 0x08, 0x28, 0x02, 0x61, 0x62, 0x11, 0x15, 0xD8, 0x04, 0x00])
    }

    @Test func thriftCompactNestedStructsAndLists() {
        var writer = ThriftCompactWriter()
        writer.writeStruct { outer in
            outer.field(2) { inner in inner.field(1, i32: 0) }  // field IDs restart inside the inner struct
            outer.field(3, i32List: [3, 8])  // list header: size 2 << 4 | i32
            outer.field(4, stringList: Array(repeating: "x", count: 15))  // 15 elements: 0xF8 then varint 15
        }
        var expected: [UInt8] = [0x2C, 0x15, 0x00, 0x00, 0x19, 0x25, 0x06, 0x10, 0x19, 0xF8, 0x0F]
        for _ in 0..<15 { expected += [0x01, 0x78] }
        expected.append(0x00)
        #expect(writer.bytes == expected)
    }

    @Test func bitPackingFollowsTheSpecExample() {
        // Encodings.md, "Bit-packed": 0..7 with bit width 3 pack to 10001000 11000110 11111010.
        #expect(ParquetWriter.packBits(Array(0...7), width: 3) == [0b1000_1000, 0b1100_0110, 0b1111_1010])
        // A partial group is padded with zeros to 8 values.
        #expect(ParquetWriter.packBits([1, 1, 1], width: 1) == [0b0000_0111])
        #expect(ParquetWriter.bitWidth(maximum: 0) == 1)
        #expect(ParquetWriter.bitWidth(maximum: 255) == 8)
        #expect(ParquetWriter.bitWidth(maximum: 256) == 9)
    }

    @Test func definitionLevelsUseOneRLERunWhenUniformElseBitPacking() {
        #expect(ParquetWriter.definitionLevels(Array(repeating: true, count: 300)) == [0xD8, 0x04, 0x01])
        #expect(ParquetWriter.definitionLevels([false, false]) == [0x04, 0x00])
        // 9 values: 2 groups of 8 -> header (2 << 1) | 1 = 5.
        #expect(
            ParquetWriter.definitionLevels([true, false, true, true, false, false, false, false, true])
                == [0x05, 0b0000_1101, 0b0000_0001]
        )
        #expect(ParquetWriter.definitionLevels([]) == [])
    }

    @Test func aTableWithColumnsOfUnequalLengthIsRefused() {
        let table = ParquetTable(columns: [
            ParquetColumn(name: "a", values: .int64([1, 2])), ParquetColumn(name: "b", values: .string(["x"])),
        ])
        #expect(throws: ParquetWriteError.self) {
            try ParquetWriter(compression: .none, createdBy: "t").encode(table)
        }
    }

    @Test func fileHasMagicAtBothEndsAndTheFooterLengthBeforeTheTrailingMagic() throws {
        let table = ParquetTable(columns: [ParquetColumn(name: "a", values: .string(["x", nil, "x"]))])
        for compression in ParquetCompression.allCases {
            let bytes = try ParquetWriter(compression: compression, createdBy: "t").encode(table)
            #expect(Array(bytes.prefix(4)) == Array("PAR1".utf8))
            #expect(Array(bytes.suffix(4)) == Array("PAR1".utf8))
            let length = bytes[bytes.count - 8..<bytes.count - 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            #expect(length > 0 && length < bytes.count - 12)
            // The footer is a Thrift struct: it ends with a stop byte.
            #expect(bytes[bytes.count - 9] == 0)
        }
    }

    @Test func zstdPagesRoundTripThroughLibzstd() throws {
        let input = Array(repeating: Array("provenance ".utf8), count: 100).flatMap { $0 }
        let compressed = try ParquetWriter.zstd(input)
        #expect(compressed.count < input.count / 10)
        // The zstd frame magic number, little endian.
        #expect(Array(compressed.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
    }
}
