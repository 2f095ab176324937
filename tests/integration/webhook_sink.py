#!/usr/bin/env python3
"""webhook_sink.py PORT OUT [CERT KEY]: a webhook receiver for the
integration tests. Every POST body is appended to OUT as one JSON line
{"path": ..., "body": ...}; GET answers 200 (readiness). With CERT and KEY
(PEM files) it speaks HTTPS only. Stdlib only; runs until killed."""
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sink(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


srv = HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
