/* agent.c: `tide agent`, the wiring of agent mode's stack:
 * collect/host (targets-manager workers) → the append pipeline, whose commit
 * stage accumulates batches → remote_write_encode → remote/queue.c →
 * remote/sender.c → any remote-write receiver.
 *
 * Components, started in this order and stopped in reverse (component.h):
 * queue, sender, pipeline + targets (the host collector's groups), flusher
 * (turns the pending batch into one queue record when it is batch_max_wait
 * old), config poller (when --server is given), collection (the workers).
 * The main thread only waits for SIGTERM/SIGINT. The pending batch is the
 * one shared thing; `mu` guards it.
 *
 * Invariant: a collected sample is either in the pending batch or in the
 * queue; at a stop the pending batch is pushed before the queue is closed,
 * so a clean stop loses nothing, and a kill loses at most batch_max_wait of
 * samples not yet pushed (docs/agent.md).
 */

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/component.h"
#include "cmd/flags.h"
#include "collect/host.h"
#include "collect/targets.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/http_client.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest/remote_write.h"
#include "model/batch.h"
#include "model/pipeline.h"
#include "remote/queue.h"
#include "remote/sender.h"

#ifndef TIDE_VERSION
#define TIDE_VERSION "0.1.0"
#endif

#define AGENT_INTERVAL_DEFAULT_MS 10000
#define AGENT_BATCH_MAX_SAMPLES_DEFAULT 10000
#define AGENT_BATCH_MAX_WAIT_DEFAULT_MS 5000
#define AGENT_DRAIN_ON_STOP_MS 2000
#define AGENT_CONFIG_TIMEOUT_MS 5000
#define AGENT_CONFIG_MAX_BYTES 65536
#define AGENT_CONFIG_POLL_MAX_MS 10000    /* poll at least this often (a screen's lease) */
#define AGENT_CONFIG_POLL_DISPLAY_MS 1000 /* while a display-rate lease is in force */

struct agent_flags {
    const char *server; /* base URL of a Tide server */
    const char *rw_url; /* explicit remote-write URL */
    const char *queue_dir;
    uint64_t queue_max_bytes;
    enum queue_fsync queue_fsync;
    int64_t interval_ms;
    const char *instance;
    const char *job;
    uint64_t batch_max_samples;
    int64_t batch_max_wait_ms;
    char *services_buf; /* strdup of --services, split in place */
    const char *services[HOST_SERVICES_MAX];
    size_t nservices;
    unsigned top_n;
    const char *bearer_token;
    const char *basic_auth; /* "user:password" */
};

struct agent {
    struct agent_flags f;
    char instance[256]; /* resolved instance name */
    char rw_url[2048];
    char config_url[2048]; /* "" when there is no --server */
    struct host_collector *host;
    struct pipeline *pipeline; /* commit stage: agent_commit() */
    struct targets *targets;
    struct queue *queue;
    struct sender *sender;

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* wakes the flusher and the poller */
    bool stopping;            /* mu */
    struct batch pending;     /* mu: collected, not yet in the queue */
    int64_t pending_since_ns; /* mu: monotonic time the first series arrived */
    struct buf enc;           /* mu: encoding scratch */
    uint64_t push_failures;   /* mu */

    atomic_llong interval_ms; /* the collection (storage) interval now in force */
    bool overridden;          /* poller thread: the server set the interval */
    /* A screen's display-rate lease (docs/agent.md#display-rate): the host
     * groups run every display_ms until display_until_ns (monotonic) unless
     * a poll renews it; batches are flushed that often too. Written by the
     * poller, read by the flusher. */
    atomic_llong display_ms;
    atomic_llong display_until_ns;
    pthread_t flusher, poller;
    bool flusher_started, poller_started;
};

