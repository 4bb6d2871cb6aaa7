/// A writer of Apache Thrift's compact protocol (the encoding of Parquet's page headers and footer; spec/export.md
/// cites the protocol description). Only what Parquet's metadata uses: structs, i16/i32/i64 fields, binary
/// (strings), lists of i32, strings and structs, and booleans.
struct ThriftCompactWriter {
    /// Compact-protocol type codes (field headers and list element types).
    enum FieldType: UInt8 {
        case booleanTrue = 1
        case booleanFalse = 2
        case byte = 3
        case i16 = 4
        case i32 = 5
        case i64 = 6
        case double = 7
        case binary = 8
        case list = 9
        case set = 10
        case map = 11
        case structure = 12
    }

    private(set) var bytes: [UInt8] = []
    /// The last field ID written in each open struct (the innermost last).
    private var lastFieldIDs: [Int16] = [0]

    init() {}

    // MARK: Primitive encodings

    /// An unsigned LEB128 varint.
    mutating func writeVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// A zigzag varint (i16, i32 and i64 values).
    mutating func writeZigzag(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func writeBinary(_ value: [UInt8]) {
        writeVarint(UInt64(value.count))
        bytes += value
    }

    // MARK: Fields

    /// A field header: a delta from the previous field ID in the high nibble when it is 1...15, else the type byte
    /// followed by the ID as a zigzag varint.
    mutating func writeFieldHeader(_ id: Int16, _ type: FieldType) {
        let delta = Int(id) - Int(lastFieldIDs[lastFieldIDs.count - 1])
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            writeZigzag(Int64(id))
        }
        lastFieldIDs[lastFieldIDs.count - 1] = id
    }

    mutating func field(_ id: Int16, i32 value: Int32) {
        writeFieldHeader(id, .i32)
        writeZigzag(Int64(value))
    }

    mutating func field(_ id: Int16, i64 value: Int64) {
        writeFieldHeader(id, .i64)
        writeZigzag(value)
    }

    mutating func field(_ id: Int16, bool value: Bool) {
        writeFieldHeader(id, value ? .booleanTrue : .booleanFalse)
    }

    mutating func field(_ id: Int16, string value: String) {
        writeFieldHeader(id, .binary)
        writeBinary(Array(value.utf8))
    }

    /// A struct-valued field: `body` writes the inner fields; the stop byte is added.
    mutating func field(_ id: Int16, struct body: (inout ThriftCompactWriter) -> Void) {
        writeFieldHeader(id, .structure)
        writeStruct(body)
    }

    /// A list field of i32 values.
    mutating func field(_ id: Int16, i32List values: [Int32]) {
        writeFieldHeader(id, .list)
        writeListHeader(count: values.count, element: .i32)
        for value in values { writeZigzag(Int64(value)) }
    }

    /// A list field of strings.
    mutating func field(_ id: Int16, stringList values: [String]) {
        writeFieldHeader(id, .list)
        writeListHeader(count: values.count, element: .binary)
        for value in values { writeBinary(Array(value.utf8)) }
    }

    /// A list field of structs, `body` writing each element's fields.
    mutating func field<Element>(
        _ id: Int16,
        structList elements: [Element],
        _ body: (inout ThriftCompactWriter, Element) -> Void
    ) {
        writeFieldHeader(id, .list)
        writeListHeader(count: elements.count, element: .structure)
        for element in elements { writeStruct { body(&$0, element) } }
    }

    /// A list header: the size in the high nibble when below 15, else 0xF then the size as a varint.
    mutating func writeListHeader(count: Int, element: FieldType) {
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.rawValue)
        } else {
            bytes.append(0xF0 | element.rawValue)
            writeVarint(UInt64(count))
        }
    }

    /// A struct's fields (written by `body`) and its stop byte; field IDs restart from 0 inside it.
    mutating func writeStruct(_ body: (inout ThriftCompactWriter) -> Void) {
        lastFieldIDs.append(0)
        body(&self)
        bytes.append(0)
        lastFieldIDs.removeLast()
    }
}
