#!/usr/bin/env bash
# S3 objects against SeaweedFS (scripts/s3-server.sh, started and stopped here): Cairn's S3ObjectBackend
# (release build with the S3 trait, Sources/cairn-s3-bench) vs boto3 doing the same requests, in the same run,
# alternating, medians of RUNS runs and the ratio Cairn/boto3 (higher is better for Cairn):
#   put MB/s      LARGE_COUNT puts of LARGE_MIB MiB from memory (one PUT each, If-None-Match: *, x-amz-checksum-sha256)
#   get MB/s      reading those objects back whole (Cairn verifies the SHA-256 while reading; boto3 does not)
#   small puts/s  SMALL_COUNT sequential puts of 4 KiB objects (If-None-Match: *, x-amz-checksum-sha256)
# Usage: Benchmarks/compare/s3.sh [RUNS=5] [LARGE_MIB=16] [LARGE_COUNT=8] [SMALL_COUNT=300]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
LARGE_MIB=${2:-16}
LARGE_COUNT=${3:-8}
SMALL_COUNT=${4:-300}
SCRATCH=${SCRATCH:-.build-scale}
OUT=$(mktemp -d -t cairn-s3-bench.XXXXXX)

swift build -c release --traits S3,PostgreSQL --scratch-path "$SCRATCH" --product cairn-s3-bench >&2
BENCH="$SCRATCH/release/cairn-s3-bench"
[ -x .venv-servers/bin/python ] || python3 -m venv .venv-servers
.venv-servers/bin/python -c 'import boto3' 2>/dev/null \
    || .venv-servers/bin/pip install --quiet --disable-pip-version-check boto3==1.43.11 >&2

trap 'bash scripts/s3-server.sh stop; rm -rf "$OUT"' EXIT
bash scripts/s3-server.sh start
eval "$(bash scripts/s3-server.sh env)"

for run in $(seq "$RUNS"); do
    "$BENCH" "$LARGE_MIB" "$LARGE_COUNT" 4096 "$SMALL_COUNT" >>"$OUT/cairn.jsonl"
    .venv-servers/bin/python - "$LARGE_MIB" "$LARGE_COUNT" 4096 "$SMALL_COUNT" >>"$OUT/boto3.jsonl" <<'PY'
import base64, hashlib, json, os, random, sys, time
import boto3
from botocore.config import Config

large_mib, large_count, small_bytes, small_count = map(int, sys.argv[1:5])
s3 = boto3.client("s3", endpoint_url=os.environ["CAIRN_S3_ENDPOINT"], region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 6, "mode": "standard"}))
bucket = os.environ["CAIRN_S3_BUCKET"]
prefix = f"boto3-bench/{random.getrandbits(64)}"
state, large = 0x9E3779B97F4A7C15, bytearray(large_mib << 20)
for i in range(len(large)):  # the same bytes as cairn-s3-bench makes
    state = (state * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
    large[i] = (state >> 33) & 0xFF
def put(body):
    digest = hashlib.sha256(body).digest()
    hexd = digest.hex()
    key = f"{prefix}/objects/sha256/{hexd[:2]}/{hexd}"
    s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*",
                  ChecksumSHA256=base64.b64encode(digest).decode())
    return key
inputs = []
for i in range(large_count):
    body = bytearray(large); body[0:8] = i.to_bytes(8, "little"); inputs.append(bytes(body))
start = time.perf_counter(); keys = [put(b) for b in inputs]; put_time = time.perf_counter() - start
start = time.perf_counter(); total = sum(len(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys)
get_time = time.perf_counter() - start
assert total == large_count * (large_mib << 20)
small = [f"small object {i} ".encode().ljust(small_bytes, b"\x07") for i in range(small_count)]
start = time.perf_counter()
for body in small: put(body)
small_time = time.perf_counter() - start
mb = large_count * (large_mib << 20) / 1e6
print(json.dumps({"put_mb_s": mb / put_time, "get_mb_s": mb / get_time, "small_puts_s": small_count / small_time}))
PY
    echo "run $run/$RUNS done" >&2
done

python3 - "$OUT" <<'PY'
import json, statistics, sys
out = sys.argv[1]
rows = {name: [json.loads(line) for line in open(f"{out}/{name}.jsonl")] for name in ("cairn", "boto3")}
print(f"| measure | Cairn S3ObjectBackend | boto3 | Cairn / boto3 |")
print(f"|---|---|---|---|")
for key, label in (("put_mb_s", "put MB/s"), ("get_mb_s", "get MB/s"), ("small_puts_s", "4 KiB puts/s")):
    cairn = statistics.median(r[key] for r in rows["cairn"])
    boto = statistics.median(r[key] for r in rows["boto3"])
    print(f"| {label} | {cairn:.1f} | {boto:.1f} | {cairn / boto:.2f}x |")
PY
