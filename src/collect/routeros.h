/* routeros.h: the MikroTik RouterOS API collector's pieces, bottom-up
 * (docs/collect/routeros.md).
 *
 *   routeros_wire.c     words, sentences, the streaming reply decoder
 *   routeros_conn.c     one API connection: non-blocking TCP or API-SSL
 *                       (OpenSSL), login both ways, sentences in and out
 *   routeros_value.c    RouterOS value texts as numbers (1w2d3h, 12ms250us,
 *                       1Gbps, -61dBm@6Mbps, 1000/2000)
 *   routeros_catalog.c  the metric catalog as data: groups, tiers, commands,
 *                       fields → series; rows → batch
 *   routeros_engine.c   one thread driving every device's connection with
 *                       poll(): runs, per-command timeouts, reconnects with
 *                       backoff and jitter
 *   routeros_target.c   the targets-manager kind "routeros" (collect/targets.h)
 *   routeros_probe.c    "test connection": log in, read resource and identity
 *
 * Data flow: manager → routeros_target start() → engine (tagged commands on
 * the device's one connection) → rows → catalog render → batch → done.
 * The password lives in struct ros_conn_cfg only; no message built here
 * contains it.
 */
#ifndef TIDE_COLLECT_ROUTEROS_H
#define TIDE_COLLECT_ROUTEROS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collect/routeros_wire.h"
#include "core/buf.h"
#include "core/err.h"
#include "model/batch.h"

#define ROS_PORT 8728
#define ROS_PORT_TLS 8729
#define ROS_TIMEOUT_DEFAULT_MS 10000 /* connect + login, and each command */
#define ROS_BACKOFF_MIN_MS 1000      /* first reconnect delay */
#define ROS_BACKOFF_MAX_MS 60000
#define ROS_PASSWORD_MAX 256

struct yaml_node;
struct targets;
struct sm_out;

/* ---- one connection (routeros_conn.c) ---- */

/* How a connection failed: what `tide routeros test` tells apart. */
enum ros_fail {
    ROS_OK = 0,
    ROS_F_RESOLVE,  /* the host name does not resolve */
    ROS_F_REFUSED,  /* TCP refused: nothing listens (API service disabled?) */
    ROS_F_TIMEOUT,  /* no answer in time (connect, login or a command) */
    ROS_F_TLS,      /* TLS handshake or certificate verification */
    ROS_F_AUTH,     /* the router refused the user name or password */
    ROS_F_CLOSED,   /* closed by the router before login (API restricted?) */
    ROS_F_FATAL,    /* !fatal from the router */
    ROS_F_PROTOCOL, /* bytes that are not the RouterOS API */
    ROS_F_IO,       /* another socket error, or the connection dropped */
};
const char *ros_fail_name(enum ros_fail f); /* "refused", "timeout", … */

struct ros_conn_cfg {
    char host[256];
    unsigned port;
    bool tls, tls_insecure;
    char tls_ca_file[512]; /* "" = the system's CAs */
    char user[128];
    char password[ROS_PASSWORD_MAX]; /* never logged or shown */
    int64_t timeout_ms;              /* connect + login */
};

/* A reply sentence that is no part of the login (s = NULL: dropped, why). */
typedef void ros_conn_sentence_fn(void *ctx, const struct ros_sentence *s, enum ros_drop why);

enum ros_conn_state { ROS_C_IDLE = 0, ROS_C_CONNECTING, ROS_C_TLS, ROS_C_LOGIN, ROS_C_READY };

struct ros_conn;

/* A closed connection using cfg (borrowed for its life). 0 or -ENOMEM. */
int ros_conn_new(const struct ros_conn_cfg *cfg, ros_conn_sentence_fn *fn, void *ctx,
                 struct ros_conn **out, struct err *e);
void ros_conn_free(struct ros_conn *c);
/* Begin connecting (resolves the host: numeric addresses never block).
 * 0, or a failure (ros_conn_fail() says which; `e` the detail). */
