/* snmp.h: the SNMP poller's pieces, bottom-up (docs/collect/snmp.md).
 *
 *   snmp_module.c  modules as data: OIDs to walk/get, metric names and
 *                  types, lookups, parsed from YAML (`snmp_modules:`)
 *   snmp_if_mib.c  the built-in if_mib module (snmp_exporter's names), as
 *                  YAML text read by the same parser
 *   snmp_creds.c   v1/v2c community and v3 USM credentials from the
 *                  target's YAML or the CLI's flags; applied to a session
 *   snmp_value.c   varbind values as float64 samples and label strings
 *   snmp_engine.c  one thread running every device's requests at once on
 *                  net-snmp's single-session API (GET, GETBULK/GETNEXT walks)
 *   snmp_render.c  a walk's varbinds → series of a module
 *   snmp_target.c  the targets-manager kind "snmp" (collect/targets.h)
 *
 * Data flow: targets manager → snmp_target start() → engine (UDP) →
 * varbinds → render → batch → manager's done → sink.
 * Credentials live only in struct snmp_creds and the net-snmp session; no
 * message built here contains a community, a password or a key.
 */
#ifndef TIDE_COLLECT_SNMP_H
#define TIDE_COLLECT_SNMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/batch.h"

#define SNMP_OID_MAX 128 /* sub-identifiers in an OID (net-snmp's MAX_OID_LEN) */
#define SNMP_MAX_REPETITIONS_DEFAULT 25
#define SNMP_TIMEOUT_DEFAULT_MS 5000 /* per request; each retry waits as long again */
#define SNMP_RETRIES_DEFAULT 3
#define SNMP_MAX_VARBINDS 1000000 /* per poll: a device that never ends a walk */
#define SNMP_PORT_DEFAULT 161

struct yaml_node;
struct targets;

/* ---- OIDs ---- */

struct snmp_oid {
    uint32_t v[SNMP_OID_MAX];
    size_t n;
};

/* "1.3.6.1.2.1.1.3" (a leading dot allowed) → *out. TIDE_EINVAL when it is
 * not numeric (a MIB name such as "ifName" is refused: modules use numbers). */
int snmp_oid_parse(const char *s, struct snmp_oid *out);
/* Dotted text into out (cap bytes, truncated); returns out. */
char *snmp_oid_format(const uint32_t *v, size_t n, char *out, size_t cap);
/* -1, 0, 1 as a comes before, equals or after b (lexicographic, SNMP order). */
int snmp_oid_cmp(const uint32_t *a, size_t an, const uint32_t *b, size_t bn);
/* True when `o` lies under `root` (root itself included). */
bool snmp_oid_under(const uint32_t *o, size_t on, const struct snmp_oid *root);

/* ---- modules (snmp_module.c) ---- */

enum snmp_metric_type {
    SNMP_GAUGE = 1, /* the value as it is */
    SNMP_COUNTER,   /* monotonic; Counter64 exact up to 2^53 (docs) */
    SNMP_INFO,      /* value 1; `labels` read from string columns or scalars */
};

struct snmp_label_src {
    char *label;         /* label name */
    struct snmp_oid oid; /* its column (indexed metric) or scalar object (no .0) */
};

/* One metric of a module. An indexed metric (index != NULL) reads the column
 * `oid`, one series per row, its row index (the OID suffix, dotted) in the
 * label `index`; a scalar reads oid.0. */
struct snmp_metric {
    char *name;
    enum snmp_metric_type type;
    struct snmp_oid oid;           /* GAUGE/COUNTER: the value */
    bool has_fallback;             /* rows missing from `oid` read this column */
    struct snmp_oid fallback;      /* e.g. ifInOctets for ifHCInOctets */
    char *index;                   /* index label, NULL for a scalar */
    struct snmp_label_src *labels; /* INFO only */
    size_t nlabels;
};

/* A lookup: rows of `oid` become label `label` on every metric indexed by
 * `index` (snmp_exporter's lookups: ifIndex → ifName, ifDescr, ifAlias). */
struct snmp_lookup {
    char *label;
    struct snmp_oid oid;
    char *index;
};

/* A module. Owner: struct snmp_modules (all strings in its arena); read-only
 * after snmp_modules_add(), shared by every target that names it. */
struct snmp_module {
    char *name;
    struct snmp_oid *walk; /* subtrees walked (derived from the metrics unless given) */
    size_t nwalk;
    struct snmp_oid *get; /* scalar objects fetched with GET (.0 included) */
    size_t nget;
    struct snmp_metric *metrics;
    size_t nmetrics;
    struct snmp_lookup *lookups;
    size_t nlookups;
    int max_repetitions; /* 0 = the target's / default */
    int64_t timeout_ms;  /* 0 = the target's / default */
    int retries;         /* -1 = the target's / default */
};

/* A set of modules by name: the built-in ones and the user's. Owns every
 * module and string (one arena). Thread: read-only after loading. */
