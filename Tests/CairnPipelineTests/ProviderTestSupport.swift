import Foundation
import _CairnTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Decodes media files with Python's own zlib/struct/wave modules (an independent decoder) and returns facts.
func inspectMedia(_ path: String) throws -> [String: Any] {
    let script = #"""
        import sys, struct, zlib, wave, json
        path = sys.argv[1]
        data = open(path, 'rb').read()
        if data[:8] == b'\x89PNG\r\n\x1a\n':
            pos, chunks = 8, []
            while pos < len(data):
                n, = struct.unpack('>I', data[pos:pos+4]); t = data[pos+4:pos+8]; body = data[pos+8:pos+8+n]
                crc, = struct.unpack('>I', data[pos+8+n:pos+12+n])
                assert zlib.crc32(t + body) & 0xffffffff == crc, 'bad crc in ' + t.decode()
                chunks.append((t, body)); pos += 12 + n
            assert pos == len(data), 'trailing bytes'
            w, h, depth, ctype = struct.unpack('>IIBB', chunks[0][1][:10])
            assert chunks[0][0] == b'IHDR' and depth == 8 and ctype == 2
            raw = zlib.decompress(b''.join(b for t, b in chunks if t == b'IDAT'))
            assert len(raw) == h * (w * 3 + 1), 'IDAT size'
            frames, seqs = 1, []
            for t, b in chunks:
                if t == b'acTL': frames = struct.unpack('>I', b[:4])[0]
                if t == b'fcTL': seqs.append(struct.unpack('>I', b[:4])[0])
                if t == b'fdAT':
                    seqs.append(struct.unpack('>I', b[:4])[0])
                    assert len(zlib.decompress(b[4:])) == h * (w * 3 + 1), 'fdAT size'
            assert seqs == list(range(len(seqs))), 'sequence numbers'
            fctl = sum(1 for t, b in chunks if t == b'fcTL')
            print(json.dumps({"kind": "png", "width": w, "height": h, "frames": frames, "fctl": fctl,
                              "last": chunks[-1][0].decode()}))
        elif data[:4] == b'RIFF':
            with wave.open(path) as f:
                print(json.dumps({"kind": "wav", "rate": f.getframerate(), "channels": f.getnchannels(),
                                  "frames": f.getnframes(), "sampwidth": f.getsampwidth()}))
        else:
            print(json.dumps({"kind": "text", "text": data.decode('utf-8')}))
        """#
    let result = try runProcess("/usr/bin/env", ["python3", "-c", script, path])
    guard result.status == 0,
        let object = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
    else {
        struct InspectionFailed: Error, CustomStringConvertible { var description: String }
        throw InspectionFailed(description: "python3 could not decode \(path): \(result.stderrText)")
    }
    return object
}

/// A small HTTP JSON job server (Python) listening on 127.0.0.1, stopped when released.
final class TestJobServer: @unchecked Sendable {
    let server: PythonServer
    var port: Int { server.port }

    init() throws {
        let script = #"""
            import json, base64, os, sys, threading
            from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
            log, polls, lock = [], {}, threading.RLock()
            counter = [0]
            class H(BaseHTTPRequestHandler):
                def log_message(self, *a): pass
                def reply(self, status, obj, extra=None):
                    body = json.dumps(obj).encode()
                    self.send_response(status)
                    with lock:
                        counter[0] += 1; n = counter[0]
                    self.send_header('X-Request-Id', 'req-%d' % n)
                    self.send_header('Content-Type', 'application/json')
                    for k, v in (extra or {}).items(): self.send_header(k, v)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers(); self.wfile.write(body)
                def record(self, body):
                    with lock:
                        log.append({"method": self.command, "path": self.path,
                                    "client_request_id": self.headers.get('X-Client-Request-Id'),
                                    "authorization": self.headers.get('Authorization'), "body": body})
                def do_POST(self):
                    n = int(self.headers.get('Content-Length', 0))
                    body = json.loads(self.rfile.read(n))
                    self.record(body)
                    prompt = body.get('prompt') or ''
                    if 'fail503' in prompt and body['attempt'] < 3:
                        return self.reply(503, {"error": "busy"}, {"Retry-After": "0"})
                    if 'bad' in prompt:
                        return self.reply(400, {"error": "bad prompt"})
                    if 'async' in prompt:
                        with lock: polls['job-' + str(body['attempt'])] = 0
                        return self.reply(202, {"id": "job-%d" % body['attempt'], "status": "pending"})
                    out = base64.b64encode(prompt.upper().encode()).decode()
                    self.reply(200, {"id": "sync-1", "status": "succeeded",
                                     "outputs": [{"media_type": "text/plain", "data_base64": out}]})
                def do_GET(self):
                    self.record(None)
                    if self.path == '/log':
                        with lock: return self.reply(200, log)
                    job = self.path.rsplit('/', 1)[-1]
                    with lock:
                        if job not in polls: return self.reply(404, {"error": "no such job"})
                        polls[job] += 1; count = polls[job]
                    if count < 2:
                        return self.reply(200, {"id": job, "status": "processing"})
                    out = base64.b64encode(('done ' + job).encode()).decode()
                    self.reply(200, {"id": job, "status": "succeeded",
                                     "outputs": [{"media_type": "text/plain", "data_base64": out}]})
            # Exit when the test process goes away (its end of our stdin closes), even if it never cleans up.
            threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
            server = ThreadingHTTPServer(('127.0.0.1', 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#
        server = try PythonServer(script: script)
    }

    var baseURL: URL { URL(string: "http://127.0.0.1:\(port)/jobs")! }

    /// The requests the server received, in order.
    func requests() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/log")!)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }
}
