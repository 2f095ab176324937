/* prom_status.c: the status and discovery endpoints of Prometheus' API that
 * Grafana's Prometheus data source, promtool and other clients call before
 * or beside queries, answered in Prometheus 2.42's shapes with Tide's own
 * facts:
 *
 *   /api/v1/status/buildinfo    version, revision, branch, build user/date
 *   /api/v1/status/runtimeinfo  start time, working directory, threads
 *   /api/v1/status/flags        every `tide serve` setting, as text
 *   /api/v1/status/config       the same as a YAML document {"yaml": "..."}
 *   /api/v1/metadata            type, help, unit per family (meta_store.h)
 *   /api/v1/query_exemplars: empty, as Tide stores no exemplars.
 *   /api/v1/targets is api/targets_api.c, /api/v1/rules and /api/v1/alerts
 *   api/prom_rules.c.
 *
 * Only runtimeinfo reads storage (its corruptionCount: WAL records and
 * blocks found damaged at start-up); every answer is a few hundred bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/http.h"
#include "api/json.h"
#include "api/meta_store.h"
#include "api/router.h"
#include "core/config.h"
#include "core/time.h"
#include "storage/storage.h"

/* Set at configure time by CMakeLists.txt (git); "unknown" outside a checkout. */
#ifndef TIDE_REVISION
#define TIDE_REVISION "unknown"
#endif
#ifndef TIDE_BRANCH
#define TIDE_BRANCH "unknown"
#endif
#ifndef TIDE_BUILD_USER
#define TIDE_BUILD_USER "unknown"
#endif
#ifndef TIDE_VERSION
#define TIDE_VERSION "0.0.0"
#endif

static void end(struct http_resp *rs, struct json *w)
{
    json_obj_end(w);
    if (json_end(w) != 0)
        http_reply_err(rs, TIDE_ELIMIT, "response too large");
}

static void kv(struct json *w, const char *k, const char *v)
{
    json_key(w, k);
    json_cstr(w, v);
}

/* __DATE__ "Jan  2 2006" and __TIME__ "15:04:05" as Prometheus' build date
 * format "20060102-15:04:05": when this file was compiled. */
static void build_date(char *out, size_t cap)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__;
    const char *m = strstr(months, (char[4]){d[0], d[1], d[2], 0});
    int mon = m ? (int)(m - months) / 3 + 1 : 0;
    int day = atoi(d + 4);
    snprintf(out, cap, "%.4s%02d%02d-%s", d + 7, mon, day, __TIME__);
}

void prom_status_buildinfo(struct http_req *rq, struct http_resp *rs)
{
    char date[32];
    build_date(date, sizeof date);
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    kv(&w, "version", rq->ctx->version ? rq->ctx->version : TIDE_VERSION);
    kv(&w, "revision", TIDE_REVISION);
    kv(&w, "branch", TIDE_BRANCH);
    kv(&w, "buildUser", TIDE_BUILD_USER);
    kv(&w, "buildDate", date);
#if defined(__clang__)
    kv(&w, "goVersion", "clang " __clang_version__ " (Tide is C11, not Go)");
#elif defined(__GNUC__)
    kv(&w, "goVersion", "gcc " __VERSION__ " (Tide is C11, not Go)");
#else
    kv(&w, "goVersion", "C11 (Tide is not Go)");
#endif
    json_obj_end(&w);
    end(rs, &w);
}

/* Threads of this process, from /proc/self/status; 0 when unknown. */
static long thread_count(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    char line[256];
    long n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "Threads:", 8) == 0)
            n = atol(line + 8);
    fclose(f);
    return n;
}

/* Damage storage found and worked around at start-up: torn or damaged WAL
 * records skipped, block files quarantined. */
static uint64_t corruption_count(struct storage *st)
{
    if (st == NULL)
        return 0;
    struct storage_stats ss;
    if (storage_stats(st, &ss) != 0)
        return 0;
    uint64_t n = ss.wal_torn_records_total + ss.wal_corrupt_records_total +
                 ss.blocks_quarantined_total;
    storage_stats_fini(&ss);
    return n;
}