struct snmp_modules {
    struct snmp_module *v;
    size_t n, cap;
    struct arena arena;
};

void snmp_modules_init(struct snmp_modules *ms);
void snmp_modules_fini(struct snmp_modules *ms);
/* Add every module of `section` (a mapping name → module; NULL = none),
 * replacing a module of the same name. 0, or TIDE_EINVAL / TIDE_ENOTFOUND
 * (unknown key) / TIDE_EPARSE with the node's line:col in `e` (a bad OID
 * names it). */
int snmp_modules_add(struct snmp_modules *ms, const struct yaml_node *section, struct err *e);
/* Add the built-in modules (if_mib): 0 or an error of the embedded text. */
int snmp_modules_add_builtin(struct snmp_modules *ms, struct err *e);
/* The module called `name`, NULL when none. */
const struct snmp_module *snmp_modules_find(const struct snmp_modules *ms, const char *name);
/* The built-in modules' YAML text (snmp_if_mib.c). */
extern const char snmp_builtin_modules_yaml[];

/* ---- credentials (snmp_creds.c) ---- */

enum snmp_version { SNMP_V1 = 1, SNMP_V2C, SNMP_V3 };
enum snmp_sec_level { SNMP_NOAUTH_NOPRIV = 1, SNMP_AUTH_NOPRIV, SNMP_AUTH_PRIV };
enum snmp_auth_proto {
    SNMP_AUTH_NONE = 0,
    SNMP_AUTH_MD5,
    SNMP_AUTH_SHA,
    SNMP_AUTH_SHA224,
    SNMP_AUTH_SHA256,
    SNMP_AUTH_SHA384,
    SNMP_AUTH_SHA512
};
enum snmp_priv_proto {
    SNMP_PRIV_NONE = 0,
    SNMP_PRIV_DES,
    SNMP_PRIV_AES,
    SNMP_PRIV_AES192,
    SNMP_PRIV_AES256
};

/* Who we are to a device. Secrets stay in here: nothing prints this struct. */
struct snmp_creds {
    enum snmp_version version; /* default SNMP_V2C */
    char community[128];       /* v1/v2c; default "public" */
    char username[64];         /* v3 */
    enum snmp_sec_level level; /* v3; default from the passwords given */
    enum snmp_auth_proto auth; /* default SHA when auth_password is set */
    char auth_password[128];
    enum snmp_priv_proto priv; /* default AES when priv_password is set */
    char priv_password[128];
    char context[64]; /* v3 context name; "" = default */
    bool level_set;
};

/* Defaults: v2c, community "public". */
void snmp_creds_init(struct snmp_creds *c);
/* Set one key (version, community, username, security_level, auth_protocol,
 * auth_password, priv_protocol, priv_password, context_name) from text.
 * TIDE_ENOTFOUND for another key, TIDE_EINVAL for a bad value; the message
 * never repeats a secret's value. */
int snmp_creds_set(struct snmp_creds *c, const char *key, const char *value, struct err *e);
/* True when `key` is one of the keys above. */
bool snmp_creds_is_key(const char *key);
/* Check the whole (v3: a user; authNoPriv: an auth password of 8+ bytes …);
 * fills in the defaults that depend on other keys. TIDE_EINVAL. */
int snmp_creds_finish(struct snmp_creds *c, struct err *e);
/* Read the credential keys of a target's YAML mapping (others untouched):
 * errors at the node's position. */
int snmp_creds_from_yaml(struct snmp_creds *c, const struct yaml_node *map, struct err *e);

/* ---- values (snmp_value.c) ---- */

/* SNMP's BER tags of values (RFC 1155/2578/3416), as net-snmp's ASN_*. */
enum {
    SNMP_T_INTEGER = 0x02,
    SNMP_T_OCTET_STR = 0x04,
    SNMP_T_NULL = 0x05,
    SNMP_T_OID = 0x06,
    SNMP_T_IPADDRESS = 0x40,
    SNMP_T_COUNTER32 = 0x41,
    SNMP_T_GAUGE32 = 0x42,
    SNMP_T_TIMETICKS = 0x43,
    SNMP_T_OPAQUE = 0x44,
    SNMP_T_COUNTER64 = 0x46,
    SNMP_T_UINTEGER = 0x47,
    SNMP_T_NOSUCHOBJECT = 0x80,
    SNMP_T_NOSUCHINSTANCE = 0x81,
    SNMP_T_ENDOFMIBVIEW = 0x82,
};

/* A varbind, as the engine keeps it (strings and OIDs in the poll's arena).
 * Types are ASN.1/SNMP tags (net-snmp's ASN_* values). */
struct snmp_vb {
    uint32_t *oid;
    size_t oid_n;
    uint8_t type;
    int64_t i;     /* INTEGER */
    uint64_t u;    /* Counter32, Gauge32, TimeTicks, Counter64, UInteger */
    const char *s; /* OCTET STRING bytes, IpAddress (4 bytes), OID (as uint32_t[]) */
    size_t s_n;    /* bytes (OID: sub-identifiers) */
};