void agent_usage(FILE *f)
{
    fprintf(f, "usage: tide agent --server URL | --remote-write-url URL [flags]\n"
               "\n"
               "Collect this host's metrics (node_exporter names) and forward them with\n"
               "Prometheus remote write through a durable on-disk queue (docs/agent.md).\n"
               "\n"
               "flags:\n"
               "  --server URL               Tide server base URL: writes go to URL/api/v1/write,\n"
               "                             the interval is polled from URL/api/v1/agent/config\n"
               "  --remote-write-url URL     any remote-write receiver (overrides --server's)\n"
               "  --queue-dir DIR            durable queue directory (default ./tide-agent-queue)\n"
               "  --queue-max-bytes SIZE     queue cap; past it the oldest data is dropped "
               "(default 512MiB)\n"
               "  --queue-fsync MODE         always, interval or never (default always)\n"
               "  --interval DURATION        collection interval of every group (default 10s)\n"
               "  --instance NAME            `instance` label (default: the host name)\n"
               "  --job NAME                 `job` label (default tide-agent)\n"
               "  --batch-max-samples N      flush a batch at this many samples (default 10000)\n"
               "  --batch-max-wait DURATION  or when its oldest sample is this old (default 5s)\n"
               "  --services a,b,c           report these services' state (systemd units)\n"
               "  --top-n N                  top processes by CPU to report (default 5)\n"
               "  --bearer-token TOKEN       send Authorization: Bearer TOKEN\n"
               "  --basic-auth USER:PASS     send HTTP basic auth\n"
               "  --log-level LEVEL          debug, info, warn or error (default info)\n"
               "  -h, --help                 show this help\n");
}

static int bad_flag(struct err *e, const char *val, const char *why)
{
    return ERR_INVAL(e, "\"%s\": %s", val, why);
}

/* flags_fn: one flag of `tide agent` into struct agent_flags. */
static int take_flag(void *ctx, const char *key, const char *v, struct err *e)
{
    struct agent_flags *f = ctx;
    struct err pe = {0};
    uint64_t n;
    if (strcmp(key, "server") == 0) {
        f->server = v;
    } else if (strcmp(key, "remote-write-url") == 0) {
        f->rw_url = v;
    } else if (strcmp(key, "queue-dir") == 0) {
        f->queue_dir = v;
    } else if (strcmp(key, "queue-max-bytes") == 0) {
        if (config_parse_size(key, v, &f->queue_max_bytes, &pe) != 0 ||
            f->queue_max_bytes < 65536)
            return bad_flag(e, v, "not a size of at least 64KiB (e.g. 512MiB)");
    } else if (strcmp(key, "queue-fsync") == 0) {
        if (strcmp(v, "always") == 0)
            f->queue_fsync = QUEUE_FSYNC_ALWAYS;
        else if (strcmp(v, "interval") == 0)
            f->queue_fsync = QUEUE_FSYNC_INTERVAL;
        else if (strcmp(v, "never") == 0)
            f->queue_fsync = QUEUE_FSYNC_NEVER;
        else
            return bad_flag(e, v, "not one of always, interval, never");
    } else if (strcmp(key, "interval") == 0) {
        if (time_parse_duration_ms(v, &f->interval_ms, &pe) != 0)
            return bad_flag(e, v, pe.msg);
        if (f->interval_ms < TARGETS_INTERVAL_MIN_MS)
            return bad_flag(e, v, "below the minimum of 100ms");
    } else if (strcmp(key, "instance") == 0) {
        f->instance = v;
    } else if (strcmp(key, "job") == 0) {
        f->job = v;
    } else if (strcmp(key, "batch-max-samples") == 0) {
        if (config_parse_count(key, v, 10000000, &f->batch_max_samples, &pe) != 0 ||
            f->batch_max_samples == 0)
            return bad_flag(e, v, "not a number between 1 and 10000000");
    } else if (strcmp(key, "batch-max-wait") == 0) {
        if (time_parse_duration_ms(v, &f->batch_max_wait_ms, &pe) != 0)
            return bad_flag(e, v, pe.msg);
    } else if (strcmp(key, "services") == 0) {
        free(f->services_buf);
        f->services_buf = strdup(v);
        if (f->services_buf == NULL)
            return bad_flag(e, v, "out of memory");
        f->nservices = 0;
        char *save = NULL;
        for (char *t = strtok_r(f->services_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (f->nservices == HOST_SERVICES_MAX)
                return bad_flag(e, v, "more than 64 services");
            f->services[f->nservices++] = t;
        }
    } else if (strcmp(key, "top-n") == 0) {
        if (config_parse_count(key, v, 1000, &n, &pe) != 0)
            return bad_flag(e, v, "not a number between 0 and 1000");
        f->top_n = (unsigned)n;
    } else if (strcmp(key, "bearer-token") == 0) {
        f->bearer_token = v;
    } else if (strcmp(key, "basic-auth") == 0) {
        if (strchr(v, ':') == NULL)
            return bad_flag(e, "...", "want USER:PASSWORD");
        f->basic_auth = v;
    } else if (strcmp(key, "log-level") == 0) {
        int l = log_level_parse(v);
        if (l < 0)
            return bad_flag(e, v, "not one of debug, info, warn, error");
        log_set_level((enum log_level)l);
    } else {
        return TIDE_ENOTFOUND;
    }
    return 0;
}

/* Parse argv into f. 1 after --help, 0 on success, -1 on a usage error. */
static int parse_flags(int argc, char **argv, struct agent_flags *f)
{
    int rc = flags_parse("agent", argc, argv, take_flag, f, NULL);
    if (rc > 0)
        agent_usage(stdout);
    if (rc != 0)
        return rc;
    if (f->server == NULL && f->rw_url == NULL) {
        fprintf(stderr, "tide agent: give --server URL or --remote-write-url URL (see --help)\n");
        return -1;
    }
    return 0;
}

/* ---- the pending batch ---- */

/* Copy every series of `b` into a->pending (labels into its arena). */
static int pending_add(struct agent *a, const struct batch *b)
{
    struct batch *p = &a->pending;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        int rc = batch_begin_series(p);
        for (uint32_t j = 0; rc == 0 && j < s->nlabels; j++) {
            const struct label *l = &b->labels[s->label_off + j];
            char *n = batch_strdup(p, l->name.p, l->name.n);
            char *v = batch_strdup(p, l->value.p, l->value.n);
            if (n == NULL || v == NULL)
                rc = -ENOMEM;
            else
                rc = batch_add_label(p, (struct strv){n, l->name.n}, (struct strv){v, l->value.n});
        }
        for (uint32_t j = 0; rc == 0 && j < s->nsamples; j++) {
            const struct sample *sm = &b->samples[s->sample_off + j];
            rc = batch_add_sample(p, sm->t_ms, sm->v);
        }
        if (rc == 0)
            rc = batch_end_series(p);
        if (rc != 0) {
            batch_abort_series(p);
            return rc;
        }
    }
    return 0;
}

