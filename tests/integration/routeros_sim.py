#!/usr/bin/env python3
"""routeros_sim.py: a MikroTik RouterOS API simulator for Tide's tests
(Python stdlib, asyncio), written from MikroTik's API documentation.

One process serves many simulated routers, each on its own 127.0.0.1 port
(and, with --cert/--key, a second API-SSL port). It speaks the wire protocol
exactly: length-prefixed words in all five encodings, sentences, !re / !done
/ !trap / !fatal / !empty, .tag on every reply of a tagged command, both
logins (RouterOS >= 6.43 plain `/login =name= =password=`, and the legacy
MD5 challenge: `/login` -> `=ret=<challenge>`, then
`=response=00<md5(0x00 + password + challenge)>`), `=.proplist=`,
`=count-only=`, `?` queries (`?k=v`, `?k`, `?-k`, `?<k=v`, `?>k=v`, `?#!&|`),
and the command replies of RouterOS v6 and v7 routers (field names and value
formats as MikroTik documents them: `rx-byte`, `cpu-load`,
`uptime=1w2d3h4m5s`, `rate=1000/2000`, v6 `/system/health` as one row, v7 as
name/value rows, v6 `/routing/bgp/peer`, v7 `/routing/bgp/session`). Values
advance with time (counters at fixed rates) unless --frozen.

Fault modes (per device, set at start with --fault I:MODE or at run time on
the control port with "fault I|all MODE"):
  none      normal
  drop      the reply to the next command stops mid-sentence; connection closed
  fatal     the next command gets `!fatal`; connection closed
  garbage   the next command gets a reserved control byte as a length
  silence   login works; commands are read and never answered
  trap      every command is answered with !trap
  badutf8   every !re row carries a comment that is not UTF-8
  oversize  the first !re of each reply carries a 100000-byte word
  disabled  connections are accepted and closed at once (API restricted)

Usage:
  routeros_sim.py serve --count N --ports-file F [--version 6|7|mixed]
      [--login plain|md5|mixed] [--user U --password P] [--cert C --key K]
      [--interfaces N] [--frozen] [--fault I:MODE]...
  routeros_sim.py replies --version 6|7 [--index I]   JSON: each command's rows (frozen)
  routeros_sim.py expect --version 6|7 --identity ID --address A
      JSON: every series Tide should produce for that device (frozen)

The ports file (written once all listen) is JSON: {"control": port,
"devices": [{"index", "port", "tls_port", "identity", "version"}]}.
Control port: one line per request; "fault I|all MODE", "stats" (JSON of
commands served and connections per device), "quit".
"""
import argparse
import asyncio
import hashlib
import json
import os
import ssl
import sys
import time

# ---------------------------------------------------------------- wire


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([(n >> 8) | 0x80, n & 0xFF])
    if n < 0x200000:
        return bytes([(n >> 16) | 0xC0, (n >> 8) & 0xFF, n & 0xFF])
    if n < 0x10000000:
        return bytes([(n >> 24) | 0xE0, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])
    return bytes([0xF0]) + n.to_bytes(4, "big")


def enc_sentence(words):
    out = bytearray()
    for w in words:
        b = w if isinstance(w, bytes) else w.encode()
        out += enc_len(len(b)) + b
    out += b"\0"
    return bytes(out)


async def read_len(reader):
    c = (await reader.readexactly(1))[0]
    if c < 0x80:
        return c
    if c < 0xC0:
        return ((c & 0x3F) << 8) | (await reader.readexactly(1))[0]
    if c < 0xE0:
        return ((c & 0x1F) << 16) | int.from_bytes(await reader.readexactly(2), "big")
    if c < 0xF0:
        return ((c & 0x0F) << 24) | int.from_bytes(await reader.readexactly(3), "big")
    if c < 0xF8:
        return int.from_bytes(await reader.readexactly(4), "big")
    raise ValueError("control byte 0x%02x" % c)


async def read_sentence(reader):
    words = []
    while True:
        n = await read_len(reader)
        if n == 0:
            return words
        words.append((await reader.readexactly(n)).decode("utf-8", "replace"))


# ---------------------------------------------------------------- data


