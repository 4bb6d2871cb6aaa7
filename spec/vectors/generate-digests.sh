#!/usr/bin/env bash
# Regenerates spec/vectors/digests.json (run: spec/vectors/generate-digests.sh > spec/vectors/digests.json) with openssl, b2sum and xxhsum.
set -euo pipefail
gen() { # name kind arg
    local name=$1 kind=$2 arg=$3 f
    f=$(mktemp)
    case $kind in
    text) printf '%s' "$arg" >"$f" ;;
    repeat) head -c "$arg" /dev/zero | tr '\0' 'a' >"$f" ;;
    pattern) python3 -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range($arg)))" >"$f" ;;
    esac
    local sha b2 x64 x128
    sha=$(openssl dgst -sha256 -r "$f" | cut -d' ' -f1)
    b2=$(b2sum -l 256 "$f" | cut -d' ' -f1)
    x64=$(xxhsum -H3 "$f" | sed -E 's/.*= ([0-9a-f]+)$/\1/; s/^XXH3_([0-9a-f]+) .*/\1/; s/^([0-9a-f]+) .*/\1/')
    x128=$(xxhsum -H2 "$f" | cut -d' ' -f1)
    rm -f "$f"
    printf '  {"name": "%s", "kind": "%s", "argument": %s, "sha256": "%s", "blake2b256": "%s", "xxh3_64": "%s", "xxh3_128": "%s"}' \
        "$name" "$kind" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]) if sys.argv[2]=="text" else sys.argv[1])' "$arg" "$kind")" \
        "$sha" "$b2" "$x64" "$x128"
}
echo "["
first=1
while IFS='|' read -r name kind arg; do
    [ $first = 1 ] || echo ","
    first=0
    gen "$name" "$kind" "$arg"
done <<'LIST'
empty|text|
abc|text|abc
nist-448-bit|text|abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq
nist-896-bit|text|abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu
quick-brown-fox|text|The quick brown fox jumps over the lazy dog
nist-million-a|repeat|1000000
pattern-1|pattern|1
pattern-3|pattern|3
pattern-8|pattern|8
pattern-16|pattern|16
pattern-55|pattern|55
pattern-56|pattern|56
pattern-63|pattern|63
pattern-64|pattern|64
pattern-65|pattern|65
pattern-127|pattern|127
pattern-128|pattern|128
pattern-129|pattern|129
pattern-240|pattern|240
pattern-241|pattern|241
pattern-1024|pattern|1024
pattern-4096|pattern|4096
pattern-100003|pattern|100003
pattern-1048577|pattern|1048577
LIST
echo
echo "]"
