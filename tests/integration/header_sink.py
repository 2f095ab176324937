#!/usr/bin/env python3
"""header_sink.py PORT OUT: a remote-write receiver for the forwarding tests
that keeps, for every POST, the request line and the headers a sender
chose (Authorization, Content-Encoding, Content-Type, User-Agent, X-*) as
one JSON line in OUT, and answers 204. GET answers 200 (readiness)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Sink(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        keep = {k: v for k, v in self.headers.items()
                if k.lower() in ("authorization", "content-encoding", "content-type", "user-agent")
                or k.lower().startswith("x-")}
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": self.path, "headers": keep}) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