static void add_gauge(struct agent *a, const char *name, double v, int64_t t_ms)
{
    struct batch *p = &a->pending;
    if (batch_begin_series(p) != 0)
        return;
    int rc = batch_add_label(p, STRV_LIT("__name__"), strv_c(name));
    if (rc == 0)
        rc = batch_add_label(p, STRV_LIT("instance"), strv_c(a->instance));
    if (rc == 0)
        rc = batch_add_label(p, STRV_LIT("job"), strv_c(a->f.job));
    if (rc == 0)
        rc = batch_add_sample(p, t_ms, v);
    if (rc == 0)
        rc = batch_end_series(p);
    if (rc != 0)
        batch_abort_series(p);
}

/* The agent's own health, sent with each record so the server can see a
 * queue growing or data being dropped (docs/agent.md). */
static void add_self_metrics(struct agent *a)
{
    struct queue_stats qs;
    struct sender_stats ss;
    queue_stats(a->queue, &qs);
    sender_stats(a->sender, &ss);
    int64_t now = time_now_ms();
    add_gauge(a, "tide_agent_queue_bytes", (double)qs.bytes, now);
    add_gauge(a, "tide_agent_queue_records", (double)qs.records, now);
    add_gauge(a, "tide_agent_queue_dropped_records_total", (double)qs.dropped_records, now);
    add_gauge(a, "tide_agent_sent_records_total", (double)ss.sent_records, now);
    add_gauge(a, "tide_agent_send_failures_total", (double)ss.failed_attempts, now);
    add_gauge(a, "tide_agent_rejected_records_total", (double)ss.dropped_records, now);
    add_gauge(a, "tide_agent_interval_seconds", (double)atomic_load(&a->interval_ms) / 1000.0, now);
    /* the send cadence: the server's up/down follows it (api/agents.c) */
    add_gauge(a, "tide_agent_batch_max_wait_seconds", (double)a->f.batch_max_wait_ms / 1000.0, now);
}

