/* serve.c: `tide serve`, the wiring of the server. Configuration (defaults,
 * then the --config file, then flags) → the components below, started in
 * this order and stopped in reverse (component.h):
 *
 *   storage     storage_open(): WAL replay, blocks, background jobs
 *   pipeline    the one append path; storage is its commit stage, behind
 *               the display-rate split (api/live_commit.h: leased hosts'
 *               extra points go to the live ring only)
 *   stream      the dashboard's live channel (api/stream.h), a pipeline tap
 *   targets     the targets manager: the agent kind (desired intervals,
 *               DATA/agents.conf), the local host collector's groups and
 *               the config file's `targets:` (collect/targets_config.h),
 *               SNMP devices among them with the `snmp_modules:` section,
 *               and the `scrape_configs:` jobs (collect/scrape.h)
 *   query       PromQL guards and slots
 *   notifier    alerts to the `alerting:` section's Alertmanagers/webhooks
 *   rules       the rule files of `rule_files:` evaluated on their groups'
 *               intervals, by the local engine or by `query_backend:`
 *               (rules/evaluator.h, chosen here once); results appended
 *               through the pipeline
 *   http        the HTTP API: writes append through the pipeline
 *   collection  the targets manager's workers start collecting
 *
 * Then it waits for SIGTERM/SIGINT: /ready answers 503 from then on, the
 * collection stops, HTTP stops accepting and finishes what is in flight,
 * storage closes (WAL synced, head flushed), exit 0. Signals are blocked in
 * every thread and taken synchronously with sigwait() here, so no handler
 * runs inside storage or libmicrohttpd.
 *
 * Reload: SIGHUP (taken by the same sigwait()) and POST /-/reload re-read
 * the --config file, but only its rules part: `rule_files:` is expanded
 * again and the rule files reloaded (rules/rules.h: a broken file is
 * refused with file:line:col and the old rules keep running). Every other
 * setting, `global:` and `alerting:` included, is read at start only.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/agents.h"
#include "api/auth.h"
#include "api/http.h"
#include "api/live_commit.h"
#include "api/live_lease.h"
#include "api/live_ring.h"
#include "api/meta_store.h"
#include "api/metrics.h"
#include "api/prom_query.h"
#include "api/stream.h"
#include "cmd/cmd.h"
#include "cmd/component.h"
#include "cmd/flags.h"
#include "collect/host.h"
#include "collect/ping.h"
#include "collect/routeros.h"
#include "collect/scrape.h"
#include "collect/snmp.h"
#include "collect/targets.h"
#include "collect/targets_config.h"
#include "collect/targets_files.h"
#include "collect/targets_runtime.h"
#include "core/config.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/yaml_tree.h"
#include "core/selfmetrics.h"
#include "core/time.h"
#include "model/pipeline.h"
#include "remote/forward.h"
#include "rules/backfill.h"
#include "rules/evaluator.h"
#include "rules/notify.h"
#include "rules/rules.h"
#include "rules/rules_config.h"
#include "storage/storage.h"

/* Everything `tide serve` runs; owned by serve_main(), freed by the stops. */
struct server {
    struct config cfg;
    int64_t started_ms; /* wall clock */
    struct selfmetrics *selfmetrics;
    struct storage *storage;
    struct storage_policy policy; /* tiers:, retention_rules:, buckets: (storage borrows it) */
    struct pipeline *pipeline;
    struct targets *targets;
    struct targets_rt *targets_rt; /* the API's targets, DATA/targets.json */
    struct targets_config_set *targets_cfg; /* the config's targets, for a reload's diff */
    struct targets_files *tfiles; /* `target_files:` (collect/targets_files.h) */
    struct host_collector *host;
    struct snmp_kind *snmp; /* the snmp kind's modules and engine */
    struct ping_kind *ping; /* the ping kind's engine */
    struct forward_config fwd_cfg; /* `remote_write:` */
    struct forwarder *fwd;         /* its queues and senders; NULL = none */
    bool storage_none;             /* `storage: none`: no local TSDB */
    char query_backend[1024];      /* `query_backend:` URL, "" = none */
    struct ros_kind *routeros; /* the routeros kind's engine */
    struct scrape *scrape;  /* scrape_configs: jobs, file_sd watcher, scrape kind */
    char services[sizeof((struct config *)0)->collect_services];
    const char *service_names[HOST_SERVICES_MAX];
    struct prom_query *query;
    struct meta_store *meta; /* metric metadata for /api/v1/metadata */
    struct rules_config rules_cfg;     /* rule_files, global, external_url, alerting */
    char config_path[CONFIG_PATH_MAX]; /* --config, "" = none: what a reload re-reads */
    struct notifier *notifier;
    struct evaluator *rule_eval; /* the rules' evaluator: local engine or query_backend */
    struct rules *rules;
    pthread_mutex_t reload_mu; /* one reload at a time (SIGHUP, /-/reload) */
    struct metrics metrics;
    struct auth auth;
    struct api_ctx api;
    struct stream_hub *stream; /* the dashboard's live channel (api/stream.h) */
    struct live_ring *live_ring;   /* display-rate points (api/live_ring.h); NULL = none */
    struct live_lease *live_lease; /* display-rate leases (api/live_lease.h); NULL = none */
    struct live_commit live_commit; /* the commit stage in front of storage */
    struct http_server *http;
    bool bad_config; /* a start failed on the config file: exit 2, not 1 */
};

