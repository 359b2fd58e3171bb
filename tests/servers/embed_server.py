#!/usr/bin/env python3
"""An OpenAI-compatible embeddings server for leo-enrich's tests, on loopback.

    embed_server.py MODE_FILE LOG [KEY]

Listens on 127.0.0.1 (a free port, printed on stdout as "PORT n") and
answers POST /v1/embeddings as the OpenAI API does: {"data": [{"index": i,
"embedding": [1536 floats]}, ...]}, each vector made from the input text
(SHA-256 seeded, so the same text gets the same vector).  With KEY, a
request without "Authorization: Bearer KEY" gets 401.

How it answers is read from MODE_FILE at every request (one word; missing
file: ok), so a test switches modes without a restart:
  ok         as above
  429        429 with Retry-After: 1
  500        500
  wrongdim   vectors of 3 values
  nan        a NaN in the first vector (written as the bare token NaN, as
             some servers do: not JSON)
  inf        1e999 in the first vector (JSON, but infinite)
  malformed  a body cut in the middle
  missing    one item fewer than inputs
  hang       never answers (the client's timeout must end it)
  slow       answers as ok after 1 second
Every request is appended to LOG as one JSON line: path, the number of
inputs, model, dimensions, whether the key was right, the mode used.
"""
import hashlib
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

mode_file, log = sys.argv[1], sys.argv[2]
key = sys.argv[3] if len(sys.argv) > 3 else None
lock = threading.Lock()
DIM = 1536


def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


def vector(text, n=DIM):
    rnd = random.Random(hashlib.sha256(text.encode()).digest())
    v = [rnd.gauss(0, 1) for _ in range(n)]
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        m = mode()
        try:
            req = json.loads(raw)
            inputs = req.get("input", [])
            if isinstance(inputs, str):
                inputs = [inputs]
        except ValueError:
            req, inputs = {}, []
        key_ok = key is None or self.headers.get("Authorization") == "Bearer " + key
        with lock, open(log, "a") as f:
            f.write(json.dumps({"path": self.path, "inputs": len(inputs),
                                "model": req.get("model"), "dimensions": req.get("dimensions"),
                                "key_ok": key_ok, "mode": m}) + "\n")
        if self.path != "/v1/embeddings":
            return self.answer(404, '{"error": {"message": "not found"}}')
        if not key_ok:
            return self.answer(401, '{"error": {"message": "bad key"}}')
        if m == "429":
            return self.answer(429, '{"error": {"message": "rate limited"}}', [("Retry-After", "1")])
        if m == "500":
            return self.answer(500, '{"error": {"message": "server error"}}')
        if m == "hang":
            time.sleep(3600)
            return
        if m == "slow":
            time.sleep(1)
        dim = 3 if m == "wrongdim" else DIM
        items = [{"object": "embedding", "index": i, "embedding": vector(t, dim)}
                 for i, t in enumerate(inputs)]
        if m == "missing" and items:
            items.pop()
        body = json.dumps({"object": "list", "data": items, "model": req.get("model"),
                           "usage": {"prompt_tokens": 0, "total_tokens": 0}})
        if m == "nan":
            body = body.replace('"embedding": [', '"embedding": [NaN, ', 1)
        elif m == "inf":
            body = body.replace('"embedding": [', '"embedding": [1e999, ', 1)
        elif m == "malformed":
            body = body[: len(body) // 2]
        self.answer(200, body)


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("PORT %d" % srv.server_address[1], flush=True)
srv.serve_forever()