/* Encode the pending batch into one queue record. Called with mu held. The
 * batch is emptied whatever happens: on a disk error it is lost and
 * counted, rather than grown without bound. */
static int flush_locked(struct agent *a, struct err *e)
{
    if (a->pending.nseries == 0)
        return 0;
    add_self_metrics(a);
    buf_reset(&a->enc);
    int rc = remote_write_encode(&a->pending, &a->enc, e);
    if (rc == 0)
        rc = queue_push(a->queue, a->enc.p, a->enc.len, e);
    if (rc != 0) {
        a->push_failures++;
        log_error("agent", "could not queue %zu samples, dropping them: %s", a->pending.nsamples,
                  e->msg[0] ? e->msg : tide_strerror(rc));
    } else {
        log_debug("agent", "queued %zu series, %zu samples, %zu bytes", a->pending.nseries,
                  a->pending.nsamples, a->enc.len);
    }
    batch_reset(&a->pending);
    if (a->enc.cap > ((size_t)4 << 20)) {
        buf_fini(&a->enc);
        buf_init(&a->enc, 0);
    }
    return rc;
}

/* The pipeline's commit stage, on a targets-manager worker: the batch is
 * taken once it is in the pending batch (a clean stop pushes that). */
static int agent_commit(void *ctx, const struct batch *b, struct pipeline_result *r,
                        struct err *e)
{
    struct agent *a = ctx;
    pthread_mutex_lock(&a->mu);
    bool was_empty = a->pending.nseries == 0;
    int rc = pending_add(a, b);
    if (rc != 0)
        ERR_SET(e, rc, "agent: out of memory for the pending batch");
    else
        r->samples_added = b->nsamples;
    if (a->pending.nsamples >= a->f.batch_max_samples) {
        struct err fe = {0};
        flush_locked(a, &fe); /* a failed push is logged and counted there */
    } else if (was_empty && a->pending.nseries > 0) {
        a->pending_since_ns = time_mono_ns();
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void on_target_error(void *ctx, const char *kind, const char *name, int code,
                            const struct err *e)
{
    log_warn("agent", "collect %s: %s", name, e && e->msg[0] ? e->msg : tide_strerror(code));
}

static void on_sender_log(void *ctx, int level, const char *msg)
{
    log_at((enum log_level)level, "remote", "%s", msg);
}

static void abs_deadline(struct timespec *ts, int64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000);
    ts->tv_nsec = (long)(mono_ns % 1000000000);
}

/* The flusher thread: push the pending batch once it is batch_max_wait old. */
static void *flusher_run(void *arg)
{
    struct agent *a = arg;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        if (a->pending.nseries == 0) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
        /* A watched host's points go out at the display rate. */
        int64_t wait_ns = a->f.batch_max_wait_ms * 1000000;
        int64_t display_ns = atomic_load(&a->display_ms) * 1000000;
        if (display_ns > 0 && display_ns < wait_ns &&
            time_mono_ns() < atomic_load(&a->display_until_ns))
            wait_ns = display_ns;
        int64_t due = a->pending_since_ns + wait_ns;
        if (time_mono_ns() >= due) {
            struct err e = {0};
            flush_locked(a, &e);
            continue;
        }
        struct timespec ts;
        abs_deadline(&ts, due);
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* ---- live configuration ---- */

/* Find `"<key>"` inside the `"data"` object of the server's answer and
 * copy its string value. 1 found, 0 absent, -1 not a success answer. A few
 * lines of scanning suffice: the server's answer is small and flat. */
static int config_field(const char *body, const char *key, char *out, size_t cap)
{
    if (strstr(body, "\"success\"") == NULL)
        return -1;
    const char *d = strstr(body, "\"data\"");
    if (d == NULL)
        return -1;
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *k = strstr(d, quoted);
    if (k == NULL)
        return 0;
    const char *p = k + strlen(quoted);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != ':')
        return -1;
    p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != '"')
        return -1;
    p++;
    const char *end = strchr(p, '"');
    if (end == NULL || (size_t)(end - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = 0;
    return 1;
}

static void apply_interval(struct agent *a, int64_t ms, const char *why)
{
    if (ms == atomic_load(&a->interval_ms))
        return;
    struct target_status *ts = NULL;
    size_t n = 0;
    if (targets_list(a->targets, host_target_kind.name, &ts, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            int rc = targets_set_interval(a->targets, ts[i].kind, ts[i].name, ms);
            if (rc != 0 && rc != TIDE_ENOTFOUND)
                log_warn("agent", "set interval of %s: %s", ts[i].name, tide_strerror(rc));
        }
        free(ts);
    }
    log_info("agent", "collection interval %lld ms -> %lld ms (%s)",
             (long long)atomic_load(&a->interval_ms), (long long)ms, why);
    atomic_store(&a->interval_ms, (long long)ms);
}

/* Take (display_ms > 0, for lease_ms from now) or end (0) the display
 * rate of a screen watching this host: the host groups at the storage
 * interval run at display_ms, and lapse back by themselves when no poll
 * renews the lease (the server gone, say). */
static void apply_display(struct agent *a, int64_t display_ms, int64_t lease_ms)
{
    int64_t was = atomic_load(&a->display_ms);
    int64_t now = time_mono_ns();
    bool on = display_ms > 0 && display_ms < atomic_load(&a->interval_ms);
    if (!on && (was == 0 || now >= atomic_load(&a->display_until_ns)))
        display_ms = 0; /* nothing to end */
    int64_t until = on ? now + lease_ms * 1000000 : 0;
    int64_t storage_ms = 0;
    if (on || was != 0) {
        int rc = host_targets_lease(a->targets, on ? display_ms : 0, until, &storage_ms);
        if (rc != 0)
            log_warn("agent", "display rate: %s", tide_strerror(rc));
    }
    atomic_store(&a->display_until_ns, (long long)until);
    atomic_store(&a->display_ms, (long long)(on ? display_ms : 0));
    if (on && was != display_ms)
        log_info("agent", "display rate %lld ms while a screen watches (storage every %lld ms)",
                 (long long)display_ms, (long long)atomic_load(&a->interval_ms));
    else if (!on && was != 0)
        log_info("agent", "display rate ended, back to %lld ms",
                 (long long)atomic_load(&a->interval_ms));
    pthread_mutex_lock(&a->mu);
    pthread_cond_broadcast(&a->cv); /* the flusher's wait changed */
    pthread_mutex_unlock(&a->mu);
}

/* The display-rate part of the server's answer: "displayInterval" and
 * "displayLease", both durations; absent = no screen watches. */
static void poll_display(struct agent *a, const char *body)
{
    char dv[64], lv[64];
    int64_t display_ms = 0, lease_ms = 0;
    struct err e = {0};
    if (config_field(body, "displayInterval", dv, sizeof dv) == 1 &&
        config_field(body, "displayLease", lv, sizeof lv) == 1 &&
        (time_parse_duration_ms(dv, &display_ms, &e) != 0 ||
         time_parse_duration_ms(lv, &lease_ms, &e) != 0 || display_ms < TARGETS_INTERVAL_MIN_MS ||
         lease_ms <= 0)) {
        log_warn("agent", "config poll: bad display rate \"%s\" for \"%s\"", dv, lv);
        display_ms = 0;
    }
    apply_display(a, display_ms, lease_ms);
}

static size_t on_config_body(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    if (buf_append(b, p, size * n) != 0)
        return 0; /* over the cap: abort */
    return size * n;
}

/* One poll of the server's config endpoint. */
static void poll_config(struct agent *a, CURL *c, struct buf *body, int *last_status)
{
    buf_reset(body);
    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    if (cr == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != *last_status) {
        if (cr != CURLE_OK)
            log_debug("agent", "config poll of %s failed: %s", a->config_url,
                      curl_easy_strerror(cr));
        else if (status == 404)
            log_debug("agent", "%s: 404, the receiver has no agent config endpoint", a->config_url);
        else if (status != 200)
            log_warn("agent", "config poll of %s: HTTP %ld", a->config_url, status);
        *last_status = (int)status;
    }
    if (status != 200)
        return;
    char iv[64];
    const char *text = body->p ? body->p : "";
    int found = config_field(text, "interval", iv, sizeof iv);
    if (found < 0) {
        log_warn("agent", "config poll: unexpected answer from %s", a->config_url);
        return;
    }
    if (found == 0) {
        if (a->overridden) {
            a->overridden = false;
            apply_interval(a, a->f.interval_ms, "server config cleared");
        }
        poll_display(a, text);
        return;
    }
    int64_t ms;
    struct err e = {0};
    if (time_parse_duration_ms(iv, &ms, &e) != 0 || ms < TARGETS_INTERVAL_MIN_MS) {
        log_warn("agent", "config poll: bad interval \"%s\" from the server", iv);
        return;
    }
    a->overridden = true;
    apply_interval(a, ms, "server config");
    poll_display(a, text);
}

static void *poller_run(void *arg)
{
    struct agent *a = arg;
    CURL *c = curl_easy_init();
    struct buf body;
    buf_init(&body, AGENT_CONFIG_MAX_BYTES);
    if (c == NULL) {
        log_error("agent", "config poller: curl_easy_init failed");
        return NULL;
    }
    curl_easy_setopt(c, CURLOPT_URL, a->config_url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)AGENT_CONFIG_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_config_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tide-agent/" TIDE_VERSION);
    struct curl_slist *hdr = NULL;
    char auth[1200];
    if (a->f.bearer_token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->f.bearer_token);
        hdr = curl_slist_append(NULL, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    } else if (a->f.basic_auth) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, a->f.basic_auth);
    }
    int last_status = -1;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        pthread_mutex_unlock(&a->mu);
        poll_config(a, c, &body, &last_status);
        pthread_mutex_lock(&a->mu);
        /* Every interval, at most AGENT_CONFIG_POLL_MAX_MS (a screen's
         * lease reaches the agent that fast), every second while a lease
         * is in force (it is renewed well before it lapses). */
        int64_t period_ms = atomic_load(&a->interval_ms);
        if (period_ms > AGENT_CONFIG_POLL_MAX_MS)
            period_ms = AGENT_CONFIG_POLL_MAX_MS;
        if (atomic_load(&a->display_ms) > 0 && period_ms > AGENT_CONFIG_POLL_DISPLAY_MS)
            period_ms = AGENT_CONFIG_POLL_DISPLAY_MS;
        struct timespec ts;
        abs_deadline(&ts, time_mono_ns() + period_ms * 1000000);
        while (!a->stopping && pthread_cond_timedwait(&a->cv, &a->mu, &ts) == 0)
            ; /* woken for the flusher: keep waiting for the poll time */
    }
    pthread_mutex_unlock(&a->mu);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    buf_fini(&body);
    return NULL;
}