void serve_usage(FILE *f)
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

/* ---- configuration: the file first, then every other flag ---- */

static bool is_config_flag(const char *name)
{
    return strcmp(name, "config") == 0;
}

static bool not_config_flag(const char *name)
{
    return !is_config_flag(name);
}

static int take_config_file(void *ctx, const char *name, const char *path, struct err *e)
{
    struct server *s = ctx;
    struct err fe = {0};
    snprintf(s->config_path, sizeof s->config_path, "%s", path);
    rules_config_set_file(&s->rules_cfg, path);
    forward_config_set_file(&s->fwd_cfg, path);
    int rc = config_load_file(&s->cfg, path, &fe);
    if (rc == 0)
        return 0;
    if (rc == TIDE_ENOTFOUND) /* an unknown key in the file, not an unknown flag */
        rc = TIDE_EINVAL;
    if (fe.line > 0)
        return ERR_SET(e, rc, "%s:%d:%d: %s", path, fe.line, fe.col, fe.msg);
    return ERR_SET(e, rc, "%s", fe.msg[0] ? fe.msg : tide_strerror(rc));
}

static int take_flag(void *ctx, const char *name, const char *value, struct err *e)
{
    struct server *s = ctx;
    return config_set(&s->cfg, name, value, e);
}

/* ---- the components ---- */

/* The self-metrics registry (/metrics): first up, last down, so every other
 * component can register with it and unregister before it goes. */
static int selfmetrics_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    s->started_ms = time_now_ms();
    int rc = selfmetrics_new(&s->selfmetrics);
    return rc ? ERR_SET(e, rc, "out of memory") : 0;
}

static int selfmetrics_stop(void *ctx)
{
    struct server *s = ctx;
    selfmetrics_free(s->selfmetrics);
    s->selfmetrics = NULL;
    return 0;
}

/* Storage prints nothing: its failed background jobs and the damage it
 * finds at open come here (storage_opts.report). */
static void storage_report(void *ctx, const char *what, const char *msg)
{
    (void)ctx;
    log_error("storage", "%s: %s", what, msg);
}

static int storage_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    if (s->storage_none) {
        if (s->fwd_cfg.n == 0) {
            s->bad_config = true;
            return ERR_INVAL(e, "storage: none needs a remote_write: endpoint (the samples "
                                "would go nowhere)");
        }
        log_info("main", "storage: none: no local storage; forwarding to %zu endpoint%s%s%s",
                 s->fwd_cfg.n, s->fwd_cfg.n == 1 ? "" : "s",
                 s->query_backend[0] ? ", queries go to " : "", s->query_backend);
        return 0;
    }
    const struct config *c = &s->cfg;
    struct storage_opts so;
    memset(&so, 0, sizeof so);
    storage_opts_defaults(&so);
    so.dir = c->data_dir;
    so.retention_ms = c->retention_ms;
    so.fsync = c->fsync == CONFIG_FSYNC_ALWAYS  ? STORAGE_FSYNC_ALWAYS
               : c->fsync == CONFIG_FSYNC_NEVER ? STORAGE_FSYNC_NEVER
                                                : STORAGE_FSYNC_INTERVAL;
    so.fsync_interval_ms = c->fsync_interval_ms;
    so.partition_ms = c->partition_ms;
    so.head_max_age_ms = c->head_max_age_ms;
    /* A stop leaves the head in the synced WAL (as Prometheus does): the
     * next start replays it in about the time loading its blocks would take,
     * and the stop itself is a WAL sync instead of a full cut. */
    so.no_cut_on_close = !c->head_cut_on_stop;
    so.max_series = c->max_series;
    so.max_labels_per_series = c->max_labels_per_series;
    so.max_label_name_len = c->max_label_name_length;
    so.max_label_value_len = c->max_label_value_length;
    so.report = storage_report;
    so.policy = &s->policy; /* parsed by serve_main() */
    log_info("main", "tide %s starting: data=%s retention=%lldms fsync=%s", TIDE_VERSION,
             c->data_dir, (long long)c->retention_ms, config_fsync_name(c->fsync));
    int64_t t0 = time_mono_ns();
    struct err oe = {0};
    int rc = storage_open(&s->storage, &so, &oe);
    if (rc != 0) {
        return ERR_SET(e, rc, "cannot open storage in %s: %s", c->data_dir,
                       oe.msg[0] ? oe.msg : tide_strerror(rc));
    }
    log_info("main", "storage open in %.1f ms", (double)(time_mono_ns() - t0) / 1e6);
    return selfmetrics_register(s->selfmetrics, metrics_collect_storage, s->storage);
}

static int storage_stop(void *ctx)
{
    struct server *s = ctx;
    if (s->storage)
        selfmetrics_unregister(s->selfmetrics, metrics_collect_storage, s->storage);
    int rc = s->storage ? storage_close(s->storage) : 0;
    s->storage = NULL;
    return rc;
}

/* The forwarder's threads log here. */
static void on_forward_log(void *ctx, int level, const char *endpoint, const char *msg)
{
    (void)ctx;
    log_at((enum log_level)level, "forward", "%s: %s", endpoint, msg);
}

