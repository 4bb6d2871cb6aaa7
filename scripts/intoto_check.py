"""Reads a Cairn in-toto export with the in-toto-attestation package (PyPI, pinned in python-requirements.txt).

Usage: intoto_check.py FILE, where FILE is a Statement v1 or a DSSE envelope around one. The statement is parsed
into in-toto's Statement proto (unknown fields refused) and validated; its SLSA Provenance v1 predicate is parsed
into the provenance proto the same way. Prints a summary line per fact; exits 1 on any failure.
"""

import base64
import json
import sys

import google.protobuf.json_format as pb_json
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import Statement


def main(path: str) -> int:
    with open(path, "rb") as handle:
        document = json.load(handle)
    if "payloadType" in document:
        if document["payloadType"] != "application/vnd.in-toto+json":
            print(f"payloadType is {document['payloadType']}", file=sys.stderr)
            return 1
        if not document.get("signatures"):
            print("envelope has no signatures", file=sys.stderr)
            return 1
        document = json.loads(base64.b64decode(document["payload"], validate=True))
        print("envelope ok")
    proto = pb_json.ParseDict(document, statement_pb2.Statement())
    statement = Statement.copy_from_pb(proto)
    statement.validate()
    if statement.pb.predicate_type != "https://slsa.dev/provenance/v1":
        print(f"predicateType is {statement.pb.predicate_type}", file=sys.stderr)
        return 1
    provenance = pb_json.ParseDict(document["predicate"], provenance_pb2.Provenance())
    for descriptor in provenance.build_definition.resolved_dependencies:
        ResourceDescriptor.copy_from_pb(descriptor).validate()
    for descriptor in provenance.run_details.byproducts:
        ResourceDescriptor.copy_from_pb(descriptor).validate()
    if not provenance.build_definition.build_type or not provenance.run_details.builder.id:
        print("buildType or builder.id is empty", file=sys.stderr)
        return 1
    print(f"statement ok: subjects {len(statement.pb.subject)}")
    print(f"dependencies {len(provenance.build_definition.resolved_dependencies)}")
    print(f"invocation {provenance.run_details.metadata.invocation_id}")
    print(f"builder {provenance.run_details.builder.id}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except (ValueError, KeyError, pb_json.ParseError) as error:
        print(f"invalid: {error}", file=sys.stderr)
        sys.exit(1)
