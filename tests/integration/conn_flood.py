#!/usr/bin/env python3
"""conn_flood.py: hold many idle and slow-header HTTP connections to a server.

Usage: conn_flood.py PORT IDLE SLOW HOLD_S READY_FILE

Opens IDLE connections that send nothing and SLOW connections that send a
request line and then one header line a second, never finishing the
headers. Writes "ready" to READY_FILE once all are open, holds them for
HOLD_S seconds (stops by itself), then prints one JSON line: how many of
each kind the server closed, and after how many seconds the last slow one
was closed. Used by test_http_conn_limits.sh and test_http_stop.sh.
"""
import json
import resource
import select
import socket
import sys
import time

port, n_idle, n_slow, hold = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
ready_file = sys.argv[5]

need = n_idle + n_slow + 64
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < need:
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"conn_flood: the open-files hard limit {hard} is below the {need} needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def connect():
    s = socket.socket()
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


idle = [connect() for _ in range(n_idle)]
slow = []
for _ in range(n_slow):
    s = connect()
    s.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
    slow.append(s)
t0 = time.monotonic()
with open(ready_file, "w") as f:
    f.write("ready\n")

open_socks = {s: "idle" for s in idle}
open_socks.update({s: "slow" for s in slow})
closed = {"idle": 0, "slow": 0}
last_slow_closed = 0.0
poller = select.epoll()
for s in open_socks:
    poller.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
by_fd = {s.fileno(): s for s in open_socks}
next_trickle = time.monotonic() + 1
while time.monotonic() - t0 < hold and open_socks:
    for fd, _ in poller.poll(0.2):
        s = by_fd.get(fd)
        if s is None or s not in open_socks:
            continue
        try:
            data = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data:
            continue  # an answer; the server closes after it
        kind = open_socks.pop(s)
        closed[kind] += 1
        if kind == "slow":
            last_slow_closed = time.monotonic() - t0
        poller.unregister(fd)
        s.close()
    if time.monotonic() >= next_trickle:
        next_trickle += 1
        for s, kind in list(open_socks.items()):
            if kind == "slow":
                try:
                    s.send(b"X-Trickle: 1\r\n")
                except OSError:
                    pass
print(json.dumps({"idle_closed": closed["idle"], "slow_closed": closed["slow"],
                  "still_open": len(open_socks), "last_slow_closed_s": round(last_slow_closed, 1)}),
      flush=True)