/* `remote_write:` endpoints: a queue and a sender each (remote/forward.h). */
static int forward_start_component(void *ctx, struct err *e)
{
    struct server *s = ctx;
    if (s->fwd_cfg.n == 0)
        return 0;
    int rc = forward_start(&s->fwd, &s->fwd_cfg, s->cfg.data_dir, on_forward_log, s, e);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < s->fwd_cfg.n; i++)
        log_info("forward", "%s: forwarding to %s (queue in %s/forward/%s)", s->fwd_cfg.ep[i].name,
                 s->fwd_cfg.ep[i].url, s->cfg.data_dir, s->fwd_cfg.ep[i].name);
    return selfmetrics_register(s->selfmetrics, forward_collect, s->fwd);
}

#define FORWARD_DRAIN_ON_STOP_MS 2000

static int forward_stop_component(void *ctx)
{
    struct server *s = ctx;
    if (s->fwd == NULL)
        return 0;
    selfmetrics_unregister(s->selfmetrics, forward_collect, s->fwd);
    forward_stop(s->fwd, FORWARD_DRAIN_ON_STOP_MS);
    s->fwd = NULL;
    return 0;
}

/* `storage: local | none` (a scalar section). */
static int storage_section(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct server *s = ctx;
    const char *v;
    if (yaml_tree_str(n, &v, e) != 0)
        return e->code;
    if (strcmp(v, "none") != 0 && strcmp(v, "local") != 0)
        return yaml_tree_err(n, TIDE_EINVAL, e, "storage must be local or none, not \"%s\"", v);
    s->storage_none = strcmp(v, "none") == 0;
    return 0;
}

/* `query_backend: URL` (a scalar section). */
static int query_backend_section(void *ctx, const struct yaml_node *n, struct err *e)
{
    struct server *s = ctx;
    const char *v;
    if (yaml_tree_str(n, &v, e) != 0)
        return e->code;
    if (v[0] && strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0)
        return yaml_tree_err(n, TIDE_EINVAL, e, "query_backend must be an http:// or https:// URL");
    if (strlen(v) >= sizeof s->query_backend)
        return yaml_tree_err(n, TIDE_EINVAL, e, "query_backend: URL too long");
    snprintf(s->query_backend, sizeof s->query_backend, "%s", v);
    return 0;
}

/* The pipeline's commit stage: storage_append(). */
static int storage_commit(void *ctx, const struct batch *b, struct pipeline_result *r,
                          struct err *e)
{
    struct storage_append_result sr = {0};
    int rc = storage_append(ctx, b, &sr, e);
    r->samples_added = sr.samples_added;
    r->samples_rejected = sr.samples_rejected;
    r->series_created = sr.series_created;
    return rc;
}

static int pipeline_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    int rc = 0;
    if (s->storage_none) {
        rc = pipeline_new(&s->pipeline, "forward", forward_commit, s->fwd);
    } else {
        rc = live_ring_new(&s->live_ring);
        if (rc == 0)
            rc = live_lease_new(&s->live_lease);
        s->live_commit = (struct live_commit){
            .lease = s->live_lease,
            .ring = s->live_ring,
            .storage = s->storage,
            .next = storage_commit,
            .next_ctx = s->storage,
        };
        live_commit_init(&s->live_commit);
        if (rc == 0)
            rc = pipeline_new(&s->pipeline, "storage", live_commit, &s->live_commit);
    }
    if (rc == 0 && !s->storage_none && s->fwd != NULL)
        rc = pipeline_add_tap(s->pipeline, "forward", forward_tap, s->fwd);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    if (s->live_ring != NULL) {
        rc = selfmetrics_register(s->selfmetrics, live_collect, &s->live_commit);
        if (rc != 0)
            return ERR_SET(e, rc, "registering the live ring's metrics");
    }
    return selfmetrics_register(s->selfmetrics, pipeline_collect, s->pipeline);
}

static int pipeline_stop(void *ctx)
{
    struct server *s = ctx;
    selfmetrics_unregister(s->selfmetrics, pipeline_collect, s->pipeline);
    if (s->live_ring != NULL)
        selfmetrics_unregister(s->selfmetrics, live_collect, &s->live_commit);
    pipeline_free(s->pipeline);
    s->pipeline = NULL;
    if (s->live_ring != NULL)
        live_commit_fini(&s->live_commit);
    live_ring_free(s->live_ring);
    live_lease_free(s->live_lease);
    s->live_ring = NULL;
    s->live_lease = NULL;
    return 0;
}

static void on_target_error(void *ctx, const char *kind, const char *name, int code,
                            const struct err *e)
{
    log_warn("collect", "%s %s: %s", kind, name, e && e->msg[0] ? e->msg : tide_strerror(code));
}

/* The local host collector's groups as targets; a failure only turns the
 * local collection off, as a missing /proc should not stop a server. */
static void add_host_targets(struct server *s)
{
    const struct config *c = &s->cfg;
    struct host_opts o;
    host_opts_init(&o);
    o.version = TIDE_VERSION;
    o.top_n = c->collect_top_n;
    for (int g = 0; g < HOST_NGROUPS; g++)
        o.interval_ms[g] = c->collect_interval_ms;
    snprintf(s->services, sizeof s->services, "%s", c->collect_services);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s->services, ",", &save); tok && n < HOST_SERVICES_MAX;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            s->service_names[n++] = tok;
    o.services = s->service_names;
    o.nservices = n;
    struct err e = {0};
    int rc = host_collector_new(&o, &s->host, &e);
    if (rc == 0)
        rc = host_targets_add(s->host, s->targets, &e);
    if (rc != 0) {
        log_warn("main", "local host collection is off: %s", e.msg[0] ? e.msg : tide_strerror(rc));
        return;
    }
    log_info("main", "collecting this host every %lld ms", (long long)c->collect_interval_ms);
}

