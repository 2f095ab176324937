/* config.c: defaults, the YAML config file and command-line values for
 * `tide serve`, all funnelled through config_set() (see config.h).
 *
 * The file is read whole into a core/yaml_tree.h tree, so every complaint can
 * name the line and column of the node at fault: "tide.yml:4:1: unknown key
 * \"retenion\"". Its top level is a mapping of flat keys (scalars, applied
 * with config_set()) and of sections registered by the subsystems that read
 * them; config.c knows their names only. Anything else (a list under a flat
 * key, an unregistered key, several documents) is refused, not ignored: a
 * setting silently dropped is worse than a server that will not start.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"
#include "core/yaml_tree.h"

const struct config_key config_keys[] = {
    {"data", "DIR", "data directory (default ./tide-data)"},
    {"listen", "[HOST]:PORT", "address to serve HTTP on (default 127.0.0.1:9470)"},
    {"retention", "DURATION", "drop data older than this; 0 keeps forever (default 30d)"},
    {"fsync", "always|interval|never", "WAL fsync policy (default interval)"},
    {"fsync_interval", "DURATION", "WAL fsync period with fsync=interval (default 1s)"},
    {"log_level", "debug|info|warn|error", "minimum level logged (default info)"},
    {"max_series", "N", "refuse new series past this many; 0 = unlimited (default 0)"},
    {"max_labels_per_series", "N", "labels per series, __name__ included (default 64)"},
    {"max_label_name_length", "BYTES", "longest label name (default 256)"},
    {"max_label_value_length", "BYTES", "longest label value (default 4096)"},
    {"max_request_bytes", "SIZE", "largest request body, also after gunzip (default 64MiB)"},
    {"http_threads", "N", "HTTP worker threads, 1..64 (default 4)"},
    {"http_idle_timeout", "DURATION", "close idle HTTP connections after (default 2m)"},
    {"http_max_connections", "N", "open HTTP connections at most, 16..1000000 (default 4096)"},
    {"http_max_connections_per_client", "N", "open HTTP connections per client IP (default 512)"},
    {"http_header_timeout", "DURATION", "close connections without request headers after (default 10s)"},
    {"partition_duration", "DURATION", "width of a storage time partition (default 1d)"},
    {"head_max_age", "DURATION", "cut the in-memory head into blocks past (default 2h)"},
    {"head_cut_on_stop", "BOOL", "cut the head into blocks at stop instead of replaying the WAL at start (default false)"},
    {"collect_host", "BOOL", "collect this host's metrics into storage (default true)"},
    {"collect_interval", "DURATION", "host collection interval, at least 100ms (default 10s)"},
    {"collect_top_n", "N", "top processes by CPU to report, 0..100 (default 5)"},
    {"collect_services", "LIST", "comma-separated services whose state to report (default none)"},
    {"query_timeout", "DURATION", "abandon a query after this long (default 2m)"},
    {"query_max_samples", "N", "points one query may hold in memory (default 50000000)"},
    {"query_max_concurrency", "N", "queries evaluated at once, others wait; 0 = 2 x CPUs (default 0)"},
    {"query_lookback_delta", "DURATION", "how far back an instant selector looks (default 5m)"},
    {"auth_write_bearer_token", "TOKEN", "bearer token required to write (default none)"},
    {"auth_write_bearer_token_file", "FILE", "read auth_write_bearer_token from a file"},
    {"auth_write_basic", "USER:PASSWORD", "basic auth required to write (default none)"},
    {"auth_write_basic_file", "FILE", "read auth_write_basic from a file"},
    {"auth_read_bearer_token", "TOKEN", "bearer token required to read (default none)"},
    {"auth_read_bearer_token_file", "FILE", "read auth_read_bearer_token from a file"},
    {"auth_read_basic", "USER:PASSWORD", "basic auth required to read (default none)"},
    {"auth_read_basic_file", "FILE", "read auth_read_basic from a file"},
    {NULL, NULL, NULL},
};

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data_dir, sizeof c->data_dir, "./tide-data");
    snprintf(c->listen_host, sizeof c->listen_host, "127.0.0.1");
    c->listen_port = CONFIG_DEFAULT_PORT;
    c->retention_ms = 30LL * 86400000;
    c->fsync = CONFIG_FSYNC_INTERVAL;
    c->fsync_interval_ms = 1000;
    c->log_level = LOG_INFO;
    c->max_series = 0;
    c->max_labels_per_series = 64;
    c->max_label_name_length = 256;
    c->max_label_value_length = 4096;
    c->max_request_bytes = 64u << 20;
    c->http_threads = 4;
    c->http_idle_timeout_ms = 120000;
    c->http_max_connections = 4096;
    c->http_max_connections_per_client = 512;
    c->http_header_timeout_ms = 10000;
    c->partition_ms = 86400000;
    c->head_max_age_ms = 2 * 3600000;
    c->collect_host = 1;
    c->collect_interval_ms = 10000;
    c->collect_top_n = 5;
    c->query_timeout_ms = 2 * 60000;
    c->query_max_samples = 50000000;
    c->query_max_concurrency = 0;
    c->query_lookback_delta_ms = 5 * 60000;
}

const char *config_fsync_name(enum config_fsync f)
{
    switch (f) {
    case CONFIG_FSYNC_ALWAYS:
        return "always";
    case CONFIG_FSYNC_NEVER:
        return "never";
    default:
        return "interval";
    }
}

int config_parse_count(const char *key, const char *v, uint64_t max, uint64_t *out, struct err *e)
{
    if (!isdigit((unsigned char)v[0]))
        return ERR_INVAL(e, "%s: \"%s\" is not a non-negative integer", key, v);
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || *end != 0)
        return ERR_INVAL(e, "%s: \"%s\" is not a non-negative integer", key, v);
    if (n > max)
        return ERR_INVAL(e, "%s: %llu is above the maximum %" PRIu64, key, n, max);
    *out = n;
    return 0;
}

int config_parse_size(const char *key, const char *v, uint64_t *out, struct err *e)
{
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {
        {"", 1},      {"B", 1},     {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"kB", 1000}, {"KB", 1000}, {"MB", 1000000},     {"GB", 1000000000}};
    if (!isdigit((unsigned char)v[0]))
        return ERR_INVAL(e, "%s: \"%s\" is not a size (e.g. 64MiB)", key, v);
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0)
        return ERR_INVAL(e, "%s: \"%s\" is out of range", key, v);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) != 0)
            continue;
        if (n > UINT64_MAX / units[i].mul || n * units[i].mul > (uint64_t)SIZE_MAX / 2)
            return ERR_INVAL(e, "%s: \"%s\" is out of range", key, v);
        *out = n * units[i].mul;
        return 0;
    }
    return ERR_INVAL(e, "%s: \"%s\" has an unknown unit (B, KiB, MiB, GiB, kB, MB, GB)", key, v);
}

static int parse_duration(const char *key, const char *v, int64_t min_ms, int64_t *out,
                          struct err *e)
{
    struct err de = {0};
    int64_t ms;
    if (time_parse_duration_ms(v, &ms, &de) != 0)
        return ERR_INVAL(e, "%s: %s", key, de.msg);
    if (ms < min_ms)
        return ERR_INVAL(e, "%s: \"%s\" is below the minimum of %" PRId64 "ms", key, v, min_ms);
    *out = ms;
    return 0;
}

/* true/1/yes or false/0/no. */
static int parse_bool(const char *key, const char *v, int *out, struct err *e)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0)
        *out = 1;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0)
        *out = 0;
    else
        return ERR_INVAL(e, "%s: \"%s\" is not true or false", key, v);
    return 0;
}

