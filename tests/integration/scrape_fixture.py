#!/usr/bin/env python3
"""scrape_fixture.py: a small exporter for test_scrape_fixture.sh.

Usage: scrape_fixture.py WORKDIR [CERT KEY]
Listens on 127.0.0.1, HTTP on one free port and (with CERT/KEY) HTTPS on
another, writes "http_port https_port start_s" to WORKDIR/fixture.ports
once listening. Paths:
  /metrics   counters, a series whose job/instance/exported_job labels clash
             with the target's (honor_labels), text format 0.0.4
  /auth      basic auth u:secret-pw, else 401
  /bearer    "Authorization: Bearer tok-123", else 403
  /params    fx_param{module=..., target=...} from the query string
  /gzip      gzip-encoded when asked, fx_gzip{encoding=gzip|identity}
  /accept    fx_accept{accept=<the Accept header>}
  /om        OpenMetrics with a float-seconds timestamp and # EOF
  /big       20 series (for sample_limit 10)
  /labels    a series with 6 labels (for label_limit 3)
  /bad       a line that does not parse
  /sd/NAME   fx_sd{from=NAME}
  /stamped   fx_kept_stamped (own timestamp) and fx_gone (none), until
             /toggle is asked; then neither
"""
import gzip
import http.server
import os
import ssl
import sys
import threading
import time
import urllib.parse

START = int(time.time())
STATE = {"stamped": True}


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, body, status=200, ctype="text/plain; version=0.0.4; charset=utf-8", enc=None):
        data = body.encode()
        if enc == "gzip":
            data = gzip.compress(data)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if enc:
            self.send_header("Content-Encoding", enc)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        p = u.path
        now_ms = int(time.time() * 1000)
        if p == "/metrics":
            self.send('# TYPE fx_requests_total counter\n'
                      'fx_requests_total{code="200"} 10\n'
                      'fx_requests_total{code="500"} 1\n'
                      'fx_clash{job="exported_job_value",instance="exp-inst",'
                      'exported_job="already"} 1\n')
        elif p == "/auth":
            import base64
            want = "Basic " + base64.b64encode(b"u:secret-pw").decode()
            if self.headers.get("Authorization") != want:
                self.send("no\n", 401)
            else:
                self.send("fx_auth 1\n")
        elif p == "/bearer":
            if self.headers.get("Authorization") != "Bearer tok-123":
                self.send("no\n", 403)
            else:
                self.send("fx_bearer 1\n")
        elif p == "/params":
            self.send('fx_param{module="%s",target="%s"} 1\n'
                      % (esc(",".join(q.get("module", []))), esc(",".join(q.get("target", [])))))
        elif p == "/gzip":
            ae = self.headers.get("Accept-Encoding", "")
            enc = "gzip" if "gzip" in ae else None
            self.send('fx_gzip{encoding="%s"} 1\n' % (enc or "identity"), enc=enc)
        elif p == "/accept":
            self.send('fx_accept{accept="%s"} 1\n' % esc(self.headers.get("Accept", "")))
        elif p == "/om":
            self.send("# TYPE fx_om gauge\nfx_om 7 %d.25\n# EOF\n" % START,
                      ctype="application/openmetrics-text; version=1.0.0; charset=utf-8")
        elif p == "/big":
            self.send("".join('fx_big{i="%d"} %d\n' % (i, i) for i in range(20)))
        elif p == "/labels":
            self.send('fx_labels{a="1",b="2",c="3",d="4",e="5"} 1\n')
        elif p == "/bad":
            self.send("fx_ok 1\nfx_bad{ 1\n")
        elif p.startswith("/sd/"):
            self.send('fx_sd{from="%s"} 1\n' % esc(p[4:]))
        elif p == "/stamped":
            if STATE["stamped"]:
                self.send("fx_kept_stamped 1 %d\nfx_gone 1\n" % (now_ms - 1000))
            else:
                self.send("fx_other 1\n")
        elif p == "/toggle":
            STATE["stamped"] = False
            self.send("ok\n")
        else:
            self.send("not found\n", 404)


def serve(srv):
    srv.serve_forever()


def main():
    work = sys.argv[1]
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=serve, args=(plain,), daemon=True).start()
    tls_port = 0
    if len(sys.argv) >= 4:
        tls = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=serve, args=(tls,), daemon=True).start()
        tls_port = tls.server_address[1]
    tmp = os.path.join(work, "fixture.ports.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d %d\n" % (plain.server_address[1], tls_port, START))
    os.rename(tmp, os.path.join(work, "fixture.ports"))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