static void reloaded_target(void *ctx, const char *kind, const char *name);

/* `target_files:`: its targets now, then its watcher. */
static int target_files_start(struct server *s, struct err *e)
{
    int rc = targets_files_new(s->targets, reloaded_target, s, &s->tfiles);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    struct targets_files_diff d;
    struct err te = {0}, w = {0};
    rc = targets_files_load(s->tfiles, s->config_path, &d, &w, &te);
    if (rc != 0) {
        s->bad_config = true;
        if (te.line > 0)
            return ERR_SET(e, rc, "%s:%d:%d: %s", s->config_path, te.line, te.col, te.msg);
        return ERR_SET(e, rc, "target_files: %s", te.msg);
    }
    if (w.code != 0)
        log_warn("collect", "target_files: %s", w.msg);
    if (d.added > 0)
        log_info("collect", "target_files: %zu targets", d.added);
    return targets_files_watch(s->tfiles, e);
}

static int targets_start_component(void *ctx, struct err *e)
{
    struct server *s = ctx;
    struct targets_opts o = {
        .sink = pipeline_sink,
        .sink_ctx = s->pipeline,
        .on_error = on_target_error,
    };
    int rc = targets_new(&s->targets, &o);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    rc = selfmetrics_register(s->selfmetrics, targets_collect, s->targets);
    if (rc != 0)
        return ERR_SET(e, rc, "registering the targets' metrics");
    char path[CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/agents.conf", s->cfg.data_dir);
    rc = agents_attach(s->targets, path, e);
    if (rc != 0)
        return rc;
    if (s->cfg.collect_host)
        add_host_targets(s);
    if (s->host != NULL && s->live_lease != NULL)
        live_lease_set_local(s->live_lease, host_collector_instance(s->host), s->targets);
    struct err te = {0};
    rc = snmp_kind_register(s->targets, config_section(&s->cfg, "snmp_modules"), &s->snmp, &te);
    if (rc != 0) {
        s->bad_config = true;
        if (te.line > 0)
            return ERR_SET(e, rc, "%s:%d:%d: snmp_modules: %s", config_file(&s->cfg), te.line,
                           te.col, te.msg);
        return ERR_SET(e, rc, "snmp: %s", te.msg);
    }
    rc = ping_kind_register(s->targets, &s->ping, &te);
    if (rc != 0)
        return ERR_SET(e, rc, "%s", te.msg);
    rc = ros_kind_register(s->targets, &s->routeros, &te);
    if (rc != 0)
        return ERR_SET(e, rc, "routeros: %s", te.msg);
    rc = selfmetrics_register(s->selfmetrics, ros_engine_collect, ros_kind_engine(s->routeros));
    if (rc != 0)
        return ERR_SET(e, rc, "registering the routeros metrics");
    rc = targets_config_add(s->targets, config_section(&s->cfg, "targets"), &te);
    if (rc != 0) {
        s->bad_config = true;
        if (te.line > 0)
            return ERR_SET(e, rc, "%s:%d:%d: %s", config_file(&s->cfg), te.line, te.col, te.msg);
        return ERR_SET(e, rc, "%s: %s", config_file(&s->cfg), te.msg);
    }
    rc = targets_config_set_new(config_section(&s->cfg, "targets"), &s->targets_cfg);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    snprintf(path, sizeof path, "%s/targets.json", s->cfg.data_dir);
    rc = targets_rt_open(s->targets, path, &s->targets_rt, &te, e);
    if (rc != 0)
        return rc;
    if (te.code != 0)
        log_warn("main", "%s: not every target could be added again: %s", path, te.msg);
    rc = target_files_start(s, e);
    if (rc != 0)
        return rc;
    struct target_status *ts = NULL;
    size_t nping = 0;
    if (targets_list(s->targets, "ping", &ts, &nping) == 0 && nping > 0)
        log_info("main", "ping: %zu targets; ICMP socket %s, ICMPv6 socket %s (collect/ping.md)",
                 nping, ping_kind_socket(s->ping, AF_INET), ping_kind_socket(s->ping, AF_INET6));
    free(ts);
    char dir[CONFIG_PATH_MAX];
    const char *file = config_file(&s->cfg);
    fs_dir_of(file, dir, sizeof dir);
    rc = scrape_new(s->targets, config_section(&s->cfg, "global"),
                    config_section(&s->cfg, "scrape_configs"), dir, pipeline_sink, s->pipeline,
                    &s->scrape, &te);
    if (rc != 0) {
        s->bad_config = true;
        if (te.line > 0)
            return ERR_SET(e, rc, "%s:%d:%d: %s", file, te.line, te.col, te.msg);
        return ERR_SET(e, rc, "scrape_configs: %s", te.msg);
    }
    return 0;
}

static int targets_stop_component(void *ctx)
{
    struct server *s = ctx;
    selfmetrics_unregister(s->selfmetrics, targets_collect, s->targets);
    if (s->routeros)
        selfmetrics_unregister(s->selfmetrics, ros_engine_collect, ros_kind_engine(s->routeros));
    scrape_stop(s->scrape); /* no more adds or removes from file_sd */
    targets_files_stop(s->tfiles); /* nor from target_files */
    targets_rt_free(s->targets_rt);
    s->targets_rt = NULL;
    targets_config_set_free(s->targets_cfg);
    s->targets_cfg = NULL;
    if (s->live_lease != NULL)
        live_lease_set_local(s->live_lease, NULL, NULL);
    targets_free(s->targets);
    targets_files_free(s->tfiles);
    s->tfiles = NULL;
    scrape_free(s->scrape); /* after the targets: their close needs its engine */
    s->scrape = NULL;
    snmp_kind_free(s->snmp); /* after the targets: their close needs its engine */
    ping_kind_free(s->ping);
    s->ping = NULL;
    ros_kind_free(s->routeros); /* the same */
    s->routeros = NULL;
    host_collector_free(s->host);
    s->snmp = NULL;
    s->targets = NULL;
    s->host = NULL;
    return 0;
}

static int query_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    struct prom_query_opts o = {
        .timeout_ms = s->cfg.query_timeout_ms,
        .max_samples = (size_t)s->cfg.query_max_samples,
        .lookback_ms = s->cfg.query_lookback_delta_ms,
        .max_concurrency = s->cfg.query_max_concurrency,
    };
    int rc = prom_query_new(&s->query, &o);
    return rc ? ERR_SET(e, rc, "out of memory") : 0;
}

