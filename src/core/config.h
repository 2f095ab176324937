/* config.h: the settings of `tide serve`, from defaults, a YAML file and
 * command-line flags, in that order of precedence (a flag wins over the file).
 *
 * One key space serves both sources: the YAML key `fsync_interval` is the
 * flag `--fsync-interval`. config_set() is the only place a value is parsed
 * and checked, so the file and the flags cannot disagree on syntax.
 * Every key is documented in docs/config.md.
 *
 * Sections. Beside those flat keys the file holds nested sections that other
 * subsystems own (`targets:`, `rule_files:`, `alerting:`, `scrape_configs:`,
 * `remote_write:`, `tiers:`, `global:`...). config.c knows only their names,
 * which each owner registers before the file is loaded:
 *
 *     struct config cfg;
 *     config_defaults(&cfg);
 *     config_section_register(&cfg, "rule_files", rules_parse_config, &rules_cfg);
 *     config_section_register(&cfg, "targets", NULL, NULL);  // read later
 *     config_load_file(&cfg, path, &e);          // runs rules_parse_config()
 *     ...
 *     const struct yaml_node *t = config_section(&cfg, "targets");
 *     // read t with core/yaml_tree.h; errors carry t's line and column
 *     ...
 *     config_fini(&cfg);                         // frees the kept YAML tree
 *
 * A top-level key that is neither a flat key nor a registered section stops
 * the load ("unknown key"), as Prometheus refuses unknown fields; inside a
 * section, its owner calls yaml_tree_check_keys() on each mapping it reads.
 *
 * Ownership: struct config holds its flat strings in fixed arrays. It owns
 * `tree` (freed by config_fini()); section names and contexts are borrowed
 * from the registering code and must outlive the config.
 * Thread: none; main.c fills it once before any thread starts.
 */
#ifndef TIDE_CORE_CONFIG_H
#define TIDE_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct yaml_node;
struct yaml_tree;

#define CONFIG_DEFAULT_PORT 9470 /* clear of 9090 (Prometheus), 8428 (VM), 8086 (Influx) */
#define CONFIG_PATH_MAX 1024

enum config_fsync {
    CONFIG_FSYNC_INTERVAL = 0, /* fsync the WAL every fsync_interval */
    CONFIG_FSYNC_ALWAYS,       /* fsync before a write is acknowledged */
    CONFIG_FSYNC_NEVER,        /* leave it to the kernel */
};

#define CONFIG_SECTIONS_MAX 32 /* sections that can be registered */

/* Parses one section of the file. `section` is the value under the section's
 * key: a mapping, a list, a scalar, or a null scalar (`targets:` with nothing
 * under it); check its kind with yaml_tree_expect(). Returns 0, or a negative
 * code with `e` set at the node at fault (yaml_tree_err() and the typed
 * readers do that). The nodes are valid until config_fini() (or the next
 * config_load_file() of a file with sections): copy what must live longer. */
typedef int config_section_fn(void *ctx, const struct yaml_node *section, struct err *e);

/* One registered section (config_section_register()). */
struct config_section {
    const char *name;         /* top-level key, e.g. "scrape_configs"; borrowed */
    config_section_fn *parse; /* called by config_load_file(); NULL = read later */
    void *ctx;                /* first argument of parse; borrowed */
};

struct config {
    char data_dir[CONFIG_PATH_MAX]; /* `data`: the data directory */
    char listen_host[256];          /* `listen` host part; "" = all interfaces */
    uint16_t listen_port;           /* `listen` port part */
    int64_t retention_ms;           /* `retention`; 0 = keep forever */
    enum config_fsync fsync;        /* `fsync` */
    int64_t fsync_interval_ms;      /* `fsync_interval` */
    int log_level;                  /* `log_level`, an enum log_level */
    size_t max_series;              /* `max_series`; 0 = unlimited */
    size_t max_labels_per_series;   /* `max_labels_per_series`, __name__ included */
    size_t max_label_name_length;   /* `max_label_name_length`, bytes */
    size_t max_label_value_length;  /* `max_label_value_length`, bytes */
    size_t max_request_bytes;       /* `max_request_bytes`: body cap, before and after gunzip */
    unsigned http_threads;          /* `http_threads`: libmicrohttpd thread pool size */
    int64_t http_idle_timeout_ms;   /* `http_idle_timeout`: close idle connections after */
    unsigned http_max_connections;  /* `http_max_connections`: open connections at most */
    unsigned http_max_connections_per_client; /* `http_max_connections_per_client`: per IP */
    int64_t http_header_timeout_ms; /* `http_header_timeout`: first request headers within */
    int64_t partition_ms;           /* `partition_duration`: width of a time partition */
    int64_t head_max_age_ms;        /* `head_max_age`: cut the head into blocks past this */
    int head_cut_on_stop;           /* `head_cut_on_stop`: cut the head at stop (default 0) */
    int collect_host;               /* `collect_host`: collect the local host (default 1) */
    int64_t collect_interval_ms;    /* `collect_interval`: every host group (default 10s) */
    unsigned collect_top_n;         /* `collect_top_n`: top processes by CPU (default 5) */
    char collect_services[1024];    /* `collect_services`: comma-separated service names */
    int64_t query_timeout_ms;       /* `query_timeout`: wall-clock budget of a query (default 2m) */
    uint64_t query_max_samples;     /* `query_max_samples`: points a query may hold (default 50M) */
    unsigned query_max_concurrency; /* `query_max_concurrency`: queries at once; 0 = 2 x CPUs */
    int64_t query_lookback_delta_ms; /* `query_lookback_delta`: instant selector lookback (5m) */
    /* Optional credentials per scope (docs/config.md#authentication); "" = that scope is
     * open. Each key also has a `_file` variant that reads the secret from a file. */
    char auth_write_bearer_token[512]; /* `auth_write_bearer_token`: ingest, delete, admin */
    char auth_read_bearer_token[512];  /* `auth_read_bearer_token`: query, export, metadata */
    char auth_write_basic[512];        /* `auth_write_basic`: "user:password" */
    char auth_read_basic[512];         /* `auth_read_basic`: "user:password" */
    /* Sections (see the top of this file). */
    struct config_section sections[CONFIG_SECTIONS_MAX]; /* in registration order */
    size_t nsections;                                    /* used entries of sections[] */
    struct yaml_tree *tree; /* last file loaded that had a section; NULL if none. Owned */
};