/* ---- start and stop ---- */

static int build_urls(struct agent *a)
{
    char base[1900] = "";
    if (a->f.server) {
        snprintf(base, sizeof base, "%s", a->f.server);
        size_t n = strlen(base);
        while (n > 0 && base[n - 1] == '/')
            base[--n] = 0;
    }
    if (a->f.rw_url)
        snprintf(a->rw_url, sizeof a->rw_url, "%s", a->f.rw_url);
    else
        snprintf(a->rw_url, sizeof a->rw_url, "%s/api/v1/write", base);
    a->config_url[0] = 0;
    if (a->f.server) {
        char *esc = curl_easy_escape(NULL, a->instance, 0);
        if (esc == NULL)
            return -ENOMEM;
        /* defaultInterval: the interval it stores at when none is set on
         * the server, which a display-rate lease must be faster than. */
        snprintf(a->config_url, sizeof a->config_url,
                 "%s/api/v1/agent/config?instance=%s&defaultInterval=%lldms", base, esc,
                 (long long)a->f.interval_ms);
        curl_free(esc);
    }
    return 0;
}

/* ---- the components, in start order ---- */

static int queue_start(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    if (a->f.instance) {
        snprintf(a->instance, sizeof a->instance, "%s", a->f.instance);
    } else if (gethostname(a->instance, sizeof a->instance - 1) != 0 || a->instance[0] == 0) {
        snprintf(a->instance, sizeof a->instance, "localhost");
    }
    if (build_urls(a) != 0)
        return ERR_SET(e, -ENOMEM, "out of memory");
    struct queue_opts qo = {
        .dir = a->f.queue_dir,
        .max_bytes = a->f.queue_max_bytes,
        .fsync = a->f.queue_fsync,
    };
    int rc = queue_open(&a->queue, &qo, e);
    if (rc != 0)
        return rc;
    struct queue_stats qs;
    queue_stats(a->queue, &qs);
    if (qs.records > 0 || qs.torn_records > 0)
        log_info("agent",
                 "queue %s: %" PRIu64 " records (%" PRIu64 " bytes) waiting from before, "
                 "%" PRIu64 " torn records cut off",
                 a->f.queue_dir, qs.records, qs.bytes, qs.torn_records);
    return 0;
}