static int query_stop(void *ctx)
{
    struct server *s = ctx;
    prom_query_free(s->query);
    s->query = NULL;
    return 0;
}

/* The metric metadata store, kept in DATA/metadata.tsv. */
static int meta_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    char path[CONFIG_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/metadata.tsv", s->cfg.data_dir);
    return meta_store_open(&s->meta, path, 0, e);
}

static int meta_stop(void *ctx)
{
    struct server *s = ctx;
    int rc = meta_store_close(s->meta);
    if (rc != 0)
        log_warn("main", "writing the metric metadata file: %s", tide_strerror(rc));
    s->meta = NULL;
    return 0;
}

/* The notifier options of a rules config (the targets copied; labels and
 * URL borrowed from rc). */
static void notifier_opts_of(const struct rules_config *rc, const char *queue_dir,
                             struct notifier_opts *o)
{
    memcpy(o->targets, rc->targets, rc->ntargets * sizeof rc->targets[0]);
    o->ntargets = rc->ntargets;
    o->external_labels = rc->external_labels;
    o->nexternal_labels = rc->nexternal_labels;
    o->external_url = rc->external_url;
    o->queue_dir = queue_dir;
    o->alert_relabel = rc->alert_relabel;
    o->sd = rc->sd;
    o->nsd = rc->nsd;
}

/* The notifier: its sender thread and per-target queues, durable under
 * DATA/notify/. Started even without targets, so that a reload can bring
 * some (it then sends nothing). */
static int notifier_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    struct notifier_opts *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    char dir[CONFIG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/notify", s->cfg.data_dir);
    notifier_opts_of(&s->rules_cfg, dir, o);
    int r = notifier_new(&s->notifier, o, e);
    free(o);
    if (r == 0)
        r = selfmetrics_register(s->selfmetrics, notifier_collect, s->notifier);
    return r;
}

static int notifier_stop(void *ctx)
{
    struct server *s = ctx;
    if (s->notifier)
        selfmetrics_unregister(s->selfmetrics, notifier_collect, s->notifier);
    notifier_free(s->notifier);
    s->notifier = NULL;
    return 0;
}

/* Expand rule_files (relative to the config's directory) and load them. */
static int load_rule_files(struct server *s, const struct rules_config *rc, struct err *e)
{
    char **paths = NULL;
    size_t n = 0;
    if (s->rules == NULL)
        return ERR_INVAL(e, "rules are not evaluated with storage: none without query_backend:");
    int r = rules_expand_globs(rc->dir, (const char *const *)rc->rule_files, rc->nrule_files,
                               &paths, &n, e);
    if (r != 0)
        return r;
    r = rules_load(s->rules, (const char *const *)paths, n, e);
    if (r == 0)
        log_info("rules", "%zu rule files loaded", n);
    rules_paths_free(paths, n);
    return r;
}

/* The rules' environment from a rules config (labels and URL borrowed). */
static void rules_env_of(const struct server *s, const struct rules_config *rc,
                         struct group_env *env)
{
    *env = (struct group_env){
        .storage = s->storage,
        .eval = s->rule_eval,
        .pipeline = s->pipeline,
        .notifier = s->notifier,
        .query = {.lookback_ms = s->cfg.query_lookback_delta_ms,
                  .max_samples = (size_t)s->cfg.query_max_samples,
                  .timeout_ms = s->cfg.query_timeout_ms,
                  .subquery_step_ms = rc->evaluation_interval_ms},
        .external_labels = rc->external_labels,
        .nexternal_labels = rc->nexternal_labels,
        .external_url = rc->external_url,
        .default_interval_ms = rc->evaluation_interval_ms,
        .outage_tolerance_ms = rc->outage_tolerance_ms,
        .for_grace_period_ms = rc->for_grace_period_ms,
        .resend_delay_ms = rc->resend_delay_ms,
    };
}

