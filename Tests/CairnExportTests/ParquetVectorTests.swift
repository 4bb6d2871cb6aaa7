import CairnExport
import Foundation
import Testing
import _CairnTestSupport

/// The genblaze venv's python (`$CAIRN_GENBLAZE_PYTHON`, with pyarrow and duckdb), when usable.
private let python: String? = {
    guard let path = ProcessInfo.processInfo.environment["CAIRN_GENBLAZE_PYTHON"],
        FileManager.default.isExecutableFile(atPath: path)
    else { return nil }
    return path
}()

private struct VectorError: Error, CustomStringConvertible {
    let description: String
}

/// spec/vectors/parquet/tiny.json as a table and writer settings.
private func tinyVector() throws -> (table: ParquetTable, createdBy: String, rowGroupRows: Int) {
    let url = URL(fileURLWithPath: repositoryRoot() + "/spec/vectors/parquet/tiny.json")
    guard let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any],
        let createdBy = object["created_by"] as? String, let rows = object["max_row_group_rows"] as? Int,
        let columns = object["columns"] as? [[String: Any]]
    else { throw VectorError(description: "tiny.json: missing created_by, max_row_group_rows or columns") }
    var table = ParquetTable(columns: [])
    for column in columns {
        guard let name = column["name"] as? String, let type = column["type"] as? String,
            let values = column["values"] as? [Any]
        else { throw VectorError(description: "tiny.json: a column without name, type or values") }
        let parsed: ParquetColumnValues
        switch type {
        case "string": parsed = .string(values.map { $0 as? String })
        case "int64": parsed = .int64(values.map { ($0 as? NSNumber)?.int64Value })
        case "double": parsed = .double(values.map { ($0 as? NSNumber)?.doubleValue })
        case "boolean": parsed = .boolean(values.map { $0 is NSNull ? nil : ($0 as? NSNumber)?.boolValue })
        default: throw VectorError(description: "tiny.json: column \(name) has unknown type \(type)")
        }
        table.columns.append(ParquetColumn(name: name, values: parsed))
    }
    return (table, createdBy, rows)
}

@Suite(.timeLimit(.minutes(15)))
struct ParquetVectorTests {
    @Test func writerProducesTheVectorBytes() throws {
        let vector = try tinyVector()
        let writer = ParquetWriter(
            compression: .none,
            createdBy: vector.createdBy,
            maximumRowGroupRows: vector.rowGroupRows
        )
        let expected = try Data(
            contentsOf: URL(fileURLWithPath: repositoryRoot() + "/spec/vectors/parquet/tiny.parquet")
        )
        let bytes = try writer.encode(vector.table)
        #expect(bytes == Array(expected), "ParquetWriter's output differs from spec/vectors/parquet/tiny.parquet")
    }

    @Test(.enabled(if: python != nil, "needs CAIRN_GENBLAZE_PYTHON with pyarrow and duckdb (scripts/setup.sh)"))
    func pyarrowAndDuckdbDecodeTheVectorAndAZstdCopyToTheInputValues() throws {
        let python = try #require(python)
        let vector = try tinyVector()
        let directory = try TemporaryDirectory(prefix: "cairn-parquet-vector")
        let zstdPath = directory.appending("tiny-zstd.parquet")
        let zstd = try ParquetWriter(
            compression: .zstd,
            createdBy: vector.createdBy,
            maximumRowGroupRows: vector.rowGroupRows
        ).encode(vector.table)
        try Data(zstd).write(to: URL(fileURLWithPath: zstdPath))
        let script = """
            import json, math, sys
            import duckdb, pyarrow.parquet as pq
            spec = json.load(open(sys.argv[1], encoding="utf-8"))
            types = {"string": "string", "int64": "int64", "double": "double", "boolean": "bool"}
            def same(a, b):
                if a is None or b is None:
                    return a is None and b is None
                if isinstance(b, float):
                    return float(a) == b and math.copysign(1, float(a)) == math.copysign(1, b)
                return a == b
            problems = []
            for path in sys.argv[2:]:
                table = pq.read_table(path)
                duck = duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()
                if [f.name for f in table.schema] != [c["name"] for c in spec["columns"]]:
                    problems.append(f"{path}: columns {table.schema.names}")
                for index, column in enumerate(spec["columns"]):
                    field = table.schema.field(column["name"])
                    if str(field.type) != types[column["type"]] or not field.nullable:
                        problems.append(f"{path}: {column['name']} is {field.type}")
                    got = table.column(column["name"]).to_pylist()
                    from_duck = [row[index] for row in duck]
                    for want, a, d in zip(column["values"], got, from_duck):
                        if not same(a, want) or not same(d, want):
                            problems.append(f"{path}: {column['name']}: {want!r} read as {a!r} / {d!r}")
                    if len(got) != len(column["values"]) or len(from_duck) != len(column["values"]):
                        problems.append(f"{path}: {column['name']}: {len(got)} values")
            print(json.dumps(problems))
            """
        let result = try runProcess(
            python,
            [
                "-c", script, repositoryRoot() + "/spec/vectors/parquet/tiny.json",
                repositoryRoot() + "/spec/vectors/parquet/tiny.parquet", zstdPath,
            ]
        )
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(result.stdoutText)")
    }
}