/* Fill every field with its default (see docs/config.md), with no section
 * registered and no tree. Call it once, before anything else: it does not free
 * a tree a previous load kept (config_fini() does). */
void config_defaults(struct config *c);

/* Free what the config owns (the kept YAML tree); nodes config_section()
 * returned become invalid. The flat settings stay readable. Idempotent. */
void config_fini(struct config *c);

/* Declare that the top-level key `name` is a section some subsystem reads.
 * Call after config_defaults() and before config_load_file(). `parse` (may be
 * NULL) is then called by config_load_file() when the file has the section.
 * `name` and `ctx` are borrowed (a string literal and the owner's struct).
 * TIDE_EINVAL when `name` is empty, is a flat key (config_keys) or is already
 * registered; TIDE_ELIMIT past CONFIG_SECTIONS_MAX. */
int config_section_register(struct config *c, const char *name, config_section_fn *parse,
                            void *ctx);

/* The value under the registered top-level key `name` in the loaded file:
 * a node to read with core/yaml_tree.h, valid until config_fini(). NULL when
 * the file has no such key, no file was loaded, or `name` is not registered.
 * May be a null scalar (`name:` with nothing under it). */
const struct yaml_node *config_section(const struct config *c, const char *name);

/* The path of the file config_section() reads from (for "file:line:col"
 * messages, see yaml_tree_format_err()), or NULL when no tree is kept. */
const char *config_file(const struct config *c);

/* Set one key from its text form. `key` uses either spelling ("fsync_interval"
 * or "fsync-interval"). TIDE_ENOTFOUND for an unknown key, TIDE_EINVAL for a
 * bad value; `e` says which and why. */
int config_set(struct config *c, const char *key, const char *value, struct err *e);

/* Read a YAML file: one mapping whose keys are flat keys (a scalar value,
 * applied with config_set()) or registered sections. In two passes over the
 * top-level keys in file order: first every flat key is applied and every key
 * checked (a list or mapping under a flat key, or an unregistered key, stops
 * the load); then the `parse` function of each registered section present is
 * called. The tree is kept in c->tree (for config_section()) when the file has
 * at least one registered section; otherwise freed before returning.
 * Errors carry the 1-based line and column of the offending node in `e`, the
 * message not naming the file (TIDE_EPARSE for bad YAML or a duplicate key,
 * TIDE_ENOTFOUND for an unknown key, TIDE_EINVAL for a bad value, what a
 * section's parse returned, -errno when unreadable with "path: reason").
 * On error, flat keys applied before the bad one stay applied and no tree is
 * kept from this file. */
int config_load_file(struct config *c, const char *path, struct err *e);

/* The keys config_set() knows, NULL-terminated, in documentation order; each
 * with a one-line help text (for `tide serve --help`). */
struct config_key {
    const char *name; /* YAML spelling */
    const char *arg;  /* placeholder for help, e.g. "DURATION" */
    const char *help; /* one line, default included */
};
extern const struct config_key config_keys[];

/* The value of key `name` as text, the way config_set() reads it back
 * ("30d" is written "2592000s"; secrets are written "<secret>" when set).
 * Returns the length written (truncated to cap - 1) or TIDE_ENOTFOUND. */
int config_format(const struct config *c, const char *name, char *out, size_t cap);

/* "always", "interval", "never" */
const char *config_fsync_name(enum config_fsync f);

/* The value parsers config_set() uses, for other flag readers (tide agent).
 * key only names the setting in the error. 0, or TIDE_EINVAL with e set.
 * A decimal count with no sign, no fraction; up to `max`: */
int config_parse_count(const char *key, const char *v, uint64_t max, uint64_t *out,
                       struct err *e);
/* "67108864", "64MiB", "512KiB", "1GiB", "10MB", "1kB": binary units with
 * "i", decimal without; at most SIZE_MAX / 2 bytes. */
int config_parse_size(const char *key, const char *v, uint64_t *out, struct err *e);

#endif