/* "HOST:PORT", ":PORT" (all interfaces), "[V6]:PORT". Port 0 lets the kernel pick. */
static int parse_listen(struct config *c, const char *v, struct err *e)
{
    const char *colon = strrchr(v, ':');
    if (colon == NULL)
        return ERR_INVAL(e, "listen: \"%s\" is not HOST:PORT (e.g. 127.0.0.1:9470 or :9470)", v);
    const char *h = v;
    size_t hn = (size_t)(colon - v);
    if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
        h++;
        hn -= 2;
    } else if (memchr(h, ':', hn) != NULL) {
        return ERR_INVAL(e, "listen: write an IPv6 host in brackets: [%.*s]%s", (int)hn, h, colon);
    }
    if (hn >= sizeof c->listen_host)
        return ERR_INVAL(e, "listen: host name too long");
    uint64_t port;
    if (config_parse_count("listen", colon + 1, 65535, &port, e) != 0)
        return ERR_INVAL(e, "listen: \"%s\" has no valid port (0..65535)", v);
    memcpy(c->listen_host, h, hn);
    c->listen_host[hn] = 0;
    c->listen_port = (uint16_t)port;
    return 0;
}

/* An auth secret, given inline or (`from_file`) as the path of a file
 * whose content, less one trailing newline, is the secret. */
