#!/usr/bin/env python3
"""genblaze's own verdict on manifest files, for Cairn's interop tests and benchmarks.

    .venv-gb/bin/python scripts/genblaze_verdict.py [--json] [--payload] MANIFEST.json
    .venv-gb/bin/python scripts/genblaze_verdict.py --batch < list-of-paths

A file is loaded the way `genblaze verify` loads standalone JSON: the text is read as UTF-8,
`json.loads` parses it and `genblaze_core.models.manifest.parse_manifest` builds the model. The
verdict is `Manifest.verification_report()` plus the SHA-256 of the canonical hash pre-image
genblaze recomputes (`canonical_json(_hash_payload(schema_version, run))`).

Fields: hash_ok, verify_ok, stored_hash, recomputed_hash, schema_version, unverified_sha256_ids,
invalid_metadata_ids (and payload with --payload). A refused file gives {"error": "Type: message"}.

--json     one JSON object on stdout (default: one "key: value" line per field)
--payload  add the exact canonical text genblaze hashes
--batch    read one path per line on stdin and print one JSON object per line, in order
           (one Python start-up for many files)

Exit status (single file): 0 when hash_ok, 1 when the hash does not match, 2 when genblaze refuses
the file. --batch exits 0 once every line is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from genblaze_core.canonical.json import canonical_json
from genblaze_core.models.manifest import _hash_payload, parse_manifest


def verdict(path: Path, with_payload: bool = False) -> dict:
    """genblaze's verdict on one file; {"error": ...} when genblaze refuses it."""
    try:
        manifest = parse_manifest(json.loads(path.read_text(encoding="utf-8")))
        payload = canonical_json(_hash_payload(manifest.schema_version, manifest.run))
        report = manifest.verification_report()
    except Exception as exc:  # genblaze's refusal is the answer, whatever its type
        return {"hash_ok": False, "verify_ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result = {
        "hash_ok": report.hash_ok,
        "verify_ok": report.ok,
        "stored_hash": manifest.canonical_hash,
        "recomputed_hash": hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        "schema_version": manifest.schema_version,
        "unverified_sha256_ids": list(report.unverified_sha256_ids),
        "invalid_metadata_ids": list(report.invalid_metadata_ids),
    }
    if with_payload:
        result["payload"] = payload
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description="genblaze's verdict on manifest files")
    parser.add_argument("manifest", type=Path, nargs="?")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of key: value lines")
    parser.add_argument("--payload", action="store_true", help="include the canonical hash pre-image")
    parser.add_argument("--batch", action="store_true", help="paths on stdin, one JSON object per line out")
    args = parser.parse_args()

    if args.batch:
        if args.manifest is not None:
            parser.error("--batch reads paths from stdin; give no MANIFEST")
        for line in sys.stdin.read().splitlines():
            result = verdict(Path(line), args.payload)
            print(json.dumps(result, ensure_ascii=False), flush=False)
        return 0
    if args.manifest is None:
        parser.error("give a MANIFEST file, or --batch")

    result = verdict(args.manifest, args.payload)
    if "error" in result:
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        else:
            print(f"error: {result['error']}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            if key != "payload":
                print(f"{key}: {json.dumps(value) if isinstance(value, (bool, list)) else value}")
        if args.payload:
            print("payload:")
            print(result["payload"])
    return 0 if result["hash_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
