/* scrape.h: Prometheus scraping. A `scrape_configs:` section copied from a
 * prometheus.yml becomes targets of the kind "scrape" in the targets
 * manager (collect/targets.h):
 *
 *   scrape_configs ──scrape_config.c──▶ jobs (struct scrape_job)
 *   static_configs, file_sd_configs ──scrape_discovery.c──▶ target groups
 *     ──relabel_configs──▶ targets_add()/targets_remove() (kind "scrape")
 *   manager ──start()──▶ scrape_engine.c: one curl multi handle, one thread,
 *     every target's request in flight at once
 *   response ──scrape_target.c──▶ expfmt parse, honor_labels, metric
 *     relabelling, limits, meta series ──▶ the manager's batch
 *
 * What differs from Prometheus is listed in docs/collect/scrape.md.
 *
 * Lifecycle, in `tide serve`: scrape_new() after the manager exists and
 * before targets_start() (it registers the kind, adds the static targets
 * and the file_sd ones found now, and starts the file_sd watcher);
 * scrape_stop() before targets_free() (no more adds or removes);
 * scrape_free() after it (the targets' close() needs the engine).
 * Thread: these three from the owner's thread only.
 */
#ifndef TIDE_COLLECT_SCRAPE_H
#define TIDE_COLLECT_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/file_sd.h"
#include "model/relabel.h"
#include "core/http_client.h"
#include "core/err.h"
#include "core/tls_config.h"
#include "model/batch.h"

#define SCRAPE_INTERVAL_DEFAULT_MS 60000 /* global scrape_interval */
#define SCRAPE_TIMEOUT_DEFAULT_MS 10000  /* global scrape_timeout */
#define SCRAPE_BODY_MAX (256u << 20)     /* body_size_limit 0: still capped here */
/* What Prometheus 2.42 sends (scrapeAcceptHeader without native histograms). */
#define SCRAPE_ACCEPT                                                                      \
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" \
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

struct targets;
struct yaml_node;
struct scrape;
struct scrape_engine;

struct scrape_param {
    char *name;
    char **values;
    size_t nvalues;
};

/* One scrape_configs entry. Read-only after parsing, except the file_sd
 * state and `current`, which only the discovery (scrape_discovery.c, under
 * scrape.mu) touches. Owned by struct scrape. */
struct scrape_job {
    char *name;
    int64_t interval_ms, timeout_ms;
    char *metrics_path; /* default /metrics */
    char *scheme;       /* http or https */
    struct scrape_param *params;
    size_t nparams;
    /* HTTP client settings (strings owned). */
    char *basic_user, *basic_password; /* basic_auth */
    char *auth_header;                 /* "Authorization: <type> <credentials>" or NULL */
    struct tls_config tls;             /* tls_config */
    bool follow_redirects; /* default true */
    bool honor_labels;     /* default false */
    bool honor_timestamps; /* default true */
    uint64_t sample_limit, label_limit, label_name_length_limit, label_value_length_limit;
    uint64_t body_size_limit; /* bytes; 0 = SCRAPE_BODY_MAX */
    uint64_t target_limit;    /* accepted, not enforced yet */
    struct relabel_config relabel, metric_relabel;
    struct scrape_group *static_groups;
    size_t nstatic;
    struct scrape_file_sd *file_sd;
    size_t nfile_sd;
    /* Targets of this job now in the manager: name and identity hash. */
    struct scrape_added {
        char *name;
        uint64_t id;
    } *current;
    size_t ncurrent;
};

/* A target after target relabelling, ready for the kind (scrape_target.c).
 * Strings point into `set` and the job. */
struct scrape_resolved {
    const struct scrape_job *job;
    char name[256];                 /* unique per kind: "job/address[/k]" */
    char url[2048];                 /* scheme://address/path?params */
    const char *address;            /* __address__ */
    int64_t interval_ms, timeout_ms; /* from __scrape_interval__/__scrape_timeout__ */
    const struct label *labels;     /* the target labels (no __ names), sorted */
    size_t nlabels;
    uint64_t id; /* hash of the URL and labels: a changed target is a new one */
};

/* ---- scrape_config.c ---- */

