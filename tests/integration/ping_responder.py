#!/usr/bin/env python3
"""ping_responder.py DELAYS_MS DROP_EVERY: answer ICMP echo requests from a
raw socket (run inside a network namespace whose kernel ignores echo, see
test_ping_netns.sh) with a chosen delay and loss, deterministically: the
n-th request (from 0) is dropped when DROP_EVERY > 0 and n % DROP_EVERY ==
DROP_EVERY - 1, else answered after DELAYS_MS[n % len(DELAYS_MS)] ms
(comma-separated). Stands in for `tc netem`, which this kernel lacks.
Prints "ready" once listening; runs until killed."""
import socket
import struct
import sys
import threading


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    delays = [int(x) for x in sys.argv[1].split(",")]
    drop_every = int(sys.argv[2])
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    lock = threading.Lock()
    print("ready", flush=True)
    n = 0
    while True:
        pkt, addr = s.recvfrom(2048)
        ihl = (pkt[0] & 0x0F) * 4
        icmp = pkt[ihl:]
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        i = n
        n += 1
        if drop_every > 0 and i % drop_every == drop_every - 1:
            continue
        reply = bytearray(icmp)
        reply[0] = 0
        reply[2:4] = b"\0\0"
        reply[2:4] = struct.pack("!H", checksum(bytes(reply)))

        def send(r=bytes(reply), a=addr):
            with lock:
                s.sendto(r, a)

        threading.Timer(delays[i % len(delays)] / 1000.0, send).start()


if __name__ == "__main__":
    main()
