# Regenerates canonical-json-floats.tsv and canonical-json-values.jsonl with genblaze itself:
#   .venv-gb/bin/python spec/vectors/generate-canonical-json.py spec/vectors/canonical-json-floats.tsv spec/vectors/canonical-json-values.jsonl
import json, random, struct, math, sys
from genblaze_core.canonical.json import canonical_json
random.seed(20261122)
vals = []
edge = [0.0, -0.0, 0.1, 7.5, 0.1+0.2, 1/3, math.pi, 123456789.123456789, 1e-5, 1e16, 1e22, 1.7976931348623157e308,
        5e-324, -5e-324, 2**-11, 3*2**-11, 2**-12, 2.5e-10, 1.5e-10, 5e-11, 4.9999999999e-11, 1e-11, -1e-11, -1.5e-300,
        9999999999999998.0, 1234567890123456.8, 1e15, 1e16-2, 0.0001, 0.00001, 123.456, 2e17, 3e-8, 0.7+0.1, 100.0, 7.0,
        1.2345678901234568e16, 4.35, 2.675, 0.5, 1e-4, 9.99999999995e-5, 0.00049999999995, 1e300, float(2**53), float(2**53+2), float(2**63), float(2**64)]
vals += edge + [-v for v in edge]
for _ in range(3000):
    kind = random.random()
    if kind < 0.4:
        bits = random.getrandbits(64)
        v = struct.unpack('<d', struct.pack('<Q', bits))[0]
        if not math.isfinite(v): continue
    elif kind < 0.7:
        v = random.uniform(-1e6, 1e6) * 10 ** random.randint(-14, 20)
    elif kind < 0.85:
        v = round(random.uniform(-1000, 1000), random.randint(0, 14))
    else:
        v = random.randint(-10**6, 10**6) / 2 ** random.randint(0, 45)
    vals.append(v)
with open(sys.argv[1], 'w') as f:
    f.write("# input (Python repr, exact double)\tgenblaze canonical_json text\n")
    for v in vals:
        f.write(f"{v!r}\t{canonical_json(v)}\n")
# string/structure vectors
docs = [
 '{"b":1,"a":2,"A":3,"\\u00e9":4,"e\\u0301":5,"\\uff01":6,"\\ud83d\\ude00":7}',
 '{"s":"cafe\\u0301","t":"\\u212b\\u2126\\uf900","u":"\\ufb01\\uff21","v":"a\\u0328\\u0301"}',
 '["\\u0000\\u0001\\u001f\\b\\f\\n\\r\\t\\"\\\\/\\u007f\\u0080\\u2028\\u2029\\ufeff"]',
 '{"x":[1,-0,10000000000000000000000000000000001,-98765432109876543210,1E2,1e400,-1e400,1e-400,-1e-400,NaN,Infinity,-Infinity]}',
 '{"dup":1,"dup":2,"k":{"z":null,"y":true,"x":false}}',
 '{"nested":{"\\u1e0b\\u0323":"\\u1e0b\\u0323","q\\u0307\\u0323":"q\\u0307\\u0323"}}',
 '[[],{},[[]],{"":""}]',
 '"\\ud800\\udc00\\ud83c\\udf09"',
]
with open(sys.argv[2], 'w') as f:
    for d in docs:
        f.write(json.dumps({"input": d, "canonical": canonical_json(json.loads(d))}, ensure_ascii=False) + "\n")