static int queue_stop(void *ctx)
{
    struct agent *a = ctx;
    if (a->queue == NULL)
        return 0;
    struct queue_stats qs;
    queue_stats(a->queue, &qs);
    if (qs.records > 0)
        log_info("agent", "%" PRIu64 " records (%" PRIu64 " bytes) stay queued in %s",
                 qs.records, qs.bytes, a->f.queue_dir);
    if (qs.dropped_records > 0)
        log_warn("agent", "the queue cap dropped %" PRIu64 " records", qs.dropped_records);
    int rc = queue_close(a->queue);
    a->queue = NULL;
    return rc;
}

static int sender_start_component(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    char user[256] = "";
    const char *pass = NULL;
    if (a->f.basic_auth) {
        const char *colon = strchr(a->f.basic_auth, ':');
        size_t n = (size_t)(colon - a->f.basic_auth);
        if (n >= sizeof user)
            n = sizeof user - 1;
        memcpy(user, a->f.basic_auth, n);
        user[n] = 0;
        pass = colon + 1;
    }
    struct sender_opts so = {
        .url = a->rw_url,
        .bearer_token = a->f.bearer_token,
        .basic_user = a->f.basic_auth ? user : NULL,
        .basic_password = pass,
        .user_agent = "tide-agent/" TIDE_VERSION,
        .log = on_sender_log,
    };
    int rc = sender_new(&so, a->queue, &a->sender, e);
    if (rc == 0)
        rc = sender_start(a->sender, e);
    return rc;
}

