/* main.c: the `tide` command: subcommand dispatch (serve, import, export,
 * version, help); import and export live in cli/.
 *
 * `tide serve` wires the layers together: configuration (core/config.c) →
 * storage_open() → the HTTP API (api/http.c), then waits for SIGTERM/SIGINT
 * and tears down in the opposite order: stop accepting requests, let those
 * in flight finish, storage_close() (WAL synced, head flushed), exit 0.
 * Signals are blocked in every thread and taken synchronously with
 * sigwait() here, so no handler runs inside storage or libmicrohttpd.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/auth.h"
#include "api/agents.h"
#include "api/http.h"
#include "api/prom_query.h"
#include "collect/host.h"
#include "collect/sched.h"
#include "api/metrics.h"
#include "cli/cli.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "remote/agent.h"
#include "storage/storage.h"


static void usage_main(FILE *f)
{
    fprintf(f, "usage: tide <command> [flags]\n"
               "\n"
               "commands:\n"
               "  serve     store time series and serve the HTTP API\n"
               "  import    send files (Influx, JSON lines, Prometheus text, CSV) to a server\n"
               "  export    stream series from a server to a file (JSON lines or CSV)\n"
               "  query     evaluate a PromQL expression on a server (docs/cli.md)\n"
               "  agent     collect this host and forward it with remote write (docs/agent.md)\n"
               "  version   print the version\n"
               "  help      show help for a command\n"
               "\n"
               "Run `tide <command> --help` for the flags of a command.\n");
}

static void usage_serve(FILE *f)
{
    fprintf(f, "usage: tide serve [flags]\n"
               "\n"
               "Store time series in a data directory and serve the HTTP API\n"
               "(Influx line protocol, Prometheus metadata API, import/export).\n"
               "Flags override the same keys of the --config file (docs/config.md).\n"
               "\n"
               "flags:\n"
               "  --config FILE                      YAML file with the keys below "
               "(fsync_interval: 1s)\n");
    for (const struct config_key *k = config_keys; k->name; k++) {
        char flag[96];
        snprintf(flag, sizeof flag, "--%s %s", k->name, k->arg);
        for (char *p = flag + 2; *p && *p != ' '; p++)
            if (*p == '_')
                *p = '-';
        fprintf(f, "  %-34s %s\n", flag, k->help);
    }
    fprintf(f, "  %-34s %s\n", "-h, --help", "show this help");
}

static void usage_version(FILE *f)
{
    fprintf(f, "usage: tide version\n\nPrint Tide's version.\n");
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

/* Apply argv's flags to `c`: first --config (the file), then every other
 * flag, so that flags win over the file whatever their order. */