static int set_secret(char *dst, size_t cap, const char *key, const char *v, bool from_file,
                      bool basic, struct err *e)
{
    char tmp[512];
    const char *s = v;
    if (from_file) {
        FILE *f = fopen(v, "rb");
        if (f == NULL)
            return ERR_INVAL(e, "%s: cannot read \"%s\": %s", key, v, strerror(errno));
        size_t n = fread(tmp, 1, sizeof tmp, f);
        bool more = n == sizeof tmp;
        fclose(f);
        if (more)
            return ERR_INVAL(e, "%s: \"%s\" holds more than %zu bytes", key, v, cap - 1);
        while (n > 0 && (tmp[n - 1] == '\n' || tmp[n - 1] == '\r'))
            n--;
        tmp[n] = 0;
        s = tmp;
    }
    size_t n = strlen(s);
    if (n >= cap)
        return ERR_INVAL(e, "%s: longer than %zu bytes", key, cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return ERR_INVAL(e, "%s: spaces and control characters are not allowed", key);
    if (basic && n > 0 && strchr(s, ':') == NULL)
        return ERR_INVAL(e, "%s: expected USER:PASSWORD", key);
    memcpy(dst, s, n + 1);
    return 0;
}

/* The canonical (YAML) spelling of a key: '-' becomes '_'. */
static void canon_key(const char *key, char *out, size_t cap)
{
    size_t i = 0;
    for (; key[i] && i + 1 < cap; i++)
        out[i] = key[i] == '-' ? '_' : key[i];
    out[i] = 0;
}

int config_set(struct config *c, const char *key_in, const char *v, struct err *e)
{
    char key[64];
    canon_key(key_in, key, sizeof key);
    uint64_t n = 0;
    int rc;
    if (v == NULL)
        return ERR_INVAL(e, "%s: missing value", key);

    if (strcmp(key, "data") == 0) {
        if (v[0] == 0)
            return ERR_INVAL(e, "data: empty path");
        if (strlen(v) >= sizeof c->data_dir)
            return ERR_INVAL(e, "data: path longer than %zu bytes", sizeof c->data_dir - 1);
        snprintf(c->data_dir, sizeof c->data_dir, "%s", v);
        return 0;
    }
    if (strcmp(key, "listen") == 0)
        return parse_listen(c, v, e);
    if (strcmp(key, "retention") == 0) {
        if (strcmp(v, "0") == 0) {
            c->retention_ms = 0;
            return 0;
        }
        return parse_duration(key, v, 60000, &c->retention_ms, e);
    }
    if (strcmp(key, "fsync") == 0) {
        if (strcmp(v, "always") == 0)
            c->fsync = CONFIG_FSYNC_ALWAYS;
        else if (strcmp(v, "interval") == 0)
            c->fsync = CONFIG_FSYNC_INTERVAL;
        else if (strcmp(v, "never") == 0)
            c->fsync = CONFIG_FSYNC_NEVER;
        else
            return ERR_INVAL(e, "fsync: \"%s\" is not one of always, interval, never", v);
        return 0;
    }
    if (strcmp(key, "fsync_interval") == 0)
        return parse_duration(key, v, 1, &c->fsync_interval_ms, e);
    if (strcmp(key, "log_level") == 0) {
        int lvl = log_level_parse(v);
        if (lvl < 0)
            return ERR_INVAL(e, "log_level: \"%s\" is not one of debug, info, warn, error", v);
        c->log_level = lvl;
        return 0;
    }
    if (strcmp(key, "max_series") == 0) {
        rc = config_parse_count(key, v, UINT32_MAX, &n, e);
        if (rc == 0)
            c->max_series = (size_t)n;
        return rc;
    }
    if (strcmp(key, "max_labels_per_series") == 0) {
        rc = config_parse_count(key, v, 4096, &n, e);
        if (rc == 0 && n < 1)
            rc = ERR_INVAL(e, "%s: must be at least 1", key);
        if (rc == 0)
            c->max_labels_per_series = (size_t)n;
        return rc;
    }
    if (strcmp(key, "max_label_name_length") == 0 || strcmp(key, "max_label_value_length") == 0) {
        rc = config_parse_count(key, v, 1u << 20, &n, e);
        if (rc == 0 && n < 1)
            rc = ERR_INVAL(e, "%s: must be at least 1", key);
        if (rc != 0)
            return rc;
        if (key[10] == 'n')
            c->max_label_name_length = (size_t)n;
        else
            c->max_label_value_length = (size_t)n;
        return 0;
    }
    if (strcmp(key, "max_request_bytes") == 0) {
        rc = config_parse_size(key, v, &n, e);
        if (rc == 0 && n < 1024)
            rc = ERR_INVAL(e, "%s: must be at least 1KiB", key);
        if (rc == 0)
            c->max_request_bytes = (size_t)n;
        return rc;
    }
    if (strcmp(key, "http_threads") == 0) {
        rc = config_parse_count(key, v, 64, &n, e);
        if (rc == 0 && n < 1)
            rc = ERR_INVAL(e, "%s: must be at least 1", key);
        if (rc == 0)
            c->http_threads = (unsigned)n;
        return rc;
    }
    if (strcmp(key, "http_idle_timeout") == 0)
        return parse_duration(key, v, 1000, &c->http_idle_timeout_ms, e);
    if (strcmp(key, "http_max_connections") == 0 ||
        strcmp(key, "http_max_connections_per_client") == 0) {
        bool per_client = key[20] == '_';
        rc = config_parse_count(key, v, 1000000, &n, e);
        if (rc == 0 && n < (per_client ? 1 : 16))
            rc = ERR_INVAL(e, "%s: must be at least %d", key, per_client ? 1 : 16);
        if (rc != 0)
            return rc;
        if (per_client)
            c->http_max_connections_per_client = (unsigned)n;
        else
            c->http_max_connections = (unsigned)n;
        return 0;
    }
    if (strcmp(key, "http_header_timeout") == 0)
        return parse_duration(key, v, 100, &c->http_header_timeout_ms, e);
    if (strcmp(key, "partition_duration") == 0)
        return parse_duration(key, v, 60000, &c->partition_ms, e);
    if (strcmp(key, "head_max_age") == 0)
        return parse_duration(key, v, 1000, &c->head_max_age_ms, e);
    if (strcmp(key, "head_cut_on_stop") == 0)
        return parse_bool(key, v, &c->head_cut_on_stop, e);
    if (strcmp(key, "collect_host") == 0)
        return parse_bool(key, v, &c->collect_host, e);
    if (strcmp(key, "collect_interval") == 0) {
        return parse_duration(key, v, 100, &c->collect_interval_ms, e);
    }
    if (strcmp(key, "query_timeout") == 0)
        return parse_duration(key, v, 1, &c->query_timeout_ms, e);
    if (strcmp(key, "query_lookback_delta") == 0)
        return parse_duration(key, v, 1, &c->query_lookback_delta_ms, e);
    if (strcmp(key, "query_max_samples") == 0) {
        rc = config_parse_count(key, v, UINT64_MAX / 2, &n, e);
        if (rc == 0 && n < 1)
            rc = ERR_INVAL(e, "%s: must be at least 1", key);
        if (rc == 0)
            c->query_max_samples = n;
        return rc;
    }
    if (strcmp(key, "query_max_concurrency") == 0) {
        rc = config_parse_count(key, v, 1024, &n, e);
        if (rc == 0)
            c->query_max_concurrency = (unsigned)n;
        return rc;
    }
    if (strncmp(key, "auth_", 5) == 0) {
        static const struct {
            const char *name;
            size_t off;
            bool basic;
        } secrets[] = {
            {"auth_write_bearer_token", offsetof(struct config, auth_write_bearer_token), false},
            {"auth_read_bearer_token", offsetof(struct config, auth_read_bearer_token), false},
            {"auth_write_basic", offsetof(struct config, auth_write_basic), true},
            {"auth_read_basic", offsetof(struct config, auth_read_basic), true},
        };
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
            size_t kn = strlen(secrets[i].name);
            if (strncmp(key, secrets[i].name, kn) != 0)
                continue;
            bool file = strcmp(key + kn, "_file") == 0;
            if (key[kn] != 0 && !file)
                continue;
            return set_secret((char *)c + secrets[i].off, sizeof c->auth_write_basic, key, v,
                              file, secrets[i].basic, e);
        }
    }
    if (strcmp(key, "collect_top_n") == 0) {
        rc = config_parse_count(key, v, 100, &n, e);
        if (rc == 0)
            c->collect_top_n = (unsigned)n;
        return rc;
    }
    if (strcmp(key, "collect_services") == 0) {
        if (strlen(v) >= sizeof c->collect_services)
            return ERR_INVAL(e, "collect_services: longer than %zu bytes",
                             sizeof c->collect_services - 1);
        snprintf(c->collect_services, sizeof c->collect_services, "%s", v);
        return 0;
    }
    return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, 0, 0, "unknown key \"%s\"", key_in);
}