/* Give the sender a moment to deliver what the stops before pushed. */
static int sender_stop_component(void *ctx)
{
    struct agent *a = ctx;
    if (a->sender == NULL)
        return 0;
    sender_stop(a->sender, AGENT_DRAIN_ON_STOP_MS);
    struct sender_stats ss;
    sender_stats(a->sender, &ss);
    log_info("agent",
             "sent %" PRIu64 " records (%" PRIu64 " bytes), %" PRIu64 " refused by the receiver",
             ss.sent_records, ss.sent_bytes, ss.dropped_records);
    sender_free(a->sender);
    a->sender = NULL;
    return 0;
}

static int targets_start_component(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    int rc = pipeline_new(&a->pipeline, "queue", agent_commit, a);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    struct targets_opts to = {
        .workers = 1, /* one collector: its groups run one at a time anyway */
        .sink = pipeline_sink,
        .sink_ctx = a->pipeline,
        .on_error = on_target_error,
    };
    rc = targets_new(&a->targets, &to);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    struct host_opts ho;
    host_opts_init(&ho);
    ho.instance = a->instance;
    ho.job = a->f.job;
    ho.version = TIDE_VERSION;
    for (int g = 0; g < HOST_NGROUPS; g++)
        ho.interval_ms[g] = a->f.interval_ms;
    ho.top_n = a->f.top_n;
    ho.services = a->f.services;
    ho.nservices = a->f.nservices;
    rc = host_collector_new(&ho, &a->host, e);
    if (rc == 0)
        rc = host_targets_add(a->host, a->targets, e);
    if (rc != 0)
        return rc;
    atomic_store(&a->interval_ms, (long long)a->f.interval_ms);
    return 0;
}

static int targets_stop_component(void *ctx)
{
    struct agent *a = ctx;
    targets_free(a->targets);
    host_collector_free(a->host);
    pipeline_free(a->pipeline);
    a->targets = NULL;
    a->host = NULL;
    a->pipeline = NULL;
    return 0;
}