int ros_conn_open(struct ros_conn *c, int64_t now_ns, struct err *e);
/* Close (idempotent): the state is IDLE again. */
void ros_conn_close(struct ros_conn *c);
enum ros_conn_state ros_conn_state(const struct ros_conn *c);
enum ros_fail ros_conn_fail(const struct ros_conn *c);
/* poll() fd and events while not IDLE. */
int ros_conn_fd(const struct ros_conn *c);
short ros_conn_events(const struct ros_conn *c);
/* Work after poll() said `revents` (0 = a timer check at now_ns): connect,
 * handshake, login, read and hand over sentences, write. 0 while healthy;
 * a negative code when the connection failed and was closed (fail() and
 * `e` say why). */
int ros_conn_io(struct ros_conn *c, short revents, int64_t now_ns, struct err *e);
/* Queue a command (words, then the empty word) when READY. 0, -ENOMEM,
 * TIDE_ECLOSED when not ready. */
int ros_conn_send(struct ros_conn *c, const char *const *words, size_t n);
/* The deadline of connect + login, 0 when READY or IDLE. */
int64_t ros_conn_deadline(const struct ros_conn *c);
/* Sentences dropped by the decoder since the connection was made, by
 * reason (index enum ros_drop). */
const uint64_t *ros_conn_drops(const struct ros_conn *c);

/* ---- values (routeros_value.c) ---- */

/* Each parses the whole text; 0 or TIDE_EINVAL. */
int ros_num(struct strv s, double *out);      /* "123", "-5.5", "24.1" */
int ros_bool(struct strv s, double *out);     /* "true"/"yes" 1, "false"/"no" 0 */
int ros_duration(struct strv s, double *out); /* "1w2d3h4m5s", "12ms250us", "00:01:02" → seconds */
int ros_bitrate(struct strv s, double *out);  /* "1Gbps", "100Mbps", "2.5Gbps" → bits/s */
int ros_lead_num(struct strv s, double *out); /* "-61dBm@6Mbps" → -61 */
/* "up/down": part 0 or 1 as a number. */
int ros_pair(struct strv s, int part, double *out);

/* ---- the catalog (routeros_catalog.c) ---- */

/* Catalog groups, each with its default tier. */
enum ros_group {
    ROS_G_SYSTEM,     /* cpu, memory, hdd, uptime — 5s */
    ROS_G_INTERFACE,  /* traffic, running, disabled — 5s */
    ROS_G_CONNTRACK,  /* connection-tracking count — 5s */
    ROS_G_IFERRORS,   /* errors, drops, link downs — 60s */
    ROS_G_LINK,       /* ethernet link speed — 60s */
    ROS_G_PPP,        /* active sessions by service — 60s */
    ROS_G_DHCP,       /* leases per server, pool usage — 60s */
    ROS_G_PING,       /* ping from the router — 60s */
    ROS_G_WIRELESS,   /* registered clients, signal — 60s */
    ROS_G_LTE,        /* RSSI/RSRP/RSRQ/SINR — 60s */
    ROS_G_BGP,        /* peers/sessions — 5m */
    ROS_G_QUEUE,      /* simple and tree queues — 5m */
    ROS_G_FIREWALL,   /* filter and NAT rule counters — 5m */
    ROS_G_HEALTH,     /* temperature, voltage, fans — 1h */
    ROS_G_HARDWARE,   /* routerboard model, serial, firmware; identity — 1h */
    ROS_G_COUNT
};
const char *ros_group_name(enum ros_group g); /* "system", "interface", … */
int64_t ros_group_tier_ms(enum ros_group g);  /* the default tier */
int ros_group_find(const char *name);         /* index or -1 */

/* One command a run sends, and what was read back. */
struct ros_query {
    int def;                /* index into the catalog's query table */
    char arg[256];          /* =numbers= / =address= value; "" = none */
    const char *words[8];   /* the command (points into the catalog) */
    char argword[280];      /* "=numbers=…" / "=address=…" sent after words; "" = none */
    size_t nwords;
    /* Results (filled by the engine). */
    struct buf rows; /* rows back to back: "key\0value\0…\0" with a final "\0" each */
    size_t nrows;
    char ret[32];    /* =ret= of !done (count-only) */
    bool done, trapped, missing; /* missing: "no such command" */
    char trap[160];  /* the !trap message */
};

