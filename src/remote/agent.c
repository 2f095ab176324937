/* agent.c: `tide agent`, the top of agent mode's stack:
 * collect/host (on the sched thread) → accumulate → remote_write_encode →
 * queue.c → sender.c → any remote-write receiver.
 *
 * Threads: the scheduler's (collects and hands batches to agent_sink), a
 * flusher (turns the pending batch into one queue record when it is
 * batch_max_wait old), the sender, a config poller when --server is given,
 * and the main thread, which only waits for SIGTERM/SIGINT. The pending
 * batch is the one shared thing; `mu` guards it.
 *
 * Invariant: a collected sample is either in the pending batch or in the
 * queue; at a stop the pending batch is pushed before the queue is closed,
 * so a clean stop loses nothing, and a kill loses at most batch_max_wait of
 * samples not yet pushed (docs/agent.md).
 */
#include "remote/agent.h"

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

#include "collect/host.h"
#include "collect/sched.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "ingest/remote_write.h"
#include "model/batch.h"
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
    struct sched *sched;
    struct queue *queue;
    struct sender *sender;

    pthread_mutex_t mu;
    pthread_cond_t cv;        /* wakes the flusher and the poller */
    bool stopping;            /* mu */
    struct batch pending;     /* mu: collected, not yet in the queue */
    int64_t pending_since_ns; /* mu: monotonic time the first series arrived */
    struct buf enc;           /* mu: encoding scratch */
    uint64_t push_failures;   /* mu */

    atomic_llong interval_ms; /* the collection interval now in force */
    bool overridden;          /* poller thread: the server set the interval */
    pthread_t flusher, poller;
    bool flusher_started, poller_started;
};

static void usage(FILE *f)
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

/* "67108864", "64MiB", "512KiB", "1GiB", "10MB": the syntax of docs/config.md. */
static int bad_flag(const char *flag, const char *val, const char *why)
{
    fprintf(stderr, "tide agent: --%s \"%s\": %s\n", flag, val, why);
    return -1;
}

/* Parse argv into f. 1 after --help, 0 on success, -1 on a usage error. */
static int parse_flags(int argc, char **argv, struct agent_flags *f)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "tide agent: unexpected argument \"%s\" (see --help)\n", a);
            return -1;
        }
        char key[64];
        const char *eq = strchr(a + 2, '=');
        size_t kn = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (kn == 0 || kn >= sizeof key) {
            fprintf(stderr, "tide agent: bad flag \"%s\"\n", a);
            return -1;
        }
        memcpy(key, a + 2, kn);
        key[kn] = 0;
        for (char *p = key; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *v;
        if (eq) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            fprintf(stderr, "tide agent: flag --%s needs a value\n", key);
            return -1;
        }
        struct err e = {0};
        uint64_t n;
        if (strcmp(key, "server") == 0) {
            f->server = v;
        } else if (strcmp(key, "remote-write-url") == 0) {
            f->rw_url = v;
        } else if (strcmp(key, "queue-dir") == 0) {
            f->queue_dir = v;
        } else if (strcmp(key, "queue-max-bytes") == 0) {
            if (config_parse_size(key, v, &f->queue_max_bytes, &e) != 0 ||
                f->queue_max_bytes < 65536)
                return bad_flag(key, v, "not a size of at least 64KiB (e.g. 512MiB)");
        } else if (strcmp(key, "queue-fsync") == 0) {
            if (strcmp(v, "always") == 0)
                f->queue_fsync = QUEUE_FSYNC_ALWAYS;
            else if (strcmp(v, "interval") == 0)
                f->queue_fsync = QUEUE_FSYNC_INTERVAL;
            else if (strcmp(v, "never") == 0)
                f->queue_fsync = QUEUE_FSYNC_NEVER;
            else
                return bad_flag(key, v, "not one of always, interval, never");
        } else if (strcmp(key, "interval") == 0) {
            if (time_parse_duration_ms(v, &f->interval_ms, &e) != 0)
                return bad_flag(key, v, e.msg);
            if (f->interval_ms < SCHED_INTERVAL_MIN_MS)
                return bad_flag(key, v, "below the minimum of 100ms");
        } else if (strcmp(key, "instance") == 0) {
            f->instance = v;
        } else if (strcmp(key, "job") == 0) {
            f->job = v;
        } else if (strcmp(key, "batch-max-samples") == 0) {
            if (config_parse_count(key, v, 10000000, &f->batch_max_samples, &e) != 0 ||
                f->batch_max_samples == 0)
                return bad_flag(key, v, "not a number between 1 and 10000000");
        } else if (strcmp(key, "batch-max-wait") == 0) {
            if (time_parse_duration_ms(v, &f->batch_max_wait_ms, &e) != 0)
                return bad_flag(key, v, e.msg);
        } else if (strcmp(key, "services") == 0) {
            free(f->services_buf);
            f->services_buf = strdup(v);
            if (f->services_buf == NULL)
                return bad_flag(key, v, "out of memory");
            f->nservices = 0;
            char *save = NULL;
            for (char *t = strtok_r(f->services_buf, ",", &save); t;
                 t = strtok_r(NULL, ",", &save)) {
                if (f->nservices == HOST_SERVICES_MAX)
                    return bad_flag(key, v, "more than 64 services");
                f->services[f->nservices++] = t;
            }
        } else if (strcmp(key, "top-n") == 0) {
            if (config_parse_count(key, v, 1000, &n, &e) != 0)
                return bad_flag(key, v, "not a number between 0 and 1000");
            f->top_n = (unsigned)n;
        } else if (strcmp(key, "bearer-token") == 0) {
            f->bearer_token = v;
        } else if (strcmp(key, "basic-auth") == 0) {
            if (strchr(v, ':') == NULL)
                return bad_flag(key, "...", "want USER:PASSWORD");
            f->basic_auth = v;
        } else if (strcmp(key, "log-level") == 0) {
            int l = log_level_parse(v);
            if (l < 0)
                return bad_flag(key, v, "not one of debug, info, warn, error");
            log_set_level((enum log_level)l);
        } else {
            fprintf(stderr, "tide agent: unknown flag --%s (see --help)\n", key);
            return -1;
        }
    }
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

