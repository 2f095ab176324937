#!/usr/bin/env python3
"""sse_clients.py: N live-stream clients as the Hosts screen in live mode opens
them (its four metrics over every host, plus tide_bench_probe), for
bench/peer/ui_live.sh. Each client records when it first receives each
tide_bench_probe value; with fleet.py's --stamps file this gives the push
latency (sample written -> event received).

  sse_clients.py PORT N INTERVAL SECONDS OUT.json
Bounded: stops after SECONDS; sockets time out after 15 s without a byte.
"""
import json
import socket
import sys
import threading
import time
import urllib.parse

W = '60s'
QUERIES = [
    f'1 - avg by (instance) (rate(node_cpu_seconds_total{{mode="idle"}}[{W}]))',
    '1 - sum by (instance) (node_memory_MemAvailable_bytes) / sum by (instance) (node_memory_MemTotal_bytes)',
    'max by (instance) (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)',
    f'sum by (instance) (rate(node_network_receive_bytes_total[{W}]) + rate(node_network_transmit_bytes_total[{W}])) * 8',
    'tide_bench_probe',
]


def client(port, interval, until, out):
    q = urllib.parse.urlencode([('query', x) for x in QUERIES] + [('interval', interval)])
    s = socket.create_connection(('127.0.0.1', port), timeout=15)
    s.sendall(f'GET /api/v1/stream?{q} HTTP/1.1\r\nHost: bench\r\n\r\n'.encode())
    f = s.makefile('rb')
    seen = {}
    events = 0
    nbytes = 0
    probe = len(QUERIES) - 1
    try:
        while time.time() < until:
            line = f.readline()
            if not line:
                break
            nbytes += len(line)
            if not line.startswith(b'data: '):
                continue
            now = time.time()
            events += 1
            m = json.loads(line[6:])
            if m.get('q') == probe:
                for r in m.get('result', []):
                    v = int(float(r['value']))
                    seen.setdefault(v, now)
    except (socket.timeout, OSError):
        pass
    out.append({'seen': seen, 'events': events, 'bytes': nbytes})
    s.close()


def main():
    port, n, interval, secs, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
    until = time.time() + secs
    out = []
    ts = [threading.Thread(target=client, args=(port, interval, until, out)) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(secs + 30)
    with open(path, 'w') as fp:
        json.dump(out, fp)


if __name__ == '__main__':
    main()
