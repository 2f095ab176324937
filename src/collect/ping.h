/* ping.h: the ping collector: ICMP echo to many destinations from one
 * thread, as the targets manager's kind "ping" (docs/collect/ping.md).
 *
 *   ping_target.c  the kind: reads a target's keys, resolves its address on
 *                  the worker that starts a round, renders the round's
 *                  result as prometheus-blackbox-exporter's icmp module
 *                  names its series (plus loss ratio and jitter)
 *   ping_engine.c  one thread, one ICMP socket per address family, every
 *                  target's round in flight at once; replies matched by
 *                  sequence number and a per-probe token in the payload
 *   ping_packet.c  building echo requests and parsing replies (fuzzed)
 *
 * Sockets: an unprivileged ICMP datagram socket (SOCK_DGRAM, IPPROTO_ICMP:
 * allowed when the process's group is inside net.ipv4.ping_group_range),
 * else a raw socket (root or CAP_NET_RAW). Neither: a round fails with an
 * error saying which sysctl or capability is missing.
 *
 * Ownership: struct ping_kind owns its engine; the engine owns its sockets
 * and thread; a conn is owned by its target (ping_conn_free()).
 * Thread: see each group of functions.
 */
#ifndef TIDE_COLLECT_PING_H
#define TIDE_COLLECT_PING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"

#define PING_COUNT_MAX 64
#define PING_COUNT_DEFAULT 3
#define PING_TIMEOUT_DEFAULT_MS 1000
#define PING_PACKET_INTERVAL_DEFAULT_MS 100
#define PING_PAYLOAD_BYTES 56 /* as ping(8): 64-byte ICMP messages */

/* ---- packets (ping_packet.c): pure functions ---- */

/* What a received datagram says, when it is an echo reply. */
struct ping_reply {
    uint16_t id, seq;
    uint64_t cookie; /* payload bytes 0..7: the engine's */
    uint64_t token;  /* payload bytes 8..15: the probe's */
    int ttl;         /* from the IPv4 header when present; -1 otherwise */
};

/* Build an echo request (ICMP for AF_INET, ICMPv6 for AF_INET6) with the
 * cookie and token at the start of a PING_PAYLOAD_BYTES payload into buf
 * (at least 8 + PING_PAYLOAD_BYTES bytes). Returns its length. The IPv4
 * checksum is filled in; for ICMPv6 the kernel computes it. */
size_t ping_build_request(uint8_t *buf, int family, uint16_t id, uint16_t seq, uint64_t cookie,
                          uint64_t token);

/* Parse one datagram as received from an ICMP socket of `family`;
 * `ip_header` when it starts with the IPv4 header (a raw IPv4 socket).
 * 0 and *out for an echo reply carrying a payload of at least 16 bytes;
 * TIDE_ENOTFOUND for another ICMP message; TIDE_EPARSE when malformed. */
int ping_parse_reply(const uint8_t *p, size_t n, int family, bool ip_header,
                     struct ping_reply *out);

/* The Internet checksum (RFC 1071) of n bytes. */
uint16_t ping_checksum(const void *p, size_t n);

/* prometheus-blackbox-exporter's probe_ip_addr_hash: FNV-1a (32 bits) of
 * the address bytes (4 for IPv4, 16 for IPv6). */
uint32_t ping_ip_hash(const struct sockaddr *sa);

/* ---- the engine (ping_engine.c) ---- */

/* One round: count probes to addr, packet_interval_ms apart, each waiting
 * at most timeout_ms for its reply. */
struct ping_request {
    struct sockaddr_storage addr; /* AF_INET or AF_INET6 */
    socklen_t addrlen;
    int count; /* 1 … PING_COUNT_MAX */
    int64_t packet_interval_ms;
    int64_t timeout_ms;
};

/* How a round went. rtt_ns[i] < 0: probe i got no reply. */
struct ping_result {
    int sent;         /* probes the kernel took */
    int received;     /* replies */
    int64_t rtt_ns[PING_COUNT_MAX];
    int ttl;          /* hop limit of the last reply; -1 unknown */
    int64_t setup_ns; /* from the request to the first probe on the wire */
    int send_errno;   /* the first send error; 0 none */
};

/* Told when a round is over, on the engine thread. `r` valid during the call. */
typedef void ping_done_fn(void *ctx, const struct ping_result *r);

struct ping_engine;
struct ping_conn;

/* Open the sockets (each family on its own: one may fail) and start the
 * thread. 0, or -errno / -ENOMEM with `e`; *out NULL on failure. */
int ping_engine_new(struct ping_engine **out, struct err *e);
/* Stop the thread (rounds in flight end without done), close, free. Every
 * conn is freed before. NULL is a no-op. */
void ping_engine_free(struct ping_engine *eng);
/* "dgram", "raw" or "none": the socket type the family uses. */
const char *ping_engine_socket(struct ping_engine *eng, int family);

/* Any thread. A conn is one target's handle: at most one round at a time. */
int ping_conn_new(struct ping_engine *eng, struct ping_conn **out, struct err *e);
/* Begin a round; done is called once, from the engine thread. 0, or
 * TIDE_EINVAL when a round is in flight, -EAFNOSUPPORT / -EPERM when the
 * family has no socket (`e` says why). */
int ping_conn_start(struct ping_conn *c, const struct ping_request *req, ping_done_fn *done,
                    void *ctx, struct err *e);
/* Cancel a round in flight (its done is not called after this returns) and
 * free. NULL is a no-op. */
void ping_conn_free(struct ping_conn *c);

/* ---- the kind (ping_target.c) ---- */

struct targets;
struct ping_kind;

/* Register kind "ping" with the manager. *out (freed with ping_kind_free()
 * after targets_free()) is NULL on failure. */
int ping_kind_register(struct targets *m, struct ping_kind **out, struct err *e);
void ping_kind_free(struct ping_kind *k);
/* ping_engine_socket() of the kind's engine: "dgram", "raw" or "none". */
const char *ping_kind_socket(struct ping_kind *k, int family);

#endif