/* The rules' evaluator, chosen once: `query_backend:` when set, else the
 * local engine on local storage. */
static int rules_eval_new(struct server *s, struct err *e)
{
    if (s->query_backend[0] == 0) {
        int r = evaluator_local_new(&s->rule_eval, s->storage);
        return r ? ERR_SET(e, r, "out of memory") : 0;
    }
    struct evaluator_backend_opts o = {
        .url = s->query_backend,
        .timeout_ms = s->cfg.query_timeout_ms,
    };
    int r = evaluator_backend_new(&s->rule_eval, &o, e);
    if (r == 0)
        log_info("rules", "rules are evaluated by the query backend %s", s->query_backend);
    return r;
}

static int rules_start_component(void *ctx, struct err *e)
{
    struct server *s = ctx;
    const struct rules_config *rc = &s->rules_cfg;
    if (s->storage_none && s->query_backend[0] == 0) {
        if (rc->nrule_files == 0)
            return 0;
        s->bad_config = true;
        return ERR_INVAL(e, "rule_files: with storage: none, rules need a query_backend: to "
                            "evaluate them (or run them where the data is)");
    }
    int r = rules_eval_new(s, e);
    if (r != 0)
        return r;
    struct group_env env;
    rules_env_of(s, rc, &env);
    r = rules_new(&s->rules, &env);
    if (r != 0)
        return ERR_SET(e, r, "out of memory");
    r = load_rule_files(s, rc, e);
    if (r != 0) {
        s->bad_config = true;
        return r;
    }
    r = selfmetrics_register(s->selfmetrics, rules_collect, s->rules);
    if (r == 0)
        r = rules_start(s->rules, e);
    /* `backfill: true` groups, up to the retention of their inputs; not
     * through a query_backend (rules/backfill.h reads local storage) */
    if (r == 0 && evaluator_is_local(s->rule_eval))
        r = rules_autobackfill_start(s->rules, s->cfg.retention_ms, e);
    return r;
}

static int rules_stop_component(void *ctx)
{
    struct server *s = ctx;
    if (s->rules != NULL) {
        selfmetrics_unregister(s->selfmetrics, rules_collect, s->rules);
        rules_free(s->rules);
        s->rules = NULL;
    }
    evaluator_free(s->rule_eval); /* after the rules that borrow it */
    s->rule_eval = NULL;
    return 0;
}

/* A reload's rule files, global settings and alerting targets: the rule
 * files are checked first (a broken one changes nothing), then the groups
 * restart with the new environment and the notifier takes the new
 * targets, keeping the queues of targets that stay. */
