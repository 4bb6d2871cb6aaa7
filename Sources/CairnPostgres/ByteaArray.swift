#if PostgreSQL
import CairnLedger
import NIOCore
import PostgresNIO

/// Something whose bytes are bound in place as one `bytea` element.
protocol ByteaElement: Sendable {
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ByteaElement where Element == UInt8 {
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withUnsafeBytes(body) }
}
extension MerkleHash: ByteaElement {}

/// A `bytea[]` parameter written straight from its elements into the statement's bind buffer, in PostgreSQL's
/// binary array format (one dimension, lower bound 1, no nulls; as postgres-nio writes `[ByteBuffer]`). Binding
/// `[ByteBuffer]` would first copy every element into a buffer of its own: one allocation and one copy per entry.
struct ByteaArray<Element: ByteaElement>: PostgresNonThrowingEncodable {
    let elements: [Element]

    init(_ elements: [Element]) { self.elements = elements }

    static var psqlType: PostgresDataType { .byteaArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)  // dimensions
        buffer.writeInteger(0, as: Int32.self)  // no nulls
        buffer.writeInteger(PostgresDataType.bytea.rawValue)
        guard !elements.isEmpty else { return }
        buffer.writeInteger(Int32(elements.count))
        buffer.writeInteger(1, as: Int32.self)  // lower bound
        for element in elements {
            element.withBytes { bytes in
                buffer.writeInteger(Int32(bytes.count))
                buffer.writeBytes(bytes)
            }
        }
    }
}
#endif