/* Parse `scrape_configs:` (a list; NULL or null = none) with the defaults
 * of `global:` (scrape_interval, scrape_timeout; NULL = Prometheus'
 * defaults; other keys are not read here). `base_dir` resolves relative
 * file names (file_sd files, password_file, ca_file); NULL = the current
 * directory. *jobs is a calloc'd array of *njobs jobs. 0 or TIDE_EINVAL /
 * TIDE_ENOTFOUND / -errno (a secret file) / -ENOMEM with line:col in `e`. */
int scrape_config_parse(const struct yaml_node *global, const struct yaml_node *list,
                        const char *base_dir, struct scrape_job **jobs, size_t *njobs,
                        struct err *e);
void scrape_jobs_free(struct scrape_job *jobs, size_t n);
/* Target groups and file_sd files: model/file_sd.h. */

/* ---- scrape_discovery.c ---- */

/* Turn one target address of a group into a resolved target: defaults
 * (job, __address__, __scheme__, __metrics_path__, __scrape_interval__,
 * __scrape_timeout__, __param_*), target relabelling, the default port,
 * __meta_* removed, instance defaulted to the address. `set` holds the
 * labels (reset here). 1 when resolved, 0 when relabelling dropped it, or
 * TIDE_EINVAL / -ENOMEM with the reason in `e`. */
int scrape_resolve(const struct scrape_job *job, const struct scrape_group *g, size_t ti,
                   struct relabel_set *set, struct scrape_resolved *out, struct err *e);

/* ---- scrape_target.c: the kind ---- */

/* Register the kind "scrape" with `m`, with its engine. Timestamped samples
 * (kept with honor_timestamps, and so never stale-marked, as Prometheus
 * does) go straight to sink(sink_ctx) from the engine thread. */
int scrape_kind_new(struct targets *m, batch_sink_fn *sink, void *sink_ctx,
                    struct scrape_engine **eng, void **kind, struct err *e);
/* Add a resolved target to the manager as kind "scrape". 0 or the
 * manager's error. Thread: one adder at a time (the caller's lock). */
int scrape_kind_add(void *kind, struct targets *m, const struct scrape_resolved *r, struct err *e);
void scrape_kind_free(void *kind);

/* ---- scrape_engine.c: one curl multi handle on one thread ---- */

/* One transfer. The owner (a target) fills client, rq and done, and keeps
 * the whole struct alive and unchanged from submit until done has returned
 * or scrape_engine_cancel() has. */
struct scrape_xfer {
    struct http_client *client; /* the owner's: one transfer at a time */
    struct http_request rq;     /* borrowed strings: the owner's */
    struct http_response rs;    /* filled before done */
    /* On the engine thread, with rc as http_client_finish() returns it. */
    void (*done)(struct scrape_xfer *x, int rc, const struct err *e);
    /* The engine's, under its mutex. */
    struct scrape_xfer *next;
    void *easy;  /* the client's CURL * while in the multi handle */
    int state;   /* idle, pending, in flight, calling done */
    bool cancel; /* the owner waits for it to leave the multi handle */
};

/* Start the engine thread. 0, -ENOMEM, -EIO (libcurl) or -errno. */
int scrape_engine_new(struct scrape_engine **out, struct err *e);
/* Cancel everything in flight (no done calls after), stop and free. */
void scrape_engine_free(struct scrape_engine *eng);
/* Queue x; done is called once, on the engine thread. Waits while the
 * previous done of x is still returning. 0, or TIDE_EINVAL when x is
 * already queued or in flight, TIDE_ECLOSED when stopping. Not from a done
 * callback. */
int scrape_engine_submit(struct scrape_engine *eng, struct scrape_xfer *x);
/* Take x back: once this returns, done is not running and will not be
 * called for the transfer submitted last. Not from a done callback. */
void scrape_engine_cancel(struct scrape_engine *eng, struct scrape_xfer *x);

/* ---- the whole (scrape_discovery.c) ---- */

/* Parse the sections, register the kind, add the targets found now, start
 * watching the file_sd files. On failure *out is NULL and the manager has
 * no scrape target (the kind may stay registered: one targets_new per
 * start). */
int scrape_new(struct targets *m, const struct yaml_node *global,
               const struct yaml_node *scrape_configs, const char *base_dir, batch_sink_fn *sink,
               void *sink_ctx, struct scrape **out, struct err *e);
/* Stop the file_sd watcher. Idempotent; NULL is a no-op. */
void scrape_stop(struct scrape *s);
/* Free the jobs and the kind. After targets_free(). NULL is a no-op. */
void scrape_free(struct scrape *s);

#endif