static int flusher_start(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    int rc = pthread_create(&a->flusher, NULL, flusher_run, a);
    if (rc != 0)
        return ERR_SET(e, -rc, "cannot start the flusher thread");
    a->flusher_started = true;
    return 0;
}

/* Stop the flusher, then push what is pending: a clean stop loses nothing. */
static int flusher_stop(void *ctx)
{
    struct agent *a = ctx;
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->flusher_started)
        pthread_join(a->flusher, NULL);
    a->flusher_started = false;
    pthread_mutex_lock(&a->mu);
    struct err e = {0};
    int rc = flush_locked(a, &e);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static int poller_start(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    if (a->config_url[0] == 0)
        return 0;
    int rc = pthread_create(&a->poller, NULL, poller_run, a);
    if (rc != 0)
        return ERR_SET(e, -rc, "cannot start the config poller thread");
    a->poller_started = true;
    return 0;
}

static int poller_stop(void *ctx)
{
    struct agent *a = ctx;
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->poller_started)
        pthread_join(a->poller, NULL);
    a->poller_started = false;
    return 0;
}

static int collection_start(void *ctx, struct err *e)
{
    struct agent *a = ctx;
    int rc = targets_start(a->targets, e);
    if (rc == 0)
        log_info("agent", "tide agent %s: instance=%s job=%s interval=%lldms -> %s (queue %s)",
                 TIDE_VERSION, a->instance, a->f.job, (long long)a->f.interval_ms, a->rw_url,
                 a->f.queue_dir);
    return rc;
}

static int collection_stop(void *ctx)
{
    struct agent *a = ctx;
    targets_stop(a->targets);
    return 0;
}

int agent_main(int argc, char **argv)
{
    struct agent a;
    memset(&a, 0, sizeof a);
    a.f.queue_dir = "./tide-agent-queue";
    a.f.queue_max_bytes = QUEUE_MAX_BYTES_DEFAULT;
    a.f.queue_fsync = QUEUE_FSYNC_ALWAYS;
    a.f.interval_ms = AGENT_INTERVAL_DEFAULT_MS;
    a.f.job = "tide-agent";
    a.f.batch_max_samples = AGENT_BATCH_MAX_SAMPLES_DEFAULT;
    a.f.batch_max_wait_ms = AGENT_BATCH_MAX_WAIT_DEFAULT_MS;
    a.f.top_n = HOST_TOP_N_DEFAULT;
    int prc = parse_flags(argc, argv, &a.f);
    if (prc != 0) {
        free(a.f.services_buf);
        return prc > 0 ? 0 : 2;
    }

    /* Only the sigwait() below takes the stop signals: threads inherit the
     * mask, so no handler ever runs inside curl or the collector. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    pthread_mutex_init(&a.mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a.cv, &ca);
    pthread_condattr_destroy(&ca);
    batch_init(&a.pending);
    buf_init(&a.enc, 0);

    int rc = 0;
    struct err ge = {0};
    if (http_global_init(&ge) != 0) {
        log_error("agent", "%s", ge.msg);
        rc = 1;
    }
    const struct component parts[] = {
        {"queue", queue_start, queue_stop, &a},
        {"sender", sender_start_component, sender_stop_component, &a},
        {"targets", targets_start_component, targets_stop_component, &a},
        {"flusher", flusher_start, flusher_stop, &a},
        {"poller", poller_start, poller_stop, &a},
        {"collection", collection_start, collection_stop, &a},
    };
    size_t started = 0;
    struct err e = {0};
    if (rc == 0 && component_start_all(parts, sizeof parts / sizeof parts[0], &started, &e) != 0) {
        log_error("agent", "%s", e.msg);
        rc = 1;
    }
    if (rc == 0) {
        int sig = 0;
        while (sigwait(&sigs, &sig) != 0)
            ;
        log_info("agent", "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        if (component_stop_all(parts, started) != 0)
            rc = 1;
        else
            log_info("agent", "stopped cleanly");
    }
    batch_fini(&a.pending);
    buf_fini(&a.enc);
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cv);
    free(a.f.services_buf);
    curl_global_cleanup();
    return rc;
}
