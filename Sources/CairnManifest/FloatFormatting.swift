import Foundation

/// Python float rounding and printing.
enum FloatFormatting {
    /// Python's `round(value, 10)` for finite values (non-finite values are returned unchanged).
    static func roundToTenDecimals(_ value: Double) -> Double {
        // An integer value (or zero, or a non-finite one) is already exact at 10 decimals.
        guard let (significand, shift) = fractionalParts(value) else { return value }
        if let rounded = roundedScaledFast(significand: significand, shift: shift) {
            // Both operands are exact, so one IEEE division rounds correctly.
            let result = rounded == 0 ? 0 : Double(rounded) / 10_000_000_000
            return value.sign == .minus ? -result : result
        }
        // scaled = significand * 10^10 / 2^shift, rounded half to even.
        let product = UInt128(significand) * 10_000_000_000
        let rounded: UInt128
        if shift >= 128 {
            rounded = 0
        } else {
            let quotient = product >> UInt128(shift)
            let remainder = product & ((1 << UInt128(shift)) - 1)
            let half = UInt128(1) << UInt128(shift - 1)
            if remainder > half || (remainder == half && quotient & 1 == 1) {
                rounded = quotient + 1
            } else {
                rounded = quotient
            }
        }
        let result: Double
        if rounded == 0 {
            result = 0
        } else if rounded < (1 << 53) {
            // Both operands are exact, so one IEEE division rounds correctly.
            result = Double(rounded) / 10_000_000_000
        } else {
            result = Double("\(rounded)e-10") ?? Double(rounded) / 10_000_000_000
        }
        return value.sign == .minus ? -result : result
    }

    /// `|value| = significand / 2^shift` with an integer significand and `shift > 0`, for a finite value with a
    /// fractional part; nil for zero, integers and non-finite values.
    @inline(__always)
    private static func fractionalParts(_ value: Double) -> (significand: UInt64, shift: Int)? {
        guard value.isFinite, value != 0 else { return nil }
        let magnitude = value.magnitude
        var significand = magnitude.significandBitPattern
        let exponent: Int
        if magnitude.isNormal {
            significand |= 1 << UInt64(Double.significandBitCount)
            exponent = Int(magnitude.exponent) - Double.significandBitCount
        } else {
            exponent = Int(Double.leastNormalMagnitude.exponent) - Double.significandBitCount
        }
        return exponent >= 0 ? nil : (significand, -exponent)
    }

    /// `round(value, 10) * 10^10` when it is an integer below 10^15 (at most 15 digits) and `value` has a
    /// fractional part; nil otherwise.
    @inline(__always)
    private static func scaledTenDecimals(_ value: Double) -> UInt64? {
        guard let (significand, shift) = fractionalParts(value),
            let rounded = roundedScaledFast(significand: significand, shift: shift), rounded < 1_000_000_000_000_000
        else { return nil }
        return rounded
    }

    /// The longest text ``writeCanonical(_:to:)`` writes.
    static let maxCanonicalLength = maxReprLength

    /// Writes the canonical text of the finite `value`, Python's `repr` of `round(value, 10)`, at `out` (room for
    /// ``maxCanonicalLength`` bytes) and returns the number of bytes written.
    ///
    /// `round(value, 10)` is the double nearest to `rounded / 10^10` for an integer `rounded`. When that decimal
    /// has at most 15 significant digits it is also the shortest text that reads back as that double (two
    /// decimals of at most 15 digits never read as the same double), so its digits are `repr`'s digits and are
    /// printed directly; other values go through ``writePythonRepr(_:to:)``.
    static func writeCanonical(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let rounded = scaledTenDecimals(value) else {
            return writePythonRepr(roundToTenDecimals(value), to: out)
        }
        let cursor = writeSign(of: value, to: out)
        if rounded == 0 { return writeZero(at: cursor) - out }
        var digits: (UInt64, UInt64) = (0, 0)
        return withUnsafeMutableBytes(of: &digits) { digitBytes in
            let digit = digitBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var digitCount = 1
            var rest = rounded
            while rest >= 10 {
                rest /= 10
                digitCount += 1
            }
            rest = rounded
            var position = digitCount
            while position > 0 {
                position -= 1
                digit[position] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            }
            // rounded / 10^10: the point sits 10 digits from the right.
            let decimalPoint = digitCount - 10
            while digitCount > 1 && digit[digitCount - 1] == UInt8(ascii: "0") { digitCount -= 1 }
            return cursor - out
                + formatRepr(
                    digits: UnsafeBufferPointer(start: digit, count: digitCount),
                    decimalPoint: decimalPoint,
                    to: cursor
                )
        }
    }