/* A run: the queries of the groups due, with the device's identity. */
struct ros_run {
    struct ros_query *q;
    size_t n, cap;
};
void ros_run_init(struct ros_run *r);
void ros_run_reset(struct ros_run *r);
void ros_run_fini(struct ros_run *r);

/* What a device remembers between runs (the kind owns one per target). */
struct ros_memory {
    char identity[128];
    char ethers[512]; /* comma-separated ethernet interface names, last seen */
    char ltes[256];   /* the same for LTE interfaces */
    bool missing[64]; /* query defs found missing ("no such command") */
};

/* Append the queries of group g to r (pings: one per address). 0, -ENOMEM;
 * a group whose names are not known yet (link, lte before the first
 * interface poll) or whose queries are all missing adds nothing and
 * returns 1. */
int ros_catalog_plan(struct ros_run *r, enum ros_group g, const struct ros_memory *mem,
                     const char *const *pings, size_t npings);
/* Render the answered queries of r into `out` at now_ms: every series gets
 * routerboard_name (the identity) and routerboard_address (address).
 * Updates mem (identity, interface names). Returns series added, or
 * -ENOMEM. */
int ros_catalog_render(const struct ros_run *r, struct ros_memory *mem, const char *address,
                       int64_t now_ms, struct batch *out);
/* The query def's command path ("/interface/print"), for messages. */
const char *ros_query_path(int def);
enum ros_group ros_query_group(int def);
/* Number of metric names in the catalog, and the i-th (for docs checks). */
size_t ros_catalog_metrics(void);
const char *ros_catalog_metric(size_t i, const char **help, const char **group);

/* ---- the engine (routeros_engine.c) ---- */

struct ros_engine;
struct ros_dev;

/* How a run ended: rc 0 or negative (then fail/e say why); on the engine
 * thread. The run's queries hold what was answered (also on failure). */
typedef void ros_run_done_fn(void *ctx, int rc, enum ros_fail fail, const struct err *e);

int ros_engine_new(struct ros_engine **out, struct err *e);
void ros_engine_free(struct ros_engine *eng); /* devices must be freed first */
/* A device on the engine, connecting on its first run. cfg is copied. */
int ros_dev_new(struct ros_engine *eng, const char *name, const struct ros_conn_cfg *cfg,
                int64_t cmd_timeout_ms, struct ros_dev **out, struct err *e);
/* Cancel a run in flight (its done is not called any more), close, free. */
void ros_dev_free(struct ros_dev *d);
/* Send r's queries (borrowed until done) on the device's connection,
 * connecting first when needed. 0, or TIDE_EINVAL when a run is in flight. */
int ros_dev_run(struct ros_dev *d, struct ros_run *r, ros_run_done_fn *done, void *ctx);
/* Self-metrics of the engine: connections, failures by kind, dropped
 * sentences by reason, devices by state. */
void ros_engine_collect(void *ctx, struct sm_out *o);

/* ---- the kind (routeros_target.c) ---- */

struct ros_kind;
/* Register kind "routeros" with m. *out (freed with ros_kind_free() after
 * targets_free()) is NULL on failure. */
int ros_kind_register(struct targets *m, struct ros_kind **out, struct err *e);
void ros_kind_free(struct ros_kind *k);
/* The engine's self-metrics collect function's ctx (ros_engine_collect). */
struct ros_engine *ros_kind_engine(struct ros_kind *k);
/* Read a target entry's connection keys (address, username, password,
 * password_file, password_env, tls, tls_insecure, tls_ca_file, timeout)
 * into cfg. 0 or an error with the node's position. */
int ros_cfg_from_yaml(const struct yaml_node *item, const char *address, struct ros_conn_cfg *cfg,
                      struct err *e);

/* ---- test connection (routeros_probe.c) ---- */

struct ros_probe {
    enum ros_fail fail; /* ROS_OK when it worked */
    char error[200];    /* the exact failure, no secrets */
    char version[64], board[64], identity[128], uptime[64];
    double elapsed_s;
};
/* Connect, log in, read /system/resource and /system/identity, within
 * cfg->timeout_ms per step; blocking (its own poll loop). Always fills *out;
 * returns 0 when it worked, else a negative code. */
int ros_probe(const struct ros_conn_cfg *cfg, struct ros_probe *out);

#endif