static int parse_serve_flags(int argc, char **argv, struct config *c)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < argc; i++) {
            const char *a = argv[i];
            if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                usage_serve(stdout);
                exit(0);
            }
            if (strncmp(a, "--", 2) != 0) {
                fprintf(stderr, "tide serve: unexpected argument \"%s\" (see --help)\n", a);
                return -1;
            }
            char key[64];
            const char *val;
            const char *eq = strchr(a + 2, '=');
            size_t kn = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            if (kn == 0 || kn >= sizeof key) {
                fprintf(stderr, "tide serve: bad flag \"%s\"\n", a);
                return -1;
            }
            memcpy(key, a + 2, kn);
            key[kn] = 0;
            if (eq) {
                val = eq + 1;
            } else if (i + 1 < argc) {
                val = argv[++i];
            } else {
                fprintf(stderr, "tide serve: flag --%s needs a value\n", key);
                return -1;
            }
            bool is_config = strcmp(key, "config") == 0;
            if (pass == 0 && is_config) {
                struct err e = {0};
                if (config_load_file(c, val, &e) != 0) {
                    if (e.line > 0)
                        fprintf(stderr, "tide serve: %s:%d:%d: %s\n", val, e.line, e.col, e.msg);
                    else
                        fprintf(stderr, "tide serve: %s\n", e.msg);
                    return -1;
                }
            } else if (pass == 1 && !is_config) {
                struct err e = {0};
                int rc = config_set(c, key, val, &e);
                if (rc == TIDE_ENOTFOUND) {
                    fprintf(stderr, "tide serve: unknown flag --%s (see --help)\n", key);
                    return -1;
                }
                if (rc != 0) {
                    fprintf(stderr, "tide serve: --%s: %s\n", key, e.msg);
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* The local host collector's batches go straight into storage. */
static int host_sink(void *ctx, struct batch *b, struct err *e)
{
    int rc = storage_append(ctx, b, NULL, e);
    return rc == TIDE_ELIMIT ? 0 : rc; /* refused series are counted in storage's stats */
}

static void host_error(void *ctx, const char *group, int code, const struct err *e)
{
    log_warn("collect", "host group %s: %s", group,
             e && e->msg[0] ? e->msg : tide_strerror(code));
}

/* The running local host collection of `tide serve` (owned by serve()). */
struct host_collection {
    struct host_collector *h;
    struct sched *s;
    char services[sizeof ((struct config *)0)->collect_services];
    const char *names[64];
};

static int host_start(struct host_collection *hc, const struct config *cfg, struct storage *st,
                      struct err *e)
{
    struct host_opts o;
    host_opts_init(&o);
    o.version = TIDE_VERSION;
    o.top_n = cfg->collect_top_n;
    for (int g = 0; g < HOST_NGROUPS; g++)
        o.interval_ms[g] = cfg->collect_interval_ms;
    snprintf(hc->services, sizeof hc->services, "%s", cfg->collect_services);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(hc->services, ",", &save); tok && n < 64;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            hc->names[n++] = tok;
    o.services = hc->names;
    o.nservices = n;
    int rc = host_collector_new(&o, &hc->h, e);
    if (rc == 0)
        rc = sched_new(&hc->s);
    if (rc == 0)
        rc = host_sched_add(hc->h, hc->s, e);
    if (rc == 0)
        rc = sched_start(hc->s, host_sink, st, host_error, NULL, e);
    return rc;
}

static void host_stop(struct host_collection *hc)
{
    if (hc->s)
        sched_stop(hc->s);
    if (hc->s)
        sched_free(hc->s);
    if (hc->h)
        host_collector_free(hc->h);
    hc->s = NULL;
    hc->h = NULL;
}

static int serve(int argc, char **argv)
{
    struct config cfg;
    config_defaults(&cfg);
    if (parse_serve_flags(argc, argv, &cfg) != 0)
        return 2;
    log_set_level((enum log_level)cfg.log_level);

    /* Block the stop signals before any thread starts: threads inherit the
     * mask, and only the sigwait() below ever takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct storage_opts so;
    memset(&so, 0, sizeof so);
    storage_opts_defaults(&so);
    so.dir = cfg.data_dir;
    so.retention_ms = cfg.retention_ms;
    so.fsync = cfg.fsync == CONFIG_FSYNC_ALWAYS  ? STORAGE_FSYNC_ALWAYS
               : cfg.fsync == CONFIG_FSYNC_NEVER ? STORAGE_FSYNC_NEVER
                                                 : STORAGE_FSYNC_INTERVAL;
    so.fsync_interval_ms = cfg.fsync_interval_ms;
    so.partition_ms = cfg.partition_ms;
    so.head_max_age_ms = cfg.head_max_age_ms;
    so.max_series = cfg.max_series;
    so.max_labels_per_series = cfg.max_labels_per_series;
    so.max_label_name_len = cfg.max_label_name_length;
    so.max_label_value_len = cfg.max_label_value_length;

    log_info("main", "tide %s starting: data=%s retention=%lldms fsync=%s", TIDE_VERSION,
             cfg.data_dir, (long long)cfg.retention_ms, config_fsync_name(cfg.fsync));
    int64_t t0 = time_mono_ns();
    struct storage *st = NULL;
    struct err e = {0};
    if (storage_open(&st, &so, &e) != 0) {
        log_error("main", "cannot open storage in %s: %s", cfg.data_dir,
                  e.msg[0] ? e.msg : tide_strerror(e.code));
        return 1;
    }
    log_info("main", "storage open in %.1f ms", (double)(time_mono_ns() - t0) / 1e6);
    char agents_path[CONFIG_PATH_MAX + 16];
    snprintf(agents_path, sizeof agents_path, "%s/agents.conf", cfg.data_dir);
    if (agents_open(agents_path, &e) != 0) {
        log_error("main", "%s", e.msg);
        storage_close(st);
        return 1;
    }

    struct prom_query *pq = NULL;
    struct prom_query_opts pqo = {
        .timeout_ms = cfg.query_timeout_ms,
        .max_samples = (size_t)cfg.query_max_samples,
        .lookback_ms = cfg.query_lookback_delta_ms,
        .max_concurrency = cfg.query_max_concurrency,
    };
    if (prom_query_new(&pq, &pqo) != 0) {
        log_error("main", "out of memory");
        agents_close();
        storage_close(st);
        return 1;
    }

    struct metrics metrics;
    metrics_init(&metrics);
    struct api_ctx ctx = {
        .storage = st,
        .metrics = &metrics,
        .version = TIDE_VERSION,
        .max_request_bytes = cfg.max_request_bytes,
        .started_ms = time_now_ms(),
        .query = pq,
        .config = &cfg,
    };
    struct http_opts ho = {
        .host = cfg.listen_host,
        .port = cfg.listen_port,
        .threads = cfg.http_threads,
        .idle_timeout_s = (unsigned)((cfg.http_idle_timeout_ms + 999) / 1000),
        .max_connections = cfg.http_max_connections,
        .max_connections_per_client = cfg.http_max_connections_per_client,
        .header_timeout_ms = cfg.http_header_timeout_ms,
        .max_request_bytes = cfg.max_request_bytes,
    };
    struct auth auth = {
        .write = {.bearer = cfg.auth_write_bearer_token, .basic = cfg.auth_write_basic},
        .read = {.bearer = cfg.auth_read_bearer_token, .basic = cfg.auth_read_basic},
    };
    ctx.auth = &auth;
    atomic_init(&ctx.ready, 1);
    struct http_server *srv = NULL;
    if (http_start(&srv, &ho, &ctx, &e) != 0) {
        log_error("main", "%s", e.msg);
        prom_query_free(pq);
        storage_close(st);
        return 1;
    }
    log_info("main", "listening on %s:%u", cfg.listen_host[0] ? cfg.listen_host : "*",
             (unsigned)http_port(srv));

    struct host_collection hc = {0};
    if (cfg.collect_host) {
        if (host_start(&hc, &cfg, st, &e) != 0)
            log_warn("main", "local host collection is off: %s", e.msg);
        else
            log_info("main", "collecting this host every %lld ms", (long long)cfg.collect_interval_ms);
    }

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    log_info("main", "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&ctx.ready, 0);
    host_stop(&hc);
    http_stop(srv);
    prom_query_free(pq);
    agents_close();
    int rc = storage_close(st);
    if (rc != 0) {
        log_error("main", "storage close failed: %s", tide_strerror(rc));
        return 1;
    }
    log_info("main", "stopped cleanly");
    return 0;
}

int main(int argc, char **argv)
{
    /* Request bodies and batches are megabytes: keep them on the heap for reuse
     * instead of an mmap/munmap (and page faults) per request. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return serve(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0)
        return import_main(argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0)
        return export_main(argc - 2, argv + 2);
    if (strcmp(cmd, "agent") == 0)
        return agent_main(argc - 2, argv + 2);
    if (strcmp(cmd, "query") == 0)
        return query_main(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && is_help(argv[2])) {
            usage_version(stdout);
            return 0;
        }
        printf("tide %s\n", TIDE_VERSION);
        return 0;
    }
    if (is_help(cmd)) {
        const char *topic = argc > 2 ? argv[2] : NULL;
        if (topic && strcmp(topic, "serve") == 0)
            usage_serve(stdout);
        else if (topic && strcmp(topic, "version") == 0)
            usage_version(stdout);
        else if (topic && strcmp(topic, "import") == 0)
            import_usage(stdout);
        else if (topic && strcmp(topic, "export") == 0)
            export_usage(stdout);
        else if (topic && strcmp(topic, "query") == 0)
            query_usage(stdout);
        else if (topic && strcmp(topic, "agent") == 0)
            return agent_main(1, (char *[]){"--help", NULL});
        else
            usage_main(stdout);
        return 0;
    }
    fprintf(stderr, "tide: unknown command \"%s\"\n\n", cmd);
    usage_main(stderr);
    return 2;
}