    /// Writes Python's `repr` layout of the nonzero decimal `0.d1d2...dn * 10^decimalPoint` (no leading or trailing
    /// zero digits) at `cursor`: fixed notation for decimal exponents -4 to 15, else `d.ddde±XX`. Returns the number
    /// of bytes written.
    private static func formatRepr(
        digits: UnsafeBufferPointer<UInt8>,
        decimalPoint: Int,
        to start: UnsafeMutablePointer<UInt8>
    ) -> Int {
        var cursor = start
        let significant = digits.baseAddress!
        let significantCount = digits.count
        let scientificExponent = decimalPoint - 1
        if scientificExponent >= -4 && scientificExponent < 16 {
            if decimalPoint <= 0 {
                // 0.000ddd
                cursor[0] = UInt8(ascii: "0")
                cursor[1] = UInt8(ascii: ".")
                cursor += 2
                for _ in 0..<(-decimalPoint) {
                    cursor.pointee = UInt8(ascii: "0")
                    cursor += 1
                }
                cursor.update(from: significant, count: significantCount)
                cursor += significantCount
            } else if decimalPoint >= significantCount {
                // ddd000.0
                cursor.update(from: significant, count: significantCount)
                cursor += significantCount
                for _ in 0..<(decimalPoint - significantCount) {
                    cursor.pointee = UInt8(ascii: "0")
                    cursor += 1
                }
                cursor[0] = UInt8(ascii: ".")
                cursor[1] = UInt8(ascii: "0")
                cursor += 2
            } else {
                // ddd.ddd
                cursor.update(from: significant, count: decimalPoint)
                cursor[decimalPoint] = UInt8(ascii: ".")
                (cursor + decimalPoint + 1).update(
                    from: significant + decimalPoint,
                    count: significantCount - decimalPoint
                )
                cursor += significantCount + 1
            }
        } else {
            // d.ddde±XX
            cursor.pointee = significant[0]
            cursor += 1
            if significantCount > 1 {
                cursor.pointee = UInt8(ascii: ".")
                (cursor + 1).update(from: significant + 1, count: significantCount - 1)
                cursor += significantCount
            }
            cursor[0] = UInt8(ascii: "e")
            cursor[1] = scientificExponent < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+")
            cursor += 2
            let magnitude = abs(scientificExponent)
            if magnitude >= 100 {
                cursor.pointee = UInt8(ascii: "0") &+ UInt8(magnitude / 100)
                cursor += 1
            }
            cursor[0] = UInt8(ascii: "0") &+ UInt8(magnitude / 10 % 10)
            cursor[1] = UInt8(ascii: "0") &+ UInt8(magnitude % 10)
            cursor += 2
        }
        return cursor - start
    }

    /// `significand * 10^10 / 2^shift` rounded half to even, in 64-bit words, when the result is below 2^53 (so
    /// that it converts to a double exactly); nil otherwise (the caller then takes the 128-bit path).
    @inline(__always)
    private static func roundedScaledFast(significand: UInt64, shift: Int) -> UInt64? {
        // significand < 2^53 and 10^10 < 2^34, so the product (high:low) is below 2^87.
        let (high, low) = significand.multipliedFullWidth(by: 10_000_000_000)
        if shift >= 128 { return 0 }
        // Bit `index` of the product, and whether any bit below `index` is set.
        func bit(_ index: Int) -> Bool {
            index >= 64 ? (high >> UInt64(index - 64)) & 1 == 1 : (low >> UInt64(index)) & 1 == 1
        }
        func anyBelow(_ index: Int) -> Bool {
            if index <= 0 { return false }
            if index >= 64 { return low != 0 || (index > 64 && high & ((1 << UInt64(index - 64)) &- 1) != 0) }
            return low & ((1 << UInt64(index)) &- 1) != 0
        }
        let quotient: UInt64
        if shift >= 64 {
            quotient = high >> UInt64(shift - 64)
        } else {
            // shift is at least 1 here (integers returned earlier).
            guard high >> UInt64(shift) == 0 else { return nil }
            quotient = (high << UInt64(64 - shift)) | (low >> UInt64(shift))
        }
        let roundUp = bit(shift - 1) && (anyBelow(shift - 1) || quotient & 1 == 1)
        let rounded = roundUp ? quotient + 1 : quotient
        return rounded < (1 << 53) ? rounded : nil
    }

