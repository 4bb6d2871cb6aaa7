import Testing

@testable import CairnManifest

/// Each model's key enum and its table of JSON names agree: one name per case, in case order.
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
