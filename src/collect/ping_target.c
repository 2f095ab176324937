/* ping_target.c: the targets manager's kind "ping" (collect/targets.h): a
 * target is one destination (host name, IPv4 or IPv6 address). open() reads
 * the target's own keys (count, timeout, packet_interval, ip_protocol);
 * start() resolves the address on the worker (a slow resolver holds only
 * that worker, never the engine) and hands a round to the engine
 * (ping_engine.c); the engine's done renders the round (below) and calls
 * the manager's done. Asks for the meta series (up, job="ping", instance)
 * and for spread first runs.
 *
 * Series of a round, as prometheus-blackbox-exporter's icmp module writes
 * them, plus Tide's own over the round's `count` probes (docs/collect/ping.md):
 *   probe_success, probe_duration_seconds, probe_dns_lookup_time_seconds,
 *   probe_icmp_duration_seconds{phase="resolve"|"setup"|"rtt"},
 *   probe_ip_protocol, probe_ip_addr_hash, probe_icmp_reply_hop_limit,
 *   probe_icmp_loss_ratio, probe_icmp_jitter_seconds,
 *   probe_icmp_rtt_min_seconds, probe_icmp_rtt_max_seconds
 *
 * Ownership: struct ping_kind owns the engine; a target (struct ping_tgt)
 * owns its conn and a copy of its address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/ping.h"
#include "collect/targets.h"
#include "core/time.h"
#include "core/yaml_tree.h"

struct ping_kind {
    struct ping_engine *eng;
};

struct ping_tgt {
    struct ping_conn *conn; /* owned */
    char host[256];         /* the address without brackets */
    int prefer;             /* AF_INET or AF_INET6 (blackbox's preferred_ip_protocol) */
    int count;
    int64_t timeout_ms, packet_interval_ms;
    /* The round in flight (set by start, read by the engine's done). */
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t now_ms, start_ns, resolve_ns;
    struct sockaddr_storage addr;
};

static int ping_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    struct ping_kind *k = kind_ctx;
    const struct yaml_node *cfg = spec->config;
    *state = NULL;
    if (spec->address == NULL || spec->address[0] == 0)
        return yaml_tree_err(cfg, TIDE_EINVAL, e,
                             "target %s: a ping target needs an address (host name or IP)",
                             spec->name);
    const char *a = spec->address;
    size_t n = strlen(a);
    if (a[0] == '[' && n > 2 && a[n - 1] == ']') {
        a++;
        n -= 2;
    }
    if (n >= sizeof ((struct ping_tgt *)0)->host)
        return yaml_tree_err(yaml_tree_get(cfg, "address"), TIDE_EINVAL, e,
                             "ping: address too long");
    int64_t count = PING_COUNT_DEFAULT, pi = PING_PACKET_INTERVAL_DEFAULT_MS, to = -1;
    const char *proto = "ip6";
    if (yaml_tree_get_int(cfg, "count", 1, PING_COUNT_MAX, &count, e) != 0 ||
        yaml_tree_get_duration(cfg, "packet_interval", &pi, e) != 0 ||
        yaml_tree_get_duration(cfg, "timeout", &to, e) != 0 ||
        yaml_tree_get_str(cfg, "ip_protocol", &proto, e) != 0)
        return e->code;
    if (strcmp(proto, "ip4") != 0 && strcmp(proto, "ip6") != 0)
        return yaml_tree_err(yaml_tree_get(cfg, "ip_protocol"), TIDE_EINVAL, e,
                             "ip_protocol must be ip4 or ip6 (the preferred one; the other "
                             "is used when the name has no address of it)");
    if (pi < 1 || pi > 60000)
        return yaml_tree_err(yaml_tree_get(cfg, "packet_interval"), TIDE_EINVAL, e,
                             "packet_interval must be 1ms..1m");
    int64_t spread = (count - 1) * pi;
    if (to < 0) { /* default: 1 s, or what the interval leaves after the last probe */
        to = PING_TIMEOUT_DEFAULT_MS;
        if (spread + to > spec->interval_ms)
            to = spec->interval_ms - spread;
        if (to < 10)
            return yaml_tree_err(yaml_tree_get(cfg, "count"), TIDE_EINVAL, e,
                                 "ping: %lld probes %lld ms apart do not fit in the %lld ms "
                                 "interval",
                                 (long long)count, (long long)pi, (long long)spec->interval_ms);
    } else if (to < 10 || to > 600000) {
        return yaml_tree_err(yaml_tree_get(cfg, "timeout"), TIDE_EINVAL, e,
                             "timeout must be 10ms..10m");
    } else if (spread + to > spec->interval_ms) {
        return yaml_tree_err(yaml_tree_get(cfg, "timeout"), TIDE_EINVAL, e,
                             "ping: (count-1) x packet_interval + timeout = %lld ms exceeds "
                             "the %lld ms interval",
                             (long long)(spread + to), (long long)spec->interval_ms);
    }
    struct ping_tgt *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_SET(e, -ENOMEM, "ping: out of memory");
    memcpy(t->host, a, n);
    t->host[n] = 0;
    t->prefer = strcmp(proto, "ip4") == 0 ? AF_INET : AF_INET6;
    t->count = (int)count;
    t->timeout_ms = to;
    t->packet_interval_ms = pi;
    int rc = ping_conn_new(k->eng, &t->conn, e);
    if (rc != 0) {
        free(t);
        return rc;
    }
    *state = t;
    return 0;
}