void prom_status_runtimeinfo(struct http_req *rq, struct http_resp *rs)
{
    char started[40], cwd[1024], retention[64] = "0";
    time_format_rfc3339(rq->ctx->started_ms, started, sizeof started);
    if (getcwd(cwd, sizeof cwd) == NULL)
        cwd[0] = 0;
    if (rq->ctx->config != NULL)
        config_format(rq->ctx->config, "retention", retention, sizeof retention);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    kv(&w, "startTime", started);
    kv(&w, "CWD", cwd);
    json_key(&w, "reloadConfigSuccess");
    json_bool(&w, true);
    kv(&w, "lastConfigTime", started); /* configuration is read once, at start */
    json_key(&w, "corruptionCount"); /* Prometheus: WAL corruptions repaired */
    json_i64(&w, (int64_t)corruption_count(rq->ctx->storage));
    json_key(&w, "goroutineCount"); /* Tide's threads: the closest equivalent */
    json_i64(&w, thread_count());
    json_key(&w, "GOMAXPROCS"); /* online CPUs */
    json_i64(&w, cpus > 0 ? cpus : 1);
    kv(&w, "GOGC", "");
    kv(&w, "GODEBUG", "");
    kv(&w, "storageRetention", strcmp(retention, "0") == 0 ? "forever" : retention);
    json_obj_end(&w);
    end(rs, &w);
}

void prom_status_flags(struct http_req *rq, struct http_resp *rs)
{
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    for (const struct config_key *k = config_keys; rq->ctx->config != NULL && k->name; k++) {
        char v[1100];
        if (config_format(rq->ctx->config, k->name, v, sizeof v) < 0)
            continue;
        kv(&w, k->name, v);
    }
    json_obj_end(&w);
    end(rs, &w);
}

/* Append `v` as a YAML double-quoted scalar (JSON escapes are valid YAML). */
static int yaml_quote(struct buf *b, const char *v)
{
    return json_quote(b, v, strlen(v));
}

void prom_status_config(struct http_req *rq, struct http_resp *rs)
{
    struct buf y;
    buf_init(&y, 1 << 20);
    buf_puts(&y, "# tide serve: the effective settings (docs/config.md)\n");
    for (const struct config_key *k = config_keys; rq->ctx->config != NULL && k->name; k++) {
        char v[1100];
        if (config_format(rq->ctx->config, k->name, v, sizeof v) < 0)
            continue;
        if (strstr(k->name, "_file") != NULL && v[0] == 0)
            continue;
        buf_printf(&y, "%s: ", k->name);
        yaml_quote(&y, v);
        buf_putc(&y, '\n');
    }
    struct json w;
    http_prom_success(rs, &w);
    json_obj(&w);
    json_key(&w, "yaml");
    json_str(&w, (struct strv){y.p ? y.p : "", y.len});
    json_obj_end(&w);
    buf_fini(&y);
    end(rs, &w);
}

/* An integer parameter; `def` when absent. false when not an integer. */
static bool long_param(const struct http_req *rq, const char *name, long def, long *out)
{
    const char *s = http_param(rq, name);
    *out = def;
    if (s == NULL || s[0] == 0)
        return true;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end != 0 || errno != 0)
        return false;
    *out = v;
    return true;
}

/* /api/v1/metadata?metric=&limit=&limit_per_metric= from the store the
 * write endpoints fill (meta_store.h). */
void prom_status_metadata(struct http_req *rq, struct http_resp *rs)
{
    long limit, per_metric;
    if (!long_param(rq, "limit", -1, &limit)) {
        http_reply_prom_error(rs, 400, "bad_data", "limit must be a number");
        return;
    }
    if (!long_param(rq, "limit_per_metric", -1, &per_metric)) {
        http_reply_prom_error(rs, 400, "bad_data", "limit_per_metric must be a number");
        return;
    }
    if (rq->ctx->meta == NULL) {
        http_reply(rs, 200, "application/json", "{\"status\":\"success\",\"data\":{}}");
        return;
    }
    const char *metric = http_param(rq, "metric");
    struct json w;
    http_prom_success(rs, &w);
    meta_store_json(rq->ctx->meta, &w, strv_c(metric), limit, per_metric);
    end(rs, &w);
}

void prom_status_exemplars(struct http_req *rq, struct http_resp *rs)
{
    (void)rq;
    http_reply(rs, 200, "application/json", "{\"status\":\"success\",\"data\":[]}");
}