static int reload_rules_and_alerting(struct server *s, const struct rules_config *rc, bool *applied,
                                     struct err *e)
{
    if (s->rules == NULL) /* storage: none without query_backend: */
        return rc->nrule_files == 0
                   ? 0
                   : ERR_INVAL(e, "rule_files: with storage: none, rules need a query_backend: "
                                  "to evaluate them");
    char **paths = NULL;
    size_t n = 0;
    int r = rules_expand_globs(rc->dir, (const char *const *)rc->rule_files, rc->nrule_files,
                               &paths, &n, e);
    if (r != 0)
        return r;
    struct group_env env;
    rules_env_of(s, rc, &env);
    r = rules_reload(s->rules, &env, (const char *const *)paths, n, e);
    rules_paths_free(paths, n);
    if (r != 0)
        return r;
    *applied = true; /* from here on the running rules borrow from rc */
    log_info("rules", "%zu rule files loaded", n);
    struct notifier_opts *o = calloc(1, sizeof *o);
    if (o == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    char dir[CONFIG_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/notify", s->cfg.data_dir);
    notifier_opts_of(rc, dir, o);
    r = notifier_reconfigure(s->notifier, o, e);
    free(o);
    if (r == 0)
        log_info("rules", "alerting: %zu targets", rc->ntargets);
    return r;
}

/* A reloaded config target keeps the state the API persisted for it. */
static void reloaded_target(void *ctx, const char *kind, const char *name)
{
    struct server *s = ctx;
    int state = s->targets_rt ? targets_rt_state(s->targets_rt, kind, name) : -1;
    if (state >= 0)
        targets_set_enabled(s->targets, kind, name, state == 1);
}

/* A reload's `targets:`: the diff against the running config targets. */
static int reload_targets(struct server *s, struct config *tmp, struct err *e)
{
    if (s->targets == NULL || s->targets_cfg == NULL)
        return 0;
    struct targets_config_diff d;
    struct err te = {0};
    int r = targets_config_reload(s->targets, s->targets_cfg, config_section(tmp, "targets"),
                                  reloaded_target, s, &d, &te);
    if (r != 0)
        return err_set_at(e, r, te.where, te.line, te.col, "%s:%d:%d: %s", s->config_path,
                          te.line, te.col, te.msg);
    log_info("collect", "targets reloaded: %zu added, %zu removed, %zu replaced, %zu kept",
             d.added, d.removed, d.replaced, d.kept);
    if (s->tfiles == NULL)
        return 0;
    struct targets_files_diff fd;
    struct err w = {0};
    err_clear(&te);
    r = targets_files_load(s->tfiles, s->config_path, &fd, &w, &te);
    if (r != 0)
        return err_set_at(e, r, te.where, te.line, te.col, "%s:%d:%d: %s", s->config_path,
                          te.line, te.col, te.msg);
    if (w.code != 0)
        log_warn("collect", "target_files: %s", w.msg);
    log_info("collect", "target_files reloaded: %zu added, %zu removed, %zu kept", fd.added,
             fd.removed, fd.kept);
    return 0;
}

/* SIGHUP and POST /-/reload: the rules part of the config file, again:
 * the targets first (a bad entry refuses the reload), then rule_files,
 * global, external_url and alerting. */
static int serve_reload(void *ctx, struct err *e)
{
    struct server *s = ctx;
    pthread_mutex_lock(&s->reload_mu);
    struct config *tmp = calloc(1, sizeof *tmp);
    struct rules_config *rc = calloc(1, sizeof *rc);
    int r = tmp && rc ? 0 : ERR_SET(e, -ENOMEM, "out of memory");
    if (r == 0) {
        config_defaults(tmp);
        rules_config_init(rc);
        rules_config_register(rc, tmp);
        /* every other section of the running config: read, not applied */
        for (size_t i = 0; i < s->cfg.nsections; i++)
            config_section_register(tmp, s->cfg.sections[i].name, NULL, NULL);
        if (s->config_path[0]) {
            struct err fe = {0};
            rules_config_set_file(rc, s->config_path);
            r = config_load_file(tmp, s->config_path, &fe);
            if (r != 0)
                err_set_at(e, r, fe.where, fe.line, fe.col, "%s:%d:%d: %s", s->config_path, fe.line,
                           fe.col, fe.msg);
        }
    }
    bool applied = false;
    if (r == 0 && s->config_path[0])
        r = reload_targets(s, tmp, e);
    if (r == 0)
        r = reload_rules_and_alerting(s, s->config_path[0] ? rc : &s->rules_cfg, &applied, e);
    if (applied && s->config_path[0]) { /* the new config is the running one now */
        struct rules_config old = s->rules_cfg;
        s->rules_cfg = *rc;
        *rc = old;
    }
    if (rc)
        rules_config_fini(rc);
    if (tmp)
        config_fini(tmp);
    free(rc);
    free(tmp);
    pthread_mutex_unlock(&s->reload_mu);
    if (r != 0)
        log_error("rules", "reload refused, the old rules keep running: %s", e->msg);
    else
        log_info("rules", "rules reloaded");
    return r;
}

/* The live push channel's hub: a tap of the pipeline, so started before any
 * producer, and before the HTTP server, which ends every stream when it
 * stops, so the hub outlives its subscribers and the producers. */
static int stream_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    struct stream_hub_opts o = {
        .lookback_ms = s->cfg.query_lookback_delta_ms,
        .max_samples = (size_t)s->cfg.query_max_samples,
        .ring = s->live_ring,
        .lease = s->live_lease,
    };
    int rc = stream_hub_new(&s->stream, s->storage, &o, e);
    if (rc != 0)
        return rc;
    rc = pipeline_add_tap(s->pipeline, "stream", stream_hub_tap, s->stream);
    if (rc != 0)
        return ERR_SET(e, rc, "cannot add the stream hub to the pipeline");
    rc = selfmetrics_register(s->selfmetrics, stream_hub_collect, s->stream);
    return rc ? ERR_SET(e, rc, "registering the stream hub's metrics") : 0;
}

static int stream_stop(void *ctx)
{
    struct server *s = ctx;
    if (s->stream != NULL)
        selfmetrics_unregister(s->selfmetrics, stream_hub_collect, s->stream);
    stream_hub_free(s->stream);
    s->stream = NULL;
    return 0;
}

static int http_start_component(void *ctx, struct err *e)
{
    struct server *s = ctx;
    const struct config *c = &s->cfg;
    metrics_init(&s->metrics);
    s->auth = (struct auth){
        .write = {.bearer = c->auth_write_bearer_token, .basic = c->auth_write_basic},
        .read = {.bearer = c->auth_read_bearer_token, .basic = c->auth_read_basic},
    };
    s->api = (struct api_ctx){
        .storage = s->storage,
        .pipeline = s->pipeline,
        .live_lease = s->live_lease,
        .targets = s->targets,
        .targets_rt = s->targets_rt,
        .targets_files = s->tfiles,
        .metrics = &s->metrics,
        .selfmetrics = s->selfmetrics,
        .version = TIDE_VERSION,
        .max_request_bytes = c->max_request_bytes,
        .started_ms = s->started_ms,
        .auth = &s->auth,
        .query = s->query,
        .config = c,
        .meta = s->meta,
        .rules = s->rules,
        .reload = serve_reload,
        .reload_ctx = s,
        .query_backend = s->query_backend[0] ? s->query_backend : NULL,
        .stream = s->stream,
    };
    atomic_init(&s->api.ready, 1);
    int rc = selfmetrics_register(s->selfmetrics, metrics_collect_api, &s->metrics);
    if (rc == 0)
        rc = selfmetrics_register(s->selfmetrics, metrics_collect_process, &s->started_ms);
    if (rc != 0)
        return ERR_SET(e, rc, "registering the API's metrics");
    struct http_opts ho = {
        .host = c->listen_host,
        .port = c->listen_port,
        .threads = c->http_threads,
        .idle_timeout_s = (unsigned)((c->http_idle_timeout_ms + 999) / 1000),
        .max_connections = c->http_max_connections,
        .max_connections_per_client = c->http_max_connections_per_client,
        .header_timeout_ms = c->http_header_timeout_ms,
        .max_request_bytes = c->max_request_bytes,
    };
    rc = http_start(&s->http, &ho, &s->api, e);
    if (rc != 0)
        return rc;
    log_info("main", "listening on %s:%u", c->listen_host[0] ? c->listen_host : "*",
             (unsigned)http_port(s->http));
    return 0;
}

static int http_stop_component(void *ctx)
{
    struct server *s = ctx;
    if (s->http)
        http_stop(s->http);
    s->http = NULL;
    selfmetrics_unregister(s->selfmetrics, metrics_collect_api, &s->metrics);
    selfmetrics_unregister(s->selfmetrics, metrics_collect_process, &s->started_ms);
    return 0;
}

static int collection_start(void *ctx, struct err *e)
{
    struct server *s = ctx;
    return targets_start(s->targets, e);
}

static int collection_stop(void *ctx)
{
    struct server *s = ctx;
    atomic_store(&s->api.ready, 0); /* the first stop: /ready says so from here on */
    targets_stop(s->targets);
    return 0;
}

static void server_free(struct server *s)
{
    config_fini(&s->cfg);
    forward_config_fini(&s->fwd_cfg);
    rules_config_fini(&s->rules_cfg);
    storage_policy_fini(&s->policy); /* after storage_close(): storage borrows it */
    pthread_mutex_destroy(&s->reload_mu);
    free(s);
}

int serve_main(int argc, char **argv)
{
    struct server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        fprintf(stderr, "tide serve: out of memory\n");
        return 1;
    }
    config_defaults(&s->cfg);
    rules_config_init(&s->rules_cfg);
    pthread_mutex_init(&s->reload_mu, NULL);
    config_section_register(&s->cfg, "targets", NULL, NULL); /* read by the targets component */
    config_section_register(&s->cfg, "target_files", NULL, NULL); /* and this one */
    config_section_register(&s->cfg, "snmp_modules", NULL, NULL); /* and this one too */
    config_section_register(&s->cfg, "remote_write", forward_config_parse, &s->fwd_cfg);
    config_section_register(&s->cfg, "storage", storage_section, s);
    config_section_register(&s->cfg, "query_backend", query_backend_section, s);
    config_section_register(&s->cfg, "scrape_configs", NULL, NULL); /* read by the targets component */
    config_section_register(&s->cfg, "tiers", NULL, NULL); /* read by the storage component */
    config_section_register(&s->cfg, "retention_rules", NULL, NULL);
    config_section_register(&s->cfg, "buckets", NULL, NULL);
    rules_config_register(&s->rules_cfg, &s->cfg); /* rule_files, global, alerting, external_url */
    int prc = flags_parse("serve", argc, argv, take_config_file, s, is_config_flag);
    if (prc == 0)
        prc = flags_parse("serve", argc, argv, take_flag, s, not_config_flag);
    if (prc != 0) {
        if (prc > 0)
            serve_usage(stdout);
        server_free(s);
        return prc > 0 ? 0 : 2;
    }
    log_set_level((enum log_level)s->cfg.log_level);
    /* tiers:, retention_rules:, buckets: refused like any bad key: exit 2. */
    struct err pe = {0};
    prc = storage_policy_parse(config_section(&s->cfg, "tiers"),
                               config_section(&s->cfg, "retention_rules"),
                               config_section(&s->cfg, "buckets"), s->cfg.partition_ms, &s->policy,
                               &pe);
    if (prc != 0) {
        if (pe.line > 0)
            fprintf(stderr, "tide serve: %s:%d:%d: %s\n", config_file(&s->cfg), pe.line, pe.col,
                    pe.msg);
        else
            fprintf(stderr, "tide serve: %s\n", pe.msg);
        server_free(s);
        return 2;
    }

