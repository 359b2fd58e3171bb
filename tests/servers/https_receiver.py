#!/usr/bin/env python3
"""An HTTPS receiver for the sender's tests, on loopback.

    https_receiver.py CERT KEY LOG

Listens on 127.0.0.1 (a free port, printed on stdout as "PORT n"), TLS with
CERT/KEY, and answers by path: /200, /201, /400, /429 (Retry-After: 2),
/500, /hang (never answers), /slam (closes the connection without an
answer), /big (a 10 MB body), /loop (redirects to itself), /slow?ms=N.
Every request it read is appended to LOG as one JSON line: method, path,
headers, body.
"""
import json
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse, parse_qs

cert, key, log = sys.argv[1:4]
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body=b"ok", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace")
        url = urlparse(self.path)
        with lock, open(log, "a") as f:
            f.write(json.dumps({"method": self.command, "path": url.path,
                                "headers": dict(self.headers.items()), "body": body}) + "\n")
        p = url.path
        if p in ("/200", "/201", "/400", "/500"):
            self.answer(int(p[1:]), ("answer " + p[1:]).encode())
        elif p == "/429":
            self.answer(429, b"slow down", [("Retry-After", "2")])
        elif p == "/hang":
            time.sleep(30)
        elif p == "/slam":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        elif p == "/big":
            self.send_response(200)
            self.send_header("Content-Length", str(10 * 1024 * 1024))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(160):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif p == "/loop":
            self.answer(302, b"", [("Location", "/loop")])
        elif p == "/slow":
            time.sleep(int(parse_qs(url.query).get("ms", ["100"])[0]) / 1000)
            self.answer(200)
        else:
            self.answer(404, b"no such path")

    do_POST = do_PUT = do_GET = handle_any


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print("PORT", server.server_address[1], flush=True)
server.serve_forever()