/* A duration in the largest unit that divides it exactly ("90s", "2h", "0s"). */
static int format_duration(int64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    if (ms == 0)
        return snprintf(out, cap, "0s");
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0)
            return snprintf(out, cap, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
    return snprintf(out, cap, "%" PRId64 "ms", ms);
}

int config_format(const struct config *c, const char *name, char *out, size_t cap)
{
    char key[64];
    canon_key(name, key, sizeof key);
    int n = -1;
    if (strcmp(key, "data") == 0)
        n = snprintf(out, cap, "%s", c->data_dir);
    else if (strcmp(key, "listen") == 0)
        n = snprintf(out, cap, strchr(c->listen_host, ':') ? "[%s]:%u" : "%s:%u", c->listen_host,
                     (unsigned)c->listen_port);
    else if (strcmp(key, "retention") == 0)
        n = c->retention_ms == 0 ? snprintf(out, cap, "0") : format_duration(c->retention_ms, out, cap);
    else if (strcmp(key, "fsync") == 0)
        n = snprintf(out, cap, "%s", config_fsync_name(c->fsync));
    else if (strcmp(key, "fsync_interval") == 0)
        n = format_duration(c->fsync_interval_ms, out, cap);
    else if (strcmp(key, "log_level") == 0)
        n = snprintf(out, cap, "%s",
                     (const char *[]){"debug", "info", "warn", "error"}[c->log_level & 3]);
    else if (strcmp(key, "max_series") == 0)
        n = snprintf(out, cap, "%zu", c->max_series);
    else if (strcmp(key, "max_labels_per_series") == 0)
        n = snprintf(out, cap, "%zu", c->max_labels_per_series);
    else if (strcmp(key, "max_label_name_length") == 0)
        n = snprintf(out, cap, "%zu", c->max_label_name_length);
    else if (strcmp(key, "max_label_value_length") == 0)
        n = snprintf(out, cap, "%zu", c->max_label_value_length);
    else if (strcmp(key, "max_request_bytes") == 0)
        n = snprintf(out, cap, "%zu", c->max_request_bytes);
    else if (strcmp(key, "http_threads") == 0)
        n = snprintf(out, cap, "%u", c->http_threads);
    else if (strcmp(key, "http_idle_timeout") == 0)
        n = format_duration(c->http_idle_timeout_ms, out, cap);
    else if (strcmp(key, "http_max_connections") == 0)
        n = snprintf(out, cap, "%u", c->http_max_connections);
    else if (strcmp(key, "http_max_connections_per_client") == 0)
        n = snprintf(out, cap, "%u", c->http_max_connections_per_client);
    else if (strcmp(key, "http_header_timeout") == 0)
        n = format_duration(c->http_header_timeout_ms, out, cap);
    else if (strcmp(key, "partition_duration") == 0)
        n = format_duration(c->partition_ms, out, cap);
    else if (strcmp(key, "head_max_age") == 0)
        n = format_duration(c->head_max_age_ms, out, cap);
    else if (strcmp(key, "head_cut_on_stop") == 0)
        n = snprintf(out, cap, "%s", c->head_cut_on_stop ? "true" : "false");
    else if (strcmp(key, "collect_host") == 0)
        n = snprintf(out, cap, "%s", c->collect_host ? "true" : "false");
    else if (strcmp(key, "collect_interval") == 0)
        n = format_duration(c->collect_interval_ms, out, cap);
    else if (strcmp(key, "collect_top_n") == 0)
        n = snprintf(out, cap, "%u", c->collect_top_n);
    else if (strcmp(key, "collect_services") == 0)
        n = snprintf(out, cap, "%s", c->collect_services);
    else if (strcmp(key, "query_timeout") == 0)
        n = format_duration(c->query_timeout_ms, out, cap);
    else if (strcmp(key, "query_max_samples") == 0)
        n = snprintf(out, cap, "%" PRIu64, c->query_max_samples);
    else if (strcmp(key, "query_max_concurrency") == 0)
        n = snprintf(out, cap, "%u", c->query_max_concurrency);
    else if (strcmp(key, "query_lookback_delta") == 0)
        n = format_duration(c->query_lookback_delta_ms, out, cap);
    else if (strncmp(key, "auth_", 5) == 0) {
        const char *v = NULL;
        if (strncmp(key, "auth_write_bearer_token", 23) == 0)
            v = c->auth_write_bearer_token;
        else if (strncmp(key, "auth_read_bearer_token", 22) == 0)
            v = c->auth_read_bearer_token;
        else if (strncmp(key, "auth_write_basic", 16) == 0)
            v = c->auth_write_basic;
        else if (strncmp(key, "auth_read_basic", 15) == 0)
            v = c->auth_read_basic;
        if (v != NULL)
            n = snprintf(out, cap, "%s", v[0] ? "<secret>" : "");
    }
    if (n < 0)
        return TIDE_ENOTFOUND;
    return (size_t)n >= cap && cap > 0 ? (int)cap - 1 : n;
}

