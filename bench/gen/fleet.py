#!/usr/bin/env python3
"""fleet.py: a fleet of fake hosts as the host collector names them, for the
dashboard's screenshots, its 1 000-host check and bench/peer/ui_live.sh.

  fleet.py URL --hosts N --history SECONDS --step SECONDS   backfill, then exit
  fleet.py URL --hosts N --live SECONDS --step SECONDS      write "now" every step
                                                            for SECONDS, then exit
Each host writes tide_host_info (so /api/v1/agents lists it), node_cpu_seconds_total
per mode (2 CPUs), node_memory_MemTotal/MemAvailable/Cached_bytes, one filesystem,
one disk and one network device's counters and node_load1/5/15, through
/api/v1/import/prometheus. --live prints, per write, the wall-clock time the
request was sent (for push-latency measurements) when --stamps FILE is given.
Bounded: every request has a 30 s timeout; --live stops after SECONDS.
"""
import argparse
import math
import random
import sys
import time
import urllib.request


def counter(t, a, b, w, ph):
    """A counter whose rate is a + b cos(w t + ph) (a >= |b|): the same value
    for the same time in every process, so backfill and live writers agree."""
    return a * t + b * math.sin(w * t + ph) / w


def host_lines(i, t_ms, state):
    h = f'host-{i:04d}'
    t = t_ms / 1000.0 - 1.7e9
    w = 2 * math.pi / (1800 + 97 * i)  # each host its own period, 30 to 50 min
    ph = i * 0.37
    load = 0.2 + (i % 7) / 10  # mean busy share
    out = [f'tide_host_info{{instance="{h}",job="agent",hostname="{h}",os="Debian GNU/Linux 12",arch="x86_64",version="0.1.0"}} 1 {t_ms}']
    modes = {'user': (0.7, 0.6), 'system': (0.2, 0.15), 'iowait': (0.05, 0.04), 'irq': (0.01, 0), 'softirq': (0.04, 0.02)}
    busy_a = sum(a for a, _ in modes.values()) * load
    busy_b = sum(b for _, b in modes.values()) * load
    for cpu in (0, 1):
        for m, (a, b) in modes.items():
            v = counter(t, a * load, b * load, w, ph)
            out.append(f'node_cpu_seconds_total{{instance="{h}",job="agent",cpu="{cpu}",mode="{m}"}} {v:.3f} {t_ms}')
        v = counter(t, 1 - busy_a, -busy_b, w, ph)
        out.append(f'node_cpu_seconds_total{{instance="{h}",job="agent",cpu="{cpu}",mode="idle"}} {v:.3f} {t_ms}')
    busy = load * (1 + 0.8 * math.cos(w * t + ph))
    total = 8 << 30
    avail = total * (0.75 - 0.35 * busy)
    out.append(f'node_memory_MemTotal_bytes{{instance="{h}",job="agent"}} {total} {t_ms}')
    out.append(f'node_memory_MemAvailable_bytes{{instance="{h}",job="agent"}} {avail:.0f} {t_ms}')
    out.append(f'node_memory_Cached_bytes{{instance="{h}",job="agent"}} {total * 0.2:.0f} {t_ms}')
    size = 100 << 30
    out.append(f'node_filesystem_size_bytes{{instance="{h}",job="agent",mountpoint="/",device="/dev/sda1"}} {size} {t_ms}')
    out.append(f'node_filesystem_avail_bytes{{instance="{h}",job="agent",mountpoint="/",device="/dev/sda1"}} {size * (0.2 + (i % 10) / 15):.0f} {t_ms}')
    series = (('node_network_receive_bytes_total', 'eth0', 2e6 * (1 + i % 3), 1e6),
              ('node_network_transmit_bytes_total', 'eth0', 5e5, 3e5),
              ('node_disk_read_bytes_total', 'sda', 4e5 * load, 3e5 * load),
              ('node_disk_written_bytes_total', 'sda', 9e5 * load, 6e5 * load))
    for name, dev, a, b in series:
        out.append(f'{name}{{instance="{h}",job="agent",device="{dev}"}} {counter(t, a, b, 3 * w, ph):.0f} {t_ms}')
    for n, f in (('1', 1.0), ('5', 0.8), ('15', 0.6)):
        out.append(f'node_load{n}{{instance="{h}",job="agent"}} {busy * 4 * f:.2f} {t_ms}')
    return out


def post(url, lines):
    body = ('\n'.join(lines) + '\n').encode()
    req = urllib.request.Request(url + '/api/v1/import/prometheus', data=body, method='POST')
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('url')
    ap.add_argument('--hosts', type=int, default=12)
    ap.add_argument('--history', type=float, default=0)
    ap.add_argument('--live', type=float, default=0)
    ap.add_argument('--step', type=float, default=15)
    ap.add_argument('--down', type=int, default=0, help='the last N hosts stop writing early')
    ap.add_argument('--stamps', default='', help='with --live: "SEQ SENT_UNIX_TIME" per write to FILE, '
                    'each write carrying tide_bench_probe = SEQ')
    a = ap.parse_args()
    state = {}
    random.seed(1)
    if a.history:
        now = time.time()
        t = now - a.history
        batch = []
        while t <= now:
            for i in range(a.hosts):
                if a.down and i >= a.hosts - a.down and t > now - 600:
                    continue
                batch += host_lines(i, int(t * 1000), state)
            if len(batch) > 50000:
                post(a.url, batch)
                batch = []
            t += a.step
        if batch:
            post(a.url, batch)
    if a.live:
        stamps = open(a.stamps, 'w') if a.stamps else None
        end = time.time() + a.live
        nxt = time.time()
        seq = 0
        while time.time() < end:
            seq += 1
            t_ms = int(time.time() * 1000)
            lines = []
            for i in range(a.hosts):
                lines += host_lines(i, t_ms, state)
            if stamps:
                lines.append(f'tide_bench_probe {seq} {t_ms}')
            sent = time.time()
            post(a.url, lines)
            if stamps:
                stamps.write(f'{seq} {sent:.6f}\n')
                stamps.flush()
            nxt += a.step
            time.sleep(max(0.0, nxt - time.time()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