def dur(seconds):
    """RouterOS duration text: 1w2d3h4m5s."""
    s = int(seconds)
    out = ""
    for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n:
            out += "%d%s" % (s // n, unit)
            s %= n
    if s or not out:
        out += "%ds" % s
    return out


class Router:
    """One simulated router's state and replies."""

    def __init__(self, index, version, login, user, password, interfaces, frozen, start):
        self.index = index
        self.version = version
        self.login = login
        self.user = user
        self.password = password
        self.identity = "sim-%d" % index
        self.ninterfaces = interfaces
        self.frozen = frozen
        self.start = start
        self.fault = "none"
        self.served = 0
        self.connections = 0

    def t(self):
        return 0.0 if self.frozen else time.monotonic() - self.start

    def interfaces(self):
        t = self.t()
        rows = []
        names = ["ether%d" % (i + 1) for i in range(max(self.ninterfaces - 2, 1))]
        names += ["wlan1", "lte1"][: max(self.ninterfaces - len(names), 0)]
        for i, name in enumerate(names):
            kind = "ether" if name.startswith("ether") else ("wlan" if name == "wlan1" else "lte")
            running = "false" if name == "ether3" else "true"
            k = i + 1
            rows.append({
                ".id": "*%X" % k, "name": name, "default-name": name, "type": kind,
                "mtu": "1500", "actual-mtu": "1500",
                "mac-address": "4C:5E:0C:00:%02X:%02X" % (self.index % 256, k),
                "fast-path": "true", "link-downs": str(k),
                "rx-byte": str(int(1000000 * k + 125000 * k * t)),
                "tx-byte": str(int(500000 * k + 62500 * k * t)),
                "rx-packet": str(int(1000 * k + 100 * k * t)),
                "tx-packet": str(int(800 * k + 80 * k * t)),
                "rx-drop": str(2 * k), "tx-drop": str(k),
                "tx-queue-drop": "0", "rx-error": str(3 * k), "tx-error": str(k + 1),
                "fp-rx-byte": "0", "fp-tx-byte": "0",
                "running": running, "disabled": "false",
                "comment": "uplink" if k == 1 else "",
            })
        return rows

    def tables(self):
        """Every print command's rows."""
        t = self.t()
        v7 = self.version == "7"
        up = 1000000 + t
        res = {
            "uptime": dur(up), "version": "7.14.3 (stable)" if v7 else "6.49.10 (long-term)",
            "build-time": "Apr/15/2024 10:11:12", "factory-software": "6.44.6",
            "free-memory": str(int(700000000 - 1000 * (int(t) % 60))),
            "total-memory": "1073741824", "cpu": "ARMv7", "cpu-count": "4",
            "cpu-frequency": "1400", "cpu-load": str(5 + int(t) % 10),
            "free-hdd-space": "400000000", "total-hdd-space": "536870912",
            "architecture-name": "arm", "board-name": "RB4011iGS+", "platform": "MikroTik",
        }
        if not v7:
            res["write-sect-since-reboot"] = "1234"
        cpu = [{".id": "*%d" % i, "cpu": "cpu%d" % i, "load": str(4 + i + int(t) % 5),
                "irq": "0", "disk": "0"} for i in range(4)]
        if v7:
            health = [
                {".id": "*1", "name": "voltage", "value": "24.1", "type": "V"},
                {".id": "*2", "name": "temperature", "value": "37", "type": "C"},
                {".id": "*3", "name": "cpu-temperature", "value": "45", "type": "C"},
                {".id": "*4", "name": "fan1-speed", "value": "3200", "type": "RPM"},
                {".id": "*5", "name": "fan2-speed", "value": "3100", "type": "RPM"},
            ]
        else:
            health = [{"voltage": "24.1", "temperature": "37", "cpu-temperature": "45",
                       "fan1-speed": "3200", "fan2-speed": "3100"}]
        fw_filter = [
            {".id": "*1", "chain": "input", "action": "accept", "bytes": str(int(50000 + 1000 * t)),
             "packets": str(int(500 + 10 * t)), "comment": "established", "log": "false",
             "disabled": "false", "invalid": "false", "dynamic": "false"},
            {".id": "*2", "chain": "input", "action": "drop", "bytes": str(int(7000 + 100 * t)),
             "packets": str(int(70 + t)), "comment": "drop all else", "log": "true",
             "disabled": "false", "invalid": "false", "dynamic": "false"},
        ]
        fw_nat = [
            {".id": "*1", "chain": "srcnat", "action": "masquerade",
             "bytes": str(int(900000 + 9000 * t)), "packets": str(int(9000 + 90 * t)),
             "comment": "", "log": "false", "disabled": "false", "invalid": "false",
             "dynamic": "false"},
        ]
        leases = [
            {".id": "*%X" % i, "address": "10.0.%d.%d" % (i % 2, 10 + i),
             "mac-address": "AA:BB:CC:00:00:%02X" % i, "server": "lan%d" % (i % 2 + 1),
             "status": "bound" if i != 4 else "waiting", "dynamic": "true"}
            for i in range(1, 6)
        ]
        pool_used = [
            {"pool": "dhcp_pool1", "address": "10.0.1.11", "owner": "lan1", "info": "x"},
            {"pool": "dhcp_pool1", "address": "10.0.1.13", "owner": "lan1", "info": "x"},
            {"pool": "pppoe_pool", "address": "10.9.0.2", "owner": "ppp", "info": "y"},
        ]
        ppp = [
            {".id": "*1", "name": "alice", "service": "pppoe", "caller-id": "AA:00:00:00:00:01",
             "address": "10.9.0.2", "uptime": dur(3600 + t), "encoding": "", "radius": "false"},
            {".id": "*2", "name": "bob", "service": "pppoe", "caller-id": "AA:00:00:00:00:02",
             "address": "10.9.0.3", "uptime": dur(60 + t), "encoding": "", "radius": "false"},
            {".id": "*3", "name": "carol", "service": "l2tp", "caller-id": "198.51.100.7",
             "address": "10.9.0.4", "uptime": dur(7 + t), "encoding": "", "radius": "false"},
        ]
        qs = [
            {".id": "*1", "name": "client-a", "target": "10.0.1.11/32", "parent": "none",
             "rate": "%d/%d" % (1000 + int(t) % 7, 2000), "packet-rate": "10/20",
             "bytes": "%d/%d" % (int(100000 + 1000 * t), int(200000 + 2000 * t)),
             "packets": "%d/%d" % (int(1000 + 10 * t), int(2000 + 20 * t)),
             "dropped": "%d/%d" % (5, 6), "queued-bytes": "0/0", "queued-packets": "0/0",
             "max-limit": "10M/10M", "disabled": "false"},
        ]
        qt = [
            {".id": "*1", "name": "down-all", "parent": "global", "packet-mark": "",
             "rate": str(5000 + int(t) % 3), "packet-rate": "50",
             "bytes": str(int(300000 + 3000 * t)), "packets": str(int(3000 + 30 * t)),
             "dropped": "9", "queued-bytes": "0", "queued-packets": "0",
             "max-limit": "100M", "disabled": "false"},
        ]
        if v7:
            qt = []  # v7 answers !empty
        routerboard = [{"routerboard": "true", "board-name": "RB4011iGS+",
                        "model": "RB4011iGS+", "serial-number": "D0D00%05d" % self.index,
                        "firmware-type": "al2", "factory-firmware": "6.44.6",
                        "current-firmware": "7.14.3" if v7 else "6.49.10",
                        "upgrade-firmware": "7.14.3" if v7 else "6.49.10"}]
        tables = {
            "/system/resource": [res],
            "/system/resource/cpu": cpu,
            "/system/identity": [{"name": self.identity}],
            "/system/routerboard": routerboard,
            "/system/health": health,
            "/interface": self.interfaces(),
            "/ip/firewall/connection": [
                {".id": "*%X" % i, "protocol": "tcp", "src-address": "10.0.1.%d:4000" % i,
                 "dst-address": "198.51.100.1:443"} for i in range(1, 43 + int(t) % 3)],
            "/ip/firewall/filter": fw_filter,
            "/ip/firewall/nat": fw_nat,
            "/ip/dhcp-server/lease": leases,
            "/ip/pool/used": pool_used,
            "/ppp/active": ppp,
            "/queue/simple": qs,
            "/queue/tree": qt,
        }
        if v7:
            tables["/routing/bgp/session"] = [
                {".id": "*1", "name": "upstream-1", "remote.address": "192.0.2.1",
                 "remote.as": "64500", "local.as": "64512", "local.address": "192.0.2.2",
                 "established": "true", "uptime": dur(86400 + t),
                 "prefix-count": "812345", "remote.messages": str(int(1000 + 2 * t)),
                 "local.messages": str(int(900 + t)), "remote.bytes": str(int(50000 + 100 * t)),
                 "local.bytes": str(int(40000 + 50 * t)), "remote.afi": "ip",
                 "local.afi": "ip"},
                {".id": "*2", "name": "ix-peer", "remote.address": "203.0.113.9",
                 "remote.as": "64501", "local.as": "64512", "local.address": "203.0.113.2",
                 "established": "false", "prefix-count": "0", "remote.messages": "3",
                 "local.messages": "4", "remote.bytes": "100", "local.bytes": "120",
                 "remote.afi": "ip", "local.afi": "ip"},
            ]
            tables["/interface/wifi/registration-table"] = [
                {".id": "*1", "interface": "wifi1", "mac-address": "AA:00:00:00:10:01",
                 "signal": "-61", "uptime": dur(100 + t)},
            ]
        else:
            tables["/routing/bgp/peer"] = [
                {".id": "*1", "name": "upstream-1", "instance": "default",
                 "remote-address": "192.0.2.1", "remote-as": "64500", "state": "established",
                 "uptime": dur(86400 + t), "prefix-count": "812345",
                 "updates-sent": str(int(900 + t)), "updates-received": str(int(1000 + 2 * t)),
                 "withdrawn-received": "7", "established": "true", "disabled": "false"},
                {".id": "*2", "name": "ix-peer", "instance": "default",
                 "remote-address": "203.0.113.9", "remote-as": "64501", "state": "active",
                 "prefix-count": "0", "updates-sent": "4", "updates-received": "3",
                 "withdrawn-received": "0", "established": "false", "disabled": "false"},
            ]
            tables["/interface/wireless/registration-table"] = [
                {".id": "*1", "interface": "wlan1", "mac-address": "AA:00:00:00:10:01",
                 "signal-strength": "-61dBm@6Mbps", "tx-rate": "54Mbps", "uptime": dur(100 + t)},
                {".id": "*2", "interface": "wlan1", "mac-address": "AA:00:00:00:10:02",
                 "signal-strength": "-72dBm@1Mbps", "tx-rate": "11Mbps", "uptime": dur(50 + t)},
            ]
        return tables

    def monitor(self, menu, names):
        rows = []
        for name in names:
            if menu == "/interface/ethernet" and name.startswith("ether"):
                row = {"name": name, "status": "link-ok" if name != "ether3" else "no-link"}
                if name != "ether3":  # no rate without a link
                    row.update({"rate": "1Gbps" if name == "ether1" else "100Mbps",
                                "full-duplex": "true"})
                rows.append(row)
            elif menu == "/interface/lte" and name.startswith("lte"):
                rows.append({"pin-status": "ok", "registration-status": "registered",
                             "functionality": "full", "current-operator": "Geocell",
                             "access-technology": "Evolved 3G (LTE)", "rssi": "-67",
                             "rsrp": "-95", "rsrq": "-10", "sinr": "12",
                             "session-uptime": dur(5000 + self.t())})
        return rows

    def ping(self, address, count):
        rows = []
        base = 10 + sum(address.encode()) % 20  # ms
        lost = address.endswith(".66")
        rtts = []
        for seq in range(count):
            row = {"seq": str(seq), "host": address, "sent": str(seq + 1)}
            if lost:
                row["status"] = "timeout"
            else:
                rtt = base * 1000 + 250 * seq  # us
                rtts.append(rtt)
                row.update({"size": "56", "ttl": "57", "time": us_text(rtt)})
            row["received"] = str(len(rtts))
            row["packet-loss"] = str(int(100 * (seq + 1 - len(rtts)) / (seq + 1)))
            if rtts:
                row["min-rtt"] = us_text(min(rtts))
                row["avg-rtt"] = us_text(sum(rtts) // len(rtts))
                row["max-rtt"] = us_text(max(rtts))
            rows.append(row)
        return rows


def us_text(us):
    """RouterOS time text: 12ms250us."""
    ms, rest = divmod(int(us), 1000)
    out = ""
    if ms:
        out += "%dms" % ms
    if rest or not out:
        out += "%dus" % rest
    return out


# ---------------------------------------------------------------- queries


def query_match(row, queries):
    """RouterOS API query words over one row: a stack machine."""
    stack = []
    for q in queries:
        w = q[1:]
        if w.startswith("#"):
            for op in w[1:]:
                if op == "!":
                    stack.append(not stack.pop())
                elif op in "&|":
                    b, a = stack.pop(), stack.pop()
                    stack.append((a and b) if op == "&" else (a or b))
                elif op == ".":
                    stack.append(stack[-1])
            continue
        if w.startswith("-"):
            stack.append(w[1:] not in row)
        elif w.startswith("<") or w.startswith(">"):
            k, _, v = w[1:].partition("=")
            try:
                a, b = float(row.get(k, "nan")), float(v)
                stack.append(a < b if w[0] == "<" else a > b)
            except ValueError:
                stack.append(False)
        elif "=" in w:
            k, _, v = w.partition("=")
            stack.append(row.get(k) == v)
        else:
            stack.append(w in row)
    return all(stack)


def parse_command(words):
    cmd = words[0] if words else ""
    attrs, api, queries, tag = {}, {}, [], None
    for w in words[1:]:
        if w.startswith(".tag="):
            tag = w[5:]
        elif w.startswith("=."):
            k, _, v = w[2:].partition("=")
            api[k] = v
        elif w.startswith("="):
            k, _, v = w[1:].partition("=")
            attrs[k] = v
        elif w.startswith("?"):
            queries.append(w)
    return cmd, attrs, api, queries, tag


def answer(router, cmd, attrs, api, queries):
    """The sentences (as word lists, without tags) a command gets."""
    v7 = router.version == "7"
    menu, _, verb = cmd.rpartition("/")
    if verb == "print":
        tables = router.tables()
        if menu not in tables:
            return [["!trap", "=message=no such command prefix"], ["!done"]]
        rows = [r for r in tables[menu] if query_match(r, queries)]
        if "count-only" in attrs:
            return [["!done", "=ret=%d" % len(rows)]]
        props = api.get("proplist")
        out = []
        for r in rows:
            keys = props.split(",") if props else list(r.keys())
            out.append(["!re"] + ["=%s=%s" % (k, r[k]) for k in keys if k in r])
        if not out and v7:
            out.append(["!empty"])
        return out + [["!done"]]
    if verb == "monitor" and menu in ("/interface/ethernet", "/interface/lte"):
        names = attrs.get("numbers", "").split(",")
        out = [["!re"] + ["=%s=%s" % kv for kv in r.items()] for r in router.monitor(menu, names)]
        if not out:
            return [["!trap", "=message=no such item"], ["!done"]]
        return out + [["!done"]]
    if cmd == "/ping":
        count = int(attrs.get("count", "3"))
        rows = router.ping(attrs.get("address", "0.0.0.0"), count)
        return [["!re"] + ["=%s=%s" % kv for kv in r.items()] for r in rows] + [["!done"]]
    if cmd == "/cancel":
        return [["!done"]]
    return [["!trap", "=message=no such command prefix"], ["!done"]]


# ---------------------------------------------------------------- serving


class Session:
    def __init__(self, router, reader, writer):
        self.r = router
        self.reader = reader
        self.writer = writer
        self.logged_in = False
        self.challenge = None

    async def send(self, words, tag):
        if tag is not None:
            words = words + [".tag=%s" % tag]
        self.writer.write(enc_sentence(words))

    async def login(self, attrs, tag):
        r = self.r
        if "response" in attrs and self.challenge is not None:
            want = hashlib.md5(b"\0" + r.password.encode() + self.challenge).hexdigest()
            if attrs.get("name") == r.user and attrs["response"] == "00" + want:
                self.logged_in = True
                await self.send(["!done"], tag)
            else:
                await self.send(["!trap", "=message=invalid user name or password (6)"], tag)
                await self.send(["!done"], tag)
            return
        if r.login == "md5" or "password" not in attrs:
            self.challenge = os.urandom(16)
            await self.send(["!done", "=ret=" + self.challenge.hex()], tag)
            return
        if attrs.get("name") == r.user and attrs.get("password") == r.password:
            self.logged_in = True
            await self.send(["!done"], tag)
        else:
            await self.send(["!trap", "=message=invalid user name or password (6)"], tag)
            await self.send(["!done"], tag)

    async def run(self):
        r = self.r
        r.connections += 1
        if r.fault == "disabled":
            return
        while True:
            words = await read_sentence(self.reader)
            if not words:
                continue
            cmd, attrs, api, queries, tag = parse_command(words)
            if r.fault == "silence" and cmd != "/login":
                continue
            if cmd == "/login":
                await self.login(attrs, tag)
                await self.writer.drain()
                continue
            if not self.logged_in:
                await self.send(["!fatal", "not logged in"], None)
                await self.writer.drain()
                return
            r.served += 1
            if r.fault == "fatal":
                r.fault = "none"
                await self.send(["!fatal", "session terminated on request"], None)
                await self.writer.drain()
                return
            if r.fault == "garbage":
                r.fault = "none"
                self.writer.write(b"\xf8\xff\xff\xff\x00")
                await self.writer.drain()
                await asyncio.sleep(5)
                return
            if r.fault == "trap":
                await self.send(["!trap", "=category=1", "=message=failure: simulated"], tag)
                await self.send(["!done"], tag)
                await self.writer.drain()
                continue
            sentences = answer(r, cmd, attrs, api, queries)
            if r.fault == "drop":
                r.fault = "none"
                first = sentences[0] + ([".tag=%s" % tag] if tag is not None else [])
                b = enc_sentence(first)
                self.writer.write(b[: max(1, len(b) // 2)])
                await self.writer.drain()
                return
            first_re = True
            for s in sentences:
                if s[0] == "!re" and r.fault == "badutf8":
                    s = s + [b"=comment=\xff\xfe bad"]
                if s[0] == "!re" and r.fault == "oversize" and first_re:
                    s = s + ["=comment=" + "x" * 100000]
                    first_re = False
                await self.send(s, tag)
            await self.writer.drain()


async def handle(router, reader, writer):
    try:
        await Session(router, reader, writer).run()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError, ssl.SSLError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def control(routers, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            parts = line.decode().split()
            if not parts:
                continue
            if parts[0] == "fault" and len(parts) == 3:
                targets = routers if parts[1] == "all" else [routers[int(parts[1])]]
                for r in targets:
                    r.fault = parts[2]
                writer.write(b"ok\n")
            elif parts[0] == "stats":
                writer.write((json.dumps([{"served": r.served, "connections": r.connections}
                                          for r in routers]) + "\n").encode())
            elif parts[0] == "quit":
                writer.write(b"bye\n")
                await writer.drain()
                os._exit(0)
            else:
                writer.write(b"error\n")
            await writer.drain()
    finally:
        writer.close()


def make_routers(a):
    start = time.monotonic()
    routers = []
    for i in range(a.count):
        version = a.version if a.version != "mixed" else ("6" if i % 2 == 0 else "7")
        login = a.login if a.login != "mixed" else ("plain" if i % 2 == 0 else "md5")
        routers.append(Router(i, version, login, a.user, a.password, a.interfaces, a.frozen,
                              start))
    for f in a.fault or []:
        i, _, mode = f.partition(":")
        routers[int(i)].fault = mode
    return routers


async def serve(a):
    routers = make_routers(a)
    tls = None
    if a.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(a.cert, a.key)
    devices = []
    servers = []
    for r in routers:
        s = await asyncio.start_server(lambda rd, wr, r=r: handle(r, rd, wr), "127.0.0.1", 0,
                                       backlog=64)
        servers.append(s)
        d = {"index": r.index, "port": s.sockets[0].getsockname()[1], "tls_port": None,
             "identity": r.identity, "version": r.version, "login": r.login}
        if tls:
            st = await asyncio.start_server(lambda rd, wr, r=r: handle(r, rd, wr), "127.0.0.1",
                                            0, ssl=tls, backlog=64)
            servers.append(st)
            d["tls_port"] = st.sockets[0].getsockname()[1]
        devices.append(d)
    cs = await asyncio.start_server(lambda rd, wr: control(routers, rd, wr), "127.0.0.1", 0)
    tmp = a.ports_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"control": cs.sockets[0].getsockname()[1], "devices": devices}, f)
    os.rename(tmp, a.ports_file)
    deadline = a.max_seconds
    await asyncio.sleep(deadline)  # bounded: stops by itself


# ---------------------------------------------------------------- expectations


def replies(version, index):
    """Each command's rows, frozen: what any client must read of router `index`."""
    r = Router(index, version, "plain", "u", "p", 5, True, time.monotonic())
    out = {}
    for menu, rows in sorted(r.tables().items()):
        out[menu + "/print"] = rows
    out["/interface/print count-only"] = len(r.tables()["/interface"])
    out["/interface/print ?running=true proplist name,rx-byte"] = [
        {"name": x["name"], "rx-byte": x["rx-byte"]} for x in r.tables()["/interface"]
        if x["running"] == "true"]
    return out


def to_num(s):
    return float(s)


def parse_dur(s):
    """1w2d3h4m5s / 12ms250us -> seconds."""
    units = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    total, num, i = 0.0, "", 0
    while i < len(s):
        c = s[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        u = s[i:i + 2] if s[i:i + 2] in ("ms", "us") else c
        total += float(num) * units[u]
        num = ""
        i += len(u)
    return total


def expect(version, identity, address, pings):
    """Every series (name, labels without job/instance/target labels, value)
    that Tide's routeros catalog makes of this router, frozen."""
    index = int(identity.rsplit("-", 1)[1]) if identity.startswith("sim-") else 0
    r = Router(index, version, "plain", "u", "p", 5, True, time.monotonic())
    r.identity = identity
    T = r.tables()
    base = {"routerboard_name": identity, "routerboard_address": address}
    out = []

    def add(metric, value, **labels):
        lab = dict(base)
        lab.update(labels)
        out.append({"name": metric, "labels": lab, "value": float(value)})

    res = T["/system/resource"][0]
    rl = {"version": res["version"], "board_name": res["board-name"], "cpu": res["cpu"],
          "architecture_name": res["architecture-name"]}
    add("mktxp_system_uptime", parse_dur(res["uptime"]), **rl)
    add("mktxp_system_free_memory", res["free-memory"], **rl)
    add("mktxp_system_total_memory", res["total-memory"], **rl)
    add("mktxp_system_free_hdd_space", res["free-hdd-space"], **rl)
    add("mktxp_system_total_hdd_space", res["total-hdd-space"], **rl)
    add("mktxp_system_cpu_load", res["cpu-load"], **rl)
    add("mktxp_system_cpu_count", res["cpu-count"], **rl)
    add("mktxp_system_cpu_frequency", res["cpu-frequency"], **rl)
    for c in T["/system/resource/cpu"]:
        add("routeros_system_cpu_core_load", c["load"], cpu=c["cpu"])
    for i in T["/interface"]:
        n = {"name": i["name"]}
        add("mktxp_interface_rx_byte_total", i["rx-byte"], **n)
        add("mktxp_interface_tx_byte_total", i["tx-byte"], **n)
        add("mktxp_interface_rx_packet_total", i["rx-packet"], **n)
        add("mktxp_interface_tx_packet_total", i["tx-packet"], **n)
        add("mktxp_interface_running", 1 if i["running"] == "true" else 0, **n)
        add("mktxp_interface_disabled", 1 if i["disabled"] == "true" else 0, **n)
        add("mktxp_interface_rx_error_total", i["rx-error"], **n)
        add("mktxp_interface_tx_error_total", i["tx-error"], **n)
        add("mktxp_interface_rx_drop_total", i["rx-drop"], **n)
        add("mktxp_interface_tx_drop_total", i["tx-drop"], **n)
        add("mktxp_link_downs_total", i["link-downs"], **n)
    ethers = [i["name"] for i in T["/interface"] if i["type"] == "ether"]
    rate = {"10Mbps": 1e7, "100Mbps": 1e8, "1Gbps": 1e9, "10Gbps": 1e10}
    for m in r.monitor("/interface/ethernet", ethers):
        if m["status"] == "link-ok":
            add("routeros_interface_link_speed_bits", rate[m["rate"]], name=m["name"])
    add("mktxp_ip_connections_total", len(T["/ip/firewall/connection"]))
    for kind, rows in (("filter", T["/ip/firewall/filter"]), ("nat", T["/ip/firewall/nat"])):
        for f in rows:
            name = "| %s | %s | %s" % (f["chain"], f["action"], f["comment"])
            lab = {"name": name, "log": f["log"]}
            if kind == "filter":
                add("mktxp_firewall_filter_total", f["bytes"], **lab)
                add("routeros_firewall_filter_packets_total", f["packets"], **lab)
            else:
                add("routeros_firewall_nat_bytes_total", f["bytes"], **lab)
                add("routeros_firewall_nat_packets_total", f["packets"], **lab)
    servers = {}
    for l in T["/ip/dhcp-server/lease"]:
        if l["status"] == "bound":
            servers[l["server"]] = servers.get(l["server"], 0) + 1
    for s, n in servers.items():
        add("mktxp_dhcp_lease_active_count", n, server=s)
    pools = {}
    for p in T["/ip/pool/used"]:
        pools[p["pool"]] = pools.get(p["pool"], 0) + 1
    for p, n in pools.items():
        add("mktxp_ip_pool_used", n, pool=p)
    services = {}
    for p in T["/ppp/active"]:
        services[p["service"]] = services.get(p["service"], 0) + 1
    for s, n in services.items():
        add("routeros_ppp_active_sessions", n, service=s)
    for q in T["/queue/simple"]:
        n = {"name": q["name"]}
        for field, metric in (("bytes", "bytes"), ("dropped", "dropped"), ("rate", "rates"),
                              ("packets", "packets")):
            upv, downv = q[field].split("/")
            prefix = "mktxp_queue_simple_" if field != "packets" else "routeros_queue_simple_"
            suffix = "" if field == "rate" else "_total"
            add(prefix + metric + "_upload" + suffix, upv, **n)
            add(prefix + metric + "_download" + suffix, downv, **n)
    for q in T["/queue/tree"]:
        n = {"name": q["name"]}
        add("mktxp_queue_tree_bytes_total", q["bytes"], **n)
        add("routeros_queue_tree_packets_total", q["packets"], **n)
        add("mktxp_queue_tree_dropped_total", q["dropped"], **n)
        add("mktxp_queue_tree_rates", q["rate"], **n)
    if version == "7":
        for b in T["/routing/bgp/session"]:
            lab = {"name": b["name"], "remote_address": b["remote.address"],
                   "remote_as": b["remote.as"]}
            add("mktxp_bgp_established", 1 if b["established"] == "true" else 0, **lab)
            if "uptime" in b:
                add("mktxp_bgp_uptime", parse_dur(b["uptime"]) * 1000, **lab)
            add("mktxp_bgp_prefix_count", b["prefix-count"], **lab)
            add("mktxp_bgp_remote_messages_total", b["remote.messages"], **lab)
            add("mktxp_bgp_local_messages_total", b["local.messages"], **lab)
        wl = T["/interface/wifi/registration-table"]
        sig = "signal"
    else:
        for b in T["/routing/bgp/peer"]:
            lab = {"name": b["name"], "remote_address": b["remote-address"],
                   "remote_as": b["remote-as"]}
            add("mktxp_bgp_established", 1 if b["state"] == "established" else 0, **lab)
            if "uptime" in b:
                add("mktxp_bgp_uptime", parse_dur(b["uptime"]) * 1000, **lab)
            add("mktxp_bgp_prefix_count", b["prefix-count"], **lab)
            add("mktxp_bgp_remote_messages_total", b["updates-received"], **lab)
            add("mktxp_bgp_local_messages_total", b["updates-sent"], **lab)
        wl = T["/interface/wireless/registration-table"]
        sig = "signal-strength"
    per_if = {}
    for w in wl:
        per_if[w["interface"]] = per_if.get(w["interface"], 0) + 1
        add("mktxp_wlan_clients_signal_strength", float(w[sig].split("dBm")[0]),
            interface=w["interface"], mac_address=w["mac-address"])
    for i, n in per_if.items():
        add("mktxp_wlan_registered_clients", n, interface=i)
    ltes = [i["name"] for i in T["/interface"] if i["type"] == "lte"]
    for m, name in zip(r.monitor("/interface/lte", ltes), ltes):
        lab = {"name": name, "operator": m["current-operator"]}
        for f in ("rssi", "rsrp", "rsrq", "sinr"):
            add("mktxp_lte_" + f, m[f], **lab)
        add("mktxp_lte_registration_status", 1, **lab)
    for addr in pings:
        rows = r.ping(addr, 3)
        last = rows[-1]
        lab = {"address": addr}
        add("routeros_ping_sent", last["sent"], **lab)
        add("routeros_ping_received", last["received"], **lab)
        add("routeros_ping_loss_ratio", float(last["packet-loss"]) / 100, **lab)
        if "avg-rtt" in last:
            add("routeros_ping_rtt_min_seconds", parse_dur(last["min-rtt"]), **lab)
            add("routeros_ping_rtt_avg_seconds", parse_dur(last["avg-rtt"]), **lab)
            add("routeros_ping_rtt_max_seconds", parse_dur(last["max-rtt"]), **lab)
    hv = {}
    for h in T["/system/health"]:
        if "name" in h:
            hv[h["name"]] = h["value"]
        else:
            hv.update(h)
    for field, metric in (("voltage", "mktxp_system_routerboard_voltage"),
                          ("temperature", "mktxp_system_routerboard_temperature"),
                          ("cpu-temperature", "mktxp_system_cpu_temperature"),
                          ("fan1-speed", "mktxp_system_fan_one_speed"),
                          ("fan2-speed", "mktxp_system_fan_two_speed")):
        if field in hv:
            add(metric, hv[field])
    rb = T["/system/routerboard"][0]
    add("routeros_system_routerboard_info", 1, model=rb["model"],
        serial_number=rb["serial-number"], firmware=rb["current-firmware"])
    return out


def compare(version, identity, address, pings, result, ignore):
    """Tide's instant-query result (the series of one router) against expect():
    the same series, label for label, with the same values. Labels in
    `ignore` (job, instance, target labels) are left out of the comparison."""
    want = {}
    for s in expect(version, identity, address, pings):
        key = (s["name"],) + tuple(sorted(s["labels"].items()))
        want[key] = s["value"]
    got = {}
    for r in result:
        m = dict(r["metric"])
        name = m.pop("__name__")
        if name in ("up", "scrape_duration_seconds", "scrape_samples_scraped"):
            continue
        for k in ignore:
            m.pop(k, None)
        got[(name,) + tuple(sorted(m.items()))] = float(r["value"][1])
    bad = []
    for k in sorted(set(want) | set(got)):
        if k not in got:
            bad.append("missing in Tide: %s = %s" % (k, want[k]))
        elif k not in want:
            bad.append("not expected: %s = %s" % (k, got[k]))
        elif abs(want[k] - got[k]) > 1e-9 * max(1.0, abs(want[k])):
            bad.append("value of %s: want %r, got %r" % (k, want[k], got[k]))
    names = {k[0] for k in want}
    return bad, len(want), len(names)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--ports-file", required=True)
    s.add_argument("--version", default="7", choices=["6", "7", "mixed"])
    s.add_argument("--login", default="plain", choices=["plain", "md5", "mixed"])
    s.add_argument("--user", default="monitor")
    s.add_argument("--password", default="s3cret-pw")
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--interfaces", type=int, default=5)
    s.add_argument("--frozen", action="store_true")
    s.add_argument("--fault", action="append")
    s.add_argument("--max-seconds", type=float, default=600)
    r = sub.add_parser("replies")
    r.add_argument("--version", default="7", choices=["6", "7"])
    r.add_argument("--index", type=int, default=0)
    e = sub.add_parser("expect")
    e.add_argument("--version", default="7", choices=["6", "7"])
    e.add_argument("--identity", required=True)
    e.add_argument("--address", required=True)
    e.add_argument("--ping", action="append", default=[])
    c = sub.add_parser("compare", help="stdin: Tide's /api/v1/query JSON for one router")
    c.add_argument("--version", default="7", choices=["6", "7"])
    c.add_argument("--identity", required=True)
    c.add_argument("--address", required=True)
    c.add_argument("--ping", action="append", default=[])
    c.add_argument("--ignore", action="append", default=["job", "instance"])
    a = p.parse_args()
    if a.cmd == "compare":
        result = json.load(sys.stdin)["data"]["result"]
        bad, nseries, nnames = compare(a.version, a.identity, a.address, a.ping, result, a.ignore)
        for b in bad:
            print(b)
        print("%d series of %d metrics compared, %d differences" % (nseries, nnames, len(bad)))
        sys.exit(1 if bad else 0)
    if a.cmd == "serve":
        asyncio.run(serve(a))
    elif a.cmd == "replies":
        json.dump(replies(a.version, a.index), sys.stdout, indent=1, sort_keys=True)
    else:
        json.dump(expect(a.version, a.identity, a.address, a.ping), sys.stdout, indent=1)


if __name__ == "__main__":
    main()