/* Resolve t->host into t->addr, preferring t->prefer (blackbox's
 * preferred_ip_protocol with fallback). 0 or TIDE_ENOTFOUND with `e`. */
static int resolve(struct ping_tgt *t, struct err *e)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_RAW};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(t->host, NULL, &hints, &res);
    if (g != 0)
        return ERR_SET(e, TIDE_ENOTFOUND, "ping: cannot resolve %s: %s", t->host,
                       gai_strerror(g));
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (pick == NULL || (ai->ai_family == t->prefer && pick->ai_family != t->prefer))
            pick = ai;
    }
    if (pick == NULL) {
        freeaddrinfo(res);
        return ERR_SET(e, TIDE_ENOTFOUND, "ping: %s has no IPv4 or IPv6 address", t->host);
    }
    memset(&t->addr, 0, sizeof t->addr);
    memcpy(&t->addr, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static int gauge(struct batch *b, const char *name, const char *lname, const char *lvalue,
                 int64_t t_ms, double v)
{
    int rc = batch_begin_series(b);
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("__name__"), strv_c(name));
    if (rc == 0 && lname)
        rc = batch_add_label(b, strv_c(lname), strv_c(lvalue));
    if (rc == 0)
        rc = batch_add_sample(b, t_ms, v);
    if (rc == 0)
        rc = batch_end_series(b);
    return rc;
}