void config_fini(struct config *c)
{
    yaml_tree_free(c->tree);
    c->tree = NULL;
}

static const struct config_section *find_section(const struct config *c, const char *name)
{
    for (size_t i = 0; i < c->nsections; i++)
        if (strcmp(c->sections[i].name, name) == 0)
            return &c->sections[i];
    return NULL;
}

int config_section_register(struct config *c, const char *name, config_section_fn *parse, void *ctx)
{
    if (name == NULL || name[0] == 0)
        return TIDE_EINVAL;
    for (const struct config_key *k = config_keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return TIDE_EINVAL;
    if (find_section(c, name) != NULL)
        return TIDE_EINVAL;
    if (c->nsections == CONFIG_SECTIONS_MAX)
        return TIDE_ELIMIT;
    c->sections[c->nsections++] = (struct config_section){name, parse, ctx};
    return 0;
}

const struct yaml_node *config_section(const struct config *c, const char *name)
{
    if (find_section(c, name) == NULL)
        return NULL;
    return yaml_tree_get(yaml_tree_root(c->tree), name);
}

const char *config_file(const struct config *c)
{
    return c->tree ? yaml_tree_file(c->tree) : NULL;
}

/* One top-level flat key (one of config_keys): its value must be a scalar,
 * given to config_set(). An unknown key is named before its value is looked at. */
static int apply_key(struct config *c, const struct yaml_node *k, const struct yaml_node *v,
                     struct err *e)
{
    const char *key = yaml_tree_text(k);
    if (strlen(key) >= 64)
        return yaml_tree_err(k, TIDE_ENOTFOUND, e, "unknown key \"%.40s...\"", key);
    char canon[64];
    canon_key(key, canon, sizeof canon);
    bool known = false;
    for (const struct config_key *ck = config_keys; ck->name && !known; ck++)
        known = strcmp(ck->name, canon) == 0;
    if (!known)
        return yaml_tree_err(k, TIDE_ENOTFOUND, e, "unknown key \"%s\" (see docs/config.md)", key);
    if (yaml_tree_kind(v) == YAML_TREE_MAP)
        return yaml_tree_err(v, TIDE_EPARSE, e, "nested mappings are not allowed under %s", key);
    if (yaml_tree_kind(v) == YAML_TREE_SEQ)
        return yaml_tree_err(v, TIDE_EPARSE, e, "a list is not allowed for %s", key);
    struct err ve = {0};
    int rc = config_set(c, key, yaml_tree_text(v), &ve);
    if (rc == TIDE_ENOTFOUND)
        return yaml_tree_err(k, rc, e, "unknown key \"%s\" (see docs/config.md)", key);
    if (rc != 0)
        return yaml_tree_err(v, rc, e, "%s", ve.msg);
    return 0;
}

int config_load_file(struct config *c, const char *path, struct err *e)
{
    struct yaml_tree *t;
    int rc = yaml_tree_load(path, &t, e);
    if (rc != 0)
        return rc;
    const struct yaml_node *root = yaml_tree_root(t);
    if (yaml_tree_kind(root) == YAML_TREE_SEQ) {
        rc = yaml_tree_err(root, TIDE_EPARSE, e,
                           "the file must be a mapping of keys to values, not a list");
    } else if (yaml_tree_kind(root) == YAML_TREE_SCALAR && !yaml_tree_is_null(root)) {
        rc = yaml_tree_err(root, TIDE_EPARSE, e,
                           "the file must be a mapping of keys to values, not \"%.60s\"",
                           yaml_tree_text(root));
    }
    size_t nsections = 0;
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(root); i++) {
        const struct yaml_node *v;
        const struct yaml_node *k = yaml_tree_pair(root, i, &v);
        if (find_section(c, yaml_tree_text(k)) != NULL)
            nsections++;
        else
            rc = apply_key(c, k, v, e);
    }
    for (size_t i = 0; rc == 0 && nsections > 0 && i < yaml_tree_len(root); i++) {
        const struct yaml_node *v;
        const struct yaml_node *k = yaml_tree_pair(root, i, &v);
        const struct config_section *s = find_section(c, yaml_tree_text(k));
        if (s != NULL && s->parse != NULL)
            rc = s->parse(s->ctx, v, e);
    }
    if (rc != 0 || nsections == 0) {
        yaml_tree_free(t);
        return rc;
    }
    yaml_tree_free(c->tree);
    c->tree = t;
    return 0;
}