    /// The longest text ``writePythonRepr(_:to:)`` writes (`-2.2250738585072014e-308` is 24 bytes).
    static let maxReprLength = 32

    /// Python's `repr` of a finite double: shortest round-trip digits, fixed notation for exponents -4 to 15.
    static func pythonRepr(_ value: Double) -> String {
        String(unsafeUninitializedCapacity: maxReprLength) { buffer in
            writePythonRepr(value, to: buffer.baseAddress!)
        }
    }

    /// Writes `-` at `out` when `value` is negative (`-0.0` included); returns where the digits go.
    @inline(__always)
    private static func writeSign(of value: Double, to out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8>
    {
        guard value.sign == .minus else { return out }
        out.pointee = UInt8(ascii: "-")
        return out + 1
    }

    /// Writes `0.0` at `cursor`; returns the position after it.
    @inline(__always)
    private static func writeZero(at cursor: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        cursor[0] = UInt8(ascii: "0")
        cursor[1] = UInt8(ascii: ".")
        cursor[2] = UInt8(ascii: "0")
        return cursor + 3
    }

    /// Writes Python's `repr` of the finite double `value` at `out` (room for ``maxReprLength`` bytes) and returns
    /// the number of bytes written.
    static func writePythonRepr(_ value: Double, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var cursor = writeSign(of: value, to: out)
        if value == 0 { return writeZero(at: cursor) - out }
        // Swift's description gives the shortest round-trip digits (at most 17); reformat them Python's way. The
        // description of a double is at most 24 bytes, so it is a small string (no allocation) when short.
        var text = value.magnitude.description
        return text.withUTF8 { utf8 in
            // Significant digits (without the point), the point's position and the exponent after `e`.
            var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { digitBytes in
                let digit = digitBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var digitCount = 0
                var pointPosition = -1
                var exponent = 0
                var index = 0
                while index < utf8.count {
                    let byte = utf8[index]
                    if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                        index += 1
                        var negative = false
                        if index < utf8.count, utf8[index] == UInt8(ascii: "-") || utf8[index] == UInt8(ascii: "+") {
                            negative = utf8[index] == UInt8(ascii: "-")
                            index += 1
                        }
                        while index < utf8.count {
                            exponent = exponent * 10 + Int(utf8[index] &- UInt8(ascii: "0"))
                            index += 1
                        }
                        if negative { exponent = -exponent }
                        break
                    }
                    if byte == UInt8(ascii: ".") {
                        pointPosition = digitCount
                    } else if digitCount < 32 {
                        digit[digitCount] = byte
                        digitCount += 1
                    }
                    index += 1
                }
                // Decimal point after `pointPosition` digits, times 10^exponent.
                var decimalPoint = (pointPosition >= 0 ? pointPosition : digitCount) + exponent
                // Strip leading zeros.
                var first = 0
                while digitCount - first > 1 && digit[first] == UInt8(ascii: "0") {
                    first += 1
                    decimalPoint -= 1
                }
                // Strip trailing zeros.
                while digitCount - first > 1 && digit[digitCount - 1] == UInt8(ascii: "0") { digitCount -= 1 }
                let written = formatRepr(
                    digits: UnsafeBufferPointer(start: digit + first, count: digitCount - first),
                    decimalPoint: decimalPoint,
                    to: cursor
                )
                cursor += written
                return cursor - out
            }
        }
    }
}