/* The value as a sample: 0 and *v, or TIDE_ENOTFOUND for a type that has
 * none (strings, noSuchObject, endOfMibView, …). Counter64 converts to the
 * nearest float64: exact below 2^53, then rounded to 53 significant bits. */
int snmp_value_number(const struct snmp_vb *vb, double *v);
/* The value as label text into out (cap bytes; snmp_exporter's forms:
 * DisplayString as is when valid UTF-8 without control bytes, else hex
 * "0x0A1B…"; OIDs dotted; IpAddress dotted quad; numbers decimal). Returns
 * the length; 0 for a value without text (noSuch…, NULL). */
size_t snmp_value_text(const struct snmp_vb *vb, char *out, size_t cap);
/* A short name for the type ("Counter64", "noSuchInstance", …). */
const char *snmp_type_name(uint8_t type);

/* ---- the engine (snmp_engine.c) ---- */

struct snmp_engine;
struct snmp_conn;

/* What one poll asks of a device. Borrowed until its done is called. */
struct snmp_request {
    const struct snmp_oid *get; /* fetched in one GET, first */
    size_t nget;
    const struct snmp_oid *walk; /* then each subtree walked */
    size_t nwalk;
    int max_repetitions; /* GETBULK (v2c, v3); v1 walks with GETNEXT */
};

/* The result of a poll: varbinds sorted by OID, duplicates dropped. Owned
 * by the conn; valid during the done callback only. */
struct snmp_result {
    struct snmp_vb *v;
    size_t n;
    uint64_t pdus; /* requests sent */
};

/* Called once per snmp_conn_poll(), on the engine thread: rc 0 or negative
 * with `e` (timeout, an auth failure, a malformed answer). */
typedef void snmp_done_fn(void *ctx, int rc, const struct err *e, const struct snmp_result *res);

/* Start the engine thread (and net-snmp, once per process). -errno. */
int snmp_engine_new(struct snmp_engine **out, struct err *e);
/* Close every conn still open (their polls end without done), stop. */
void snmp_engine_free(struct snmp_engine *eng);

/* A device: address "host[:port]" (UDP), credentials (copied), timeout and
 * retries per request. The net-snmp session opens on the first poll (v3:
 * engine discovery then, on the engine thread) and stays open. */
int snmp_conn_new(struct snmp_engine *eng, const char *address, const struct snmp_creds *creds,
                  int64_t timeout_ms, int retries, struct snmp_conn **out, struct err *e);
/* Begin a poll; done follows on the engine thread. TIDE_EINVAL while one is
 * in flight. */
int snmp_conn_poll(struct snmp_conn *c, const struct snmp_request *req, snmp_done_fn *done,
                   void *ctx);
/* Cancel a poll in flight (its done is not called), close the session, free.
 * Waits for the engine thread; never call it from a done callback. */
void snmp_conn_free(struct snmp_conn *c);

/* ---- rendering (snmp_render.c) ---- */

/* The requests a module needs. */
void snmp_module_request(const struct snmp_module *m, int max_repetitions,
                         struct snmp_request *out);
/* Append the module's series for `res` to `out`, stamped now_ms. Returns the
 * series count or -ENOMEM. */
int snmp_render(const struct snmp_module *m, const struct snmp_result *res, int64_t now_ms,
                struct batch *out);

/* ---- the kind (snmp_target.c) ---- */

/* Register kind "snmp" with the manager, with the built-in modules plus the
 * user's `snmp_modules:` section (may be NULL). *out (the kind's context,
 * freed with snmp_kind_free() after targets_free()) is NULL on failure;
 * module errors carry the section's line:col. */
struct snmp_kind;
int snmp_kind_register(struct targets *m, const struct yaml_node *modules, struct snmp_kind **out,
                       struct err *e);
void snmp_kind_free(struct snmp_kind *k);

/* ---- v3 engine ID discovery (snmp_discovery.c), RFC 3414 section 4 ---- */

#define SNMP_DISCOVERY_REQUEST_MAX 64 /* bytes of a discovery request */
#define SNMP_ENGINE_ID_MAX 32         /* RFC 3411 SnmpEngineID: 5..32 octets */

/* Write the discovery request (noAuthNoPriv, reportable, no varbinds) with
 * these message and request IDs into out; returns its length. */
size_t snmp_discovery_request(uint8_t out[SNMP_DISCOVERY_REQUEST_MAX], int32_t msg_id,
                              int32_t req_id);
/* The agent's engine ID from its answer to the request with msg_id (msg, n
 * bytes) into id (SNMP_ENGINE_ID_MAX bytes of room): 0; TIDE_ENOTFOUND for
 * a well-formed answer to another message; TIDE_EPARSE for anything else. */
int snmp_discovery_engine_id(const uint8_t *msg, size_t n, int32_t msg_id, uint8_t *id,
                             size_t *id_n);

#endif
