import Testing

@testable import CairnManifest

/// Each model's key enum and its table of JSON names agree: one name per case, in case order.
@Suite(.timeLimit(.minutes(15)))
struct ModelKeyTests {
    func snakeCase(_ name: String) -> String {
        var out = ""
        for character in name {
            if character.isUppercase {
                out += "_" + character.lowercased()
            } else {
                out.append(character)
            }
        }
        return out
    }

    func check<Key: ModelKey>(_: Key.Type) {
        let names = Key.table.names.map(\.description)
        #expect(names.count == Key.allCases.count, "\(Key.self)")
        for (key, name) in zip(Key.allCases, names) {
            #expect(snakeCase(String(describing: key)) == name, "\(Key.self).\(key)")
            #expect(Key.table.slot(of: name) == key.rawValue, "\(name)")
        }
        #expect(Key.table.slot(of: "no_such_key") == nil)
        // A name with any one byte changed, or one byte shorter or longer, is no key (the byte comparison checks
        // every position, whatever the length).
        for name in names {
            let bytes = Array(name.utf8)
            var near: [[UInt8]] = [Array(bytes.dropLast()), bytes + [UInt8(ascii: "_")]]
            for index in bytes.indices {
                for byte: UInt8 in [0x00, 0x41, 0x7A, 0xFF] where byte != bytes[index] {
                    var changed = bytes
                    changed[index] = byte
                    near.append(changed)
                }
            }
            for candidate in near {
                let slot = candidate.withUnsafeBufferPointer { Key.table.slot(of: $0) }
                #expect(slot == nil || names[slot!] == String(decoding: candidate, as: UTF8.self), "\(candidate)")
            }
        }
    }

    @Test("Key enums match their JSON names")
    func tables() {
        check(ManifestKey.self)
        check(RunKey.self)
        check(StepKey.self)
        check(AssetKey.self)
        check(TrackKey.self)
        check(VideoKey.self)
        check(AudioKey.self)
        check(WordTimingKey.self)
    }

    @Test("The last of a repeated key wins; escaped keys match; unknown keys are noted in order")
    func gathering() throws {
        let text = #"{"kind":"a","x":1,"codec":"c","kin\u0064":"b","y":2}"#
        try JSONTape.parse(Array(text.utf8)) { tape in
            let fields = ModelFields<TrackKey>(tape, object: 0)
            #expect(fields[.kind].map(tape.text) == "b")
            #expect(fields[.codec].map(tape.text) == "c")
            #expect(fields[.label] == nil)
            #expect(fields.firstUnknownKey.map(tape.text) == "x")
        }
    }

    @Test("A manifest with more JSON values than model slots can address is refused, not misread")
    func tooManyValues() throws {
        let text = #"{"run":{"steps":[]},"schema_version":"1.5"}"#
        try JSONTape.parse(Array(text.utf8)) { tape in
            #expect(tape.nodes.count == 7)
            _ = try Manifest(tape: tape, maxValues: 7)
            let error = #expect(throws: ManifestError.self) { try Manifest(tape: tape, maxValues: 6) }
            #expect(error?.code == .validation)
            #expect(error?.message.contains("7 JSON values") == true)
        }
        #expect(Manifest.maxValues == Int(Int32.max) - 1)
    }
}