/* batch_sink_fn, on the scheduler thread. */
static int agent_sink(void *ctx, struct batch *b, struct err *e)
{
    struct agent *a = ctx;
    pthread_mutex_lock(&a->mu);
    bool was_empty = a->pending.nseries == 0;
    int rc = pending_add(a, b);
    if (rc != 0)
        ERR_SET(e, rc, "agent: out of memory for the pending batch");
    if (a->pending.nsamples >= a->f.batch_max_samples) {
        rc = flush_locked(a, e);
    } else if (was_empty && a->pending.nseries > 0) {
        a->pending_since_ns = time_mono_ns();
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

static void on_sched_error(void *ctx, const char *group, int code, const struct err *e)
{
    log_warn("agent", "collect %s: %s", group, e && e->msg[0] ? e->msg : tide_strerror(code));
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
    int64_t wait_ns = a->f.batch_max_wait_ms * 1000000;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        if (a->pending.nseries == 0) {
            pthread_cond_wait(&a->cv, &a->mu);
            continue;
        }
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

/* Find `"interval"` inside the `"data"` object of the server's answer and
 * copy its string value. 1 found, 0 absent, -1 not a success answer. A few
 * lines of scanning suffice: the server's answer is small and flat. */
static int config_interval(const char *body, char *out, size_t cap)
{
    if (strstr(body, "\"success\"") == NULL)
        return -1;
    const char *d = strstr(body, "\"data\"");
    if (d == NULL)
        return -1;
    const char *k = strstr(d, "\"interval\"");
    if (k == NULL)
        return 0;
    const char *p = k + 10;
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
    for (int g = 0; g < HOST_NGROUPS; g++) {
        if (host_group_interval_ms(a->host, (enum host_group)g) < 0)
            continue;
        int rc = sched_set_interval(a->sched, host_group_name((enum host_group)g), ms);
        if (rc != 0 && rc != TIDE_ENOTFOUND)
            log_warn("agent", "set interval of %s: %s", host_group_name((enum host_group)g),
                     tide_strerror(rc));
    }
    log_info("agent", "collection interval %lld ms -> %lld ms (%s)",
             (long long)atomic_load(&a->interval_ms), (long long)ms, why);
    atomic_store(&a->interval_ms, (long long)ms);
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
    int found = config_interval(body->p ? body->p : "", iv, sizeof iv);
    if (found < 0) {
        log_warn("agent", "config poll: unexpected answer from %s", a->config_url);
        return;
    }
    if (found == 0) {
        if (a->overridden) {
            a->overridden = false;
            apply_interval(a, a->f.interval_ms, "server config cleared");
        }
        return;
    }
    int64_t ms;
    struct err e = {0};
    if (time_parse_duration_ms(iv, &ms, &e) != 0 || ms < SCHED_INTERVAL_MIN_MS) {
        log_warn("agent", "config poll: bad interval \"%s\" from the server", iv);
        return;
    }
    a->overridden = true;
    apply_interval(a, ms, "server config");
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
        struct timespec ts;
        abs_deadline(&ts, time_mono_ns() + atomic_load(&a->interval_ms) * 1000000);
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
        snprintf(a->config_url, sizeof a->config_url, "%s/api/v1/agent/config?instance=%s", base,
                 esc);
        curl_free(esc);
    }
    return 0;
}

static int start(struct agent *a)
{
    struct err e = {0};
    if (a->f.instance) {
        snprintf(a->instance, sizeof a->instance, "%s", a->f.instance);
    } else if (gethostname(a->instance, sizeof a->instance - 1) != 0 || a->instance[0] == 0) {
        snprintf(a->instance, sizeof a->instance, "localhost");
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("agent", "libcurl failed to initialise");
        return 1;
    }
    if (build_urls(a) != 0)
        return 1;

    struct queue_opts qo = {
        .dir = a->f.queue_dir,
        .max_bytes = a->f.queue_max_bytes,
        .fsync = a->f.queue_fsync,
    };
    if (queue_open(&a->queue, &qo, &e) != 0) {
        log_error("agent", "%s", e.msg);
        return 1;
    }
    struct queue_stats qs;
    queue_stats(a->queue, &qs);
    if (qs.records > 0 || qs.torn_records > 0)
        log_info("agent",
                 "queue %s: %" PRIu64 " records (%" PRIu64 " bytes) waiting from before, "
                 "%" PRIu64 " torn records cut off",
                 a->f.queue_dir, qs.records, qs.bytes, qs.torn_records);

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
    if (sender_new(&so, a->queue, &a->sender, &e) != 0 || sender_start(a->sender, &e) != 0) {
        log_error("agent", "%s", e.msg);
        return 1;
    }

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
    if (host_collector_new(&ho, &a->host, &e) != 0) {
        log_error("agent", "host collector: %s", e.msg);
        return 1;
    }
    if (sched_new(&a->sched) != 0 || host_sched_add(a->host, a->sched, &e) != 0) {
        log_error("agent", "scheduler: %s", e.msg[0] ? e.msg : "out of memory");
        return 1;
    }
    atomic_store(&a->interval_ms, (long long)a->f.interval_ms);

    if (pthread_create(&a->flusher, NULL, flusher_run, a) != 0) {
        log_error("agent", "cannot start the flusher thread");
        return 1;
    }
    a->flusher_started = true;
    if (a->config_url[0]) {
        if (pthread_create(&a->poller, NULL, poller_run, a) != 0) {
            log_error("agent", "cannot start the config poller thread");
            return 1;
        }
        a->poller_started = true;
    }
    if (sched_start(a->sched, agent_sink, a, on_sched_error, a, &e) != 0) {
        log_error("agent", "scheduler: %s", e.msg);
        return 1;
    }
    log_info("agent", "tide agent %s: instance=%s job=%s interval=%lldms -> %s (queue %s)",
             TIDE_VERSION, a->instance, a->f.job, (long long)a->f.interval_ms, a->rw_url,
             a->f.queue_dir);
    return 0;
}

/* Tear down in data-flow order: stop collecting, push what is pending,
 * give the sender a moment to deliver, close the queue. */
static int stop(struct agent *a)
{
    int rc = 0;
    if (a->sched)
        sched_stop(a->sched);
    pthread_mutex_lock(&a->mu);
    a->stopping = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->flusher_started)
        pthread_join(a->flusher, NULL);
    if (a->poller_started)
        pthread_join(a->poller, NULL);
    if (a->queue && a->sender) {
        pthread_mutex_lock(&a->mu);
        struct err e = {0};
        if (flush_locked(a, &e) != 0)
            rc = 1;
        pthread_mutex_unlock(&a->mu);
    }
    if (a->sender) {
        sender_stop(a->sender, AGENT_DRAIN_ON_STOP_MS);
        struct sender_stats ss;
        sender_stats(a->sender, &ss);
        log_info("agent",
                 "sent %" PRIu64 " records (%" PRIu64 " bytes), %" PRIu64
                 " refused by the receiver",
                 ss.sent_records, ss.sent_bytes, ss.dropped_records);
    }
    sender_free(a->sender);
    sched_free(a->sched);
    host_collector_free(a->host);
    if (a->queue) {
        struct queue_stats qs;
        queue_stats(a->queue, &qs);
        if (qs.records > 0)
            log_info("agent", "%" PRIu64 " records (%" PRIu64 " bytes) stay queued in %s",
                     qs.records, qs.bytes, a->f.queue_dir);
        if (qs.dropped_records > 0)
            log_warn("agent", "the queue cap dropped %" PRIu64 " records", qs.dropped_records);
        int qrc = queue_close(a->queue);
        if (qrc != 0) {
            log_error("agent", "closing the queue: %s", tide_strerror(qrc));
            rc = 1;
        }
    }
    return rc;
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

    int rc = start(&a);
    if (rc == 0) {
        int sig = 0;
        while (sigwait(&sigs, &sig) != 0)
            ;
        log_info("agent", "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    int src = stop(&a);
    if (rc == 0)
        rc = src;
    if (rc == 0)
        log_info("agent", "stopped cleanly");
    batch_fini(&a.pending);
    buf_fini(&a.enc);
    pthread_mutex_destroy(&a.mu);
    pthread_cond_destroy(&a.cv);
    free(a.f.services_buf);
    curl_global_cleanup();
    return rc;
}
