#!/usr/bin/env python3
"""flaky_proxy.py PORT UPSTREAM FAILS COUNT_FILE: an HTTP proxy on
127.0.0.1:PORT in front of UPSTREAM (a tide serve URL) that answers its
first FAILS POST requests with 503 (Retry-After: 1, a JSON error body) and
forwards everything else: method, path, body and the Content-Type,
Content-Encoding and Authorization headers; the upstream's status, body and
Content-Type come back. Each POST appends a line to COUNT_FILE. For tests of
clients that retry (tide import, the InfluxDB client)."""
import http.server
import sys
import urllib.error
import urllib.request

port, upstream, fails, count_file = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
seen = 0
FORWARD = ("Content-Type", "Content-Encoding", "Authorization", "Accept")


def read_body(h):
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        body = b""
        while True:
            n = int(h.rfile.readline().split(b";")[0].strip(), 16)
            if n == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += h.rfile.read(n)
            h.rfile.readline()
    return h.rfile.read(int(h.headers.get("Content-Length", 0)))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection

    def forward(self, body):
        headers = {h: self.headers[h] for h in FORWARD if self.headers.get(h)}
        rq = urllib.request.Request(upstream + self.path, data=body, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(rq, timeout=30) as r:
                code, out, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            code, out, ctype = e.code, e.read(), e.headers.get("Content-Type")
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self):
        global seen
        body = read_body(self)
        seen += 1
        with open(count_file, "a") as f:
            f.write(f"{seen}\n")
        if seen <= fails:
            msg = b'{"code":"unavailable","message":"busy, try later","error":"busy, try later"}'
            self.send_response(503)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        self.forward(body)

    def do_GET(self):
        self.forward(None)

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
