#!/usr/bin/env python3
"""Readiness probe for scripts/s3-server.sh: makes the bucket (if missing), then a signed PUT, GET and DELETE.

Standard library only (its own SigV4 signing). Reads CAIRN_S3_ENDPOINT, CAIRN_S3_BUCKET and the AWS_* credentials
from the environment. Exits 0 when all three requests succeeded, 1 otherwise with the last failure on stderr
(never the credentials).
"""
import datetime
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def request(method, path, body=b""):
    endpoint = os.environ["CAIRN_S3_ENDPOINT"].rstrip("/")
    access, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    host = urllib.parse.urlsplit(endpoint).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(body).hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), "",
                           "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, payload])
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"
    del headers["host"]
    req = urllib.request.Request(endpoint + urllib.parse.quote(path, safe="/-_.~"), data=body if method in ("PUT", "POST") else None,
                                 method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main():
    bucket = os.environ["CAIRN_S3_BUCKET"]
    try:
        status, body = request("PUT", f"/{bucket}")
        if status not in (200, 409):  # 409: BucketAlreadyOwnedByYou
            raise RuntimeError(f"create bucket: HTTP {status} {body[:200]!r}")
        status, body = request("PUT", f"/{bucket}/cairn-readiness-probe", b"ready")
        if status != 200:
            raise RuntimeError(f"PUT: HTTP {status} {body[:200]!r}")
        status, body = request("GET", f"/{bucket}/cairn-readiness-probe")
        if status != 200 or body != b"ready":
            raise RuntimeError(f"GET: HTTP {status} {body[:200]!r}")
        status, body = request("DELETE", f"/{bucket}/cairn-readiness-probe")
        if status not in (200, 204):
            raise RuntimeError(f"DELETE: HTTP {status} {body[:200]!r}")
    except Exception as error:  # connection refused, timeouts, bad replies: not ready (yet)
        print(f"s3 probe: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