    /* Block the stop signals before any thread starts: threads inherit the
     * mask, and only the sigwait() below ever takes them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    const struct component parts[] = {
        {"self-metrics", selfmetrics_start, selfmetrics_stop, s},
        {"storage", storage_start, storage_stop, s},
        {"forward", forward_start_component, forward_stop_component, s},
        {"pipeline", pipeline_start, pipeline_stop, s},
        {"stream", stream_start, stream_stop, s},
        {"targets", targets_start_component, targets_stop_component, s},
        {"query", query_start, query_stop, s},
        {"metadata", meta_start, meta_stop, s},
        {"notifier", notifier_start, notifier_stop, s},
        {"rules", rules_start_component, rules_stop_component, s},
        {"http", http_start_component, http_stop_component, s},
        {"collection", collection_start, collection_stop, s},
    };
    size_t started = 0;
    struct err e = {0};
    if (component_start_all(parts, sizeof parts / sizeof parts[0], &started, &e) != 0) {
        log_error("main", "%s", e.msg);
        int code = s->bad_config ? 2 : 1;
        server_free(s);
        return code;
    }

    int sig = 0;
    for (;;) {
        if (sigwait(&stop, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        struct err re = {0};
        serve_reload(s, &re); /* logs the outcome */
    }
    log_info("main", "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    int rc = component_stop_all(parts, started);
    server_free(s);
    if (rc != 0)
        return 1;
    log_info("main", "stopped cleanly");
    return 0;
}