/* The round's series into t->out; r NULL when the address did not resolve. */
static int render(struct ping_tgt *t, const struct ping_result *r)
{
    struct batch *b = t->out;
    int64_t ts = t->now_ms;
    double total = (double)(time_mono_ns() - t->start_ns) / 1e9;
    double resolve_s = (double)t->resolve_ns / 1e9;
    double setup_s = r && r->setup_ns > 0 ? (double)r->setup_ns / 1e9 : 0;
    double sum = 0, mn = INFINITY, mx = 0, jit = 0, prev = -1;
    int jn = 0;
    for (int i = 0; r && i < t->count; i++) {
        if (r->rtt_ns[i] < 0)
            continue;
        double v = (double)r->rtt_ns[i] / 1e9;
        sum += v;
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        if (prev >= 0) {
            jit += fabs(v - prev);
            jn++;
        }
        prev = v;
    }
    int got = r ? r->received : 0;
    int rc = gauge(b, "probe_success", NULL, NULL, ts, got > 0 ? 1 : 0);
    if (rc == 0)
        rc = gauge(b, "probe_duration_seconds", NULL, NULL, ts, total);
    if (rc == 0)
        rc = gauge(b, "probe_dns_lookup_time_seconds", NULL, NULL, ts, resolve_s);
    if (rc == 0)
        rc = gauge(b, "probe_icmp_duration_seconds", "phase", "resolve", ts, resolve_s);
    if (rc == 0)
        rc = gauge(b, "probe_icmp_duration_seconds", "phase", "setup", ts, setup_s);
    if (rc == 0)
        rc = gauge(b, "probe_icmp_duration_seconds", "phase", "rtt", ts, got ? sum / got : 0);
    if (r == NULL)
        return rc;
    if (rc == 0)
        rc = gauge(b, "probe_ip_protocol", NULL, NULL, ts, t->addr.ss_family == AF_INET6 ? 6 : 4);
    if (rc == 0)
        rc = gauge(b, "probe_ip_addr_hash", NULL, NULL, ts,
                   ping_ip_hash((const struct sockaddr *)&t->addr));
    if (rc == 0 && got > 0 && r->ttl >= 0)
        rc = gauge(b, "probe_icmp_reply_hop_limit", NULL, NULL, ts, r->ttl);
    if (rc == 0)
        rc = gauge(b, "probe_icmp_loss_ratio", NULL, NULL, ts,
                   1.0 - (double)got / (double)t->count);
    if (rc == 0 && jn > 0)
        rc = gauge(b, "probe_icmp_jitter_seconds", NULL, NULL, ts, jit / jn);
    if (rc == 0 && got > 0)
        rc = gauge(b, "probe_icmp_rtt_min_seconds", NULL, NULL, ts, mn);
    if (rc == 0 && got > 0)
        rc = gauge(b, "probe_icmp_rtt_max_seconds", NULL, NULL, ts, mx);
    return rc;
}

/* ping_done_fn: on the engine thread. */
static void on_round_done(void *ctx, const struct ping_result *r)
{
    struct ping_tgt *t = ctx;
    struct err e;
    err_clear(&e);
    int rc = render(t, r);
    if (rc != 0)
        ERR_SET(&e, rc, "ping: out of memory");
    else if (r->sent == 0 && r->send_errno != 0)
        rc = ERR_SET(&e, -r->send_errno, "ping: cannot send to %s: %s", t->host,
                     strerror(r->send_errno));
    t->done(t->token, rc, &e);
}

static int ping_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                      void *token, struct err *e)
{
    struct ping_tgt *t = state;
    t->out = out;
    t->done = done;
    t->token = token;
    t->now_ms = now_ms;
    t->start_ns = time_mono_ns();
    int rc = resolve(t, e);
    t->resolve_ns = time_mono_ns() - t->start_ns;
    if (rc != 0) {
        (void)render(t, NULL); /* probe_success 0, delivered with the failure */
        return rc;
    }
    struct ping_request req = {
        .addr = t->addr,
        .addrlen = t->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                 : sizeof(struct sockaddr_in),
        .count = t->count,
        .packet_interval_ms = t->packet_interval_ms,
        .timeout_ms = t->timeout_ms,
    };
    rc = ping_conn_start(t->conn, &req, on_round_done, t, e);
    if (rc != 0)
        (void)render(t, NULL);
    return rc;
}

static void ping_close(void *state)
{
    struct ping_tgt *t = state;
    if (t == NULL)
        return;
    ping_conn_free(t->conn);
    free(t);
}

static const struct target_kind ping_target_kind = {
    .name = "ping",
    .meta_series = true,
    .spread = true,
    .open = ping_open,
    .start = ping_start,
    .close = ping_close,
};

int ping_kind_register(struct targets *m, struct ping_kind **out, struct err *e)
{
    *out = NULL;
    struct ping_kind *k = calloc(1, sizeof *k);
    if (k == NULL)
        return ERR_SET(e, -ENOMEM, "ping: out of memory");
    int rc = ping_engine_new(&k->eng, e);
    if (rc == 0) {
        rc = targets_register_kind(m, &ping_target_kind, k);
        if (rc != 0)
            ERR_SET(e, rc, "ping: cannot register the ping kind");
    }
    if (rc != 0) {
        ping_kind_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void ping_kind_free(struct ping_kind *k)
{
    if (k == NULL)
        return;
    ping_engine_free(k->eng);
    free(k);
}

const char *ping_kind_socket(struct ping_kind *k, int family)
{
    return ping_engine_socket(k->eng, family);
}
