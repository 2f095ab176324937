/* forward.c: the forwarding tap of `tide serve` (forward.h): per endpoint,
 * a pending batch filled by the tap, cut into sends of at most
 * max_samples_per_send samples, each pushed to the endpoint's durable queue
 * (remote/queue.c) with a 16-byte header of our own (sample count, highest
 * timestamp), which the endpoint's sender (remote/sender.c) strips before
 * POSTing and hands back with every verdict, for the
 * tide_remote_storage_* counters. A flusher thread pushes a pending batch
 * once it is batch_send_deadline old.
 *
 * Invariant (the agent's): a sample the tap took is in a pending batch, in
 * the queue, or delivered; forward_stop() pushes the pending batches before
 * the queues close.
 */
#include "remote/forward.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/selfmetrics.h"
#include "core/time.h"
#include "ingest/remote_write.h"
#include "remote/queue.h"
#include "remote/sender.h"

#define REC_HEADER 16 /* u64le samples, i64le highest timestamp (ms) */

struct fwd_ep {
    const struct forward_endpoint *cfg; /* borrowed */
    struct forwarder *f;
    struct queue *q;
    struct sender *snd;
    pthread_mutex_t mu;
    /* mu */
    struct batch pending;
    int64_t pending_since_ns;
    int64_t pending_max_ts;
    struct buf enc;
    struct relabel_set rl; /* write_relabel_configs scratch */
    uint64_t samples_in, samples_pushed, samples_push_failed, samples_dropped;
    /* mu as well (written by the sender thread's callback) */
    uint64_t samples_sent, samples_failed, samples_retried;
    int64_t highest_sent_ts;
};

struct forwarder {
    struct fwd_ep ep[FORWARD_ENDPOINTS_MAX];
    size_t n;
    struct loop flusher;
    forward_log_fn *log;
    void *log_ctx;
    pthread_mutex_t mu;
    int64_t highest_in_ts; /* mu */
};

static void say(struct fwd_ep *ep, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct fwd_ep *ep, int level, const char *fmt, ...)
{
    if (ep->f->log == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ep->f->log(ep->f->log_ctx, level, ep->cfg->name, msg);
}

/* Push the pending batch into the queue (mu held). A failed push loses the
 * batch (counted and logged): the queue is broken or full beyond its cap. */
static int flush_locked(struct fwd_ep *ep, struct err *e)
{
    if (ep->pending.nsamples == 0)
        return 0;
    uint64_t n = ep->pending.nsamples;
    buf_reset(&ep->enc);
    int rc = buf_put_u64le(&ep->enc, n);
    if (rc == 0)
        rc = buf_put_u64le(&ep->enc, (uint64_t)ep->pending_max_ts);
    if (rc == 0)
        rc = remote_write_encode(&ep->pending, &ep->enc, e);
    if (rc == 0)
        rc = queue_push(ep->q, ep->enc.p, ep->enc.len, e);
    if (rc == 0) {
        ep->samples_pushed += n;
    } else {
        ep->samples_push_failed += n;
        say(ep, LOG_ERROR, "%" PRIu64 " samples lost: cannot queue them: %s", n, e->msg);
    }
    batch_reset(&ep->pending);
    ep->pending_max_ts = INT64_MIN;
    return rc;
}

/* Run the endpoint's write_relabel_configs over one series' labels into
 * ep->rl (sorted; mu held). *keep is false when the rules drop it, or
 * when nothing but an empty set would be left. 0 or -ENOMEM. */
static int relabel_series(struct fwd_ep *ep, const struct label *ls, size_t n, bool *keep)
{
    relabel_set_reset(&ep->rl);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++)
        rc = relabel_set_put(&ep->rl, ls[k].name, ls[k].value);
    if (rc == 0)
        rc = relabel_apply(&ep->cfg->relabel, &ep->rl, keep);
    if (rc == 0 && *keep) {
        relabel_set_sort(&ep->rl);
        *keep = ep->rl.n > 0;
    }
    return rc;
}

static int ep_add(struct fwd_ep *ep, const struct batch *b, struct err *e)
{
    size_t max = (size_t)ep->cfg->max_samples_per_send;
    int rc = 0;
    pthread_mutex_lock(&ep->mu);
    if (ep->pending.nsamples == 0)
        ep->pending_since_ns = time_mono_ns();
    for (size_t i = 0; i < b->nseries && rc == 0; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        size_t nls = s->nlabels;
        if (ep->cfg->relabel.n > 0) { /* write_relabel_configs */
            bool keep = true;
            rc = relabel_series(ep, ls, nls, &keep);
            if (rc != 0)
                break;
            if (!keep) {
                ep->samples_dropped += s->nsamples;
                continue;
            }
            ls = ep->rl.v;
            nls = ep->rl.n;
        }
        uint32_t done = 0;
        while (done < s->nsamples && rc == 0) {
            if (ep->pending.nsamples >= max) {
                (void)flush_locked(ep, e);
                ep->pending_since_ns = time_mono_ns();
            }
            size_t take = max - ep->pending.nsamples;
            if (take > s->nsamples - done)
                take = s->nsamples - done;
            rc = batch_begin_series(&ep->pending);
            for (size_t k = 0; rc == 0 && k < nls; k++) {
                char *nm = batch_strdup(&ep->pending, ls[k].name.p, ls[k].name.n);
                char *vl = batch_strdup(&ep->pending, ls[k].value.p, ls[k].value.n);
                rc = nm && vl ? batch_add_label(&ep->pending, (struct strv){nm, ls[k].name.n},
                                                (struct strv){vl, ls[k].value.n})
                              : -ENOMEM;
            }
            for (size_t k = 0; rc == 0 && k < take; k++) {
                const struct sample *sm = &b->samples[s->sample_off + done + k];
                rc = batch_add_sample(&ep->pending, sm->t_ms, sm->v);
                if (sm->t_ms > ep->pending_max_ts)
                    ep->pending_max_ts = sm->t_ms;
            }
            if (rc == 0)
                rc = batch_end_series(&ep->pending);
            else
                batch_abort_series(&ep->pending);
            done += (uint32_t)take;
            if (rc == 0)
                ep->samples_in += take;
        }
    }
    if (ep->pending.nsamples >= max)
        (void)flush_locked(ep, e);
    pthread_mutex_unlock(&ep->mu);
    if (rc != 0)
        ERR_SET(e, rc, "forward %s: out of memory", ep->cfg->name);
    return rc;
}

int forward_tap(void *ctx, const struct batch *b, struct err *e)
{
    struct forwarder *f = ctx;
    int64_t hi = INT64_MIN;
    for (size_t i = 0; i < b->nsamples; i++)
        if (b->samples[i].t_ms > hi)
            hi = b->samples[i].t_ms;
    pthread_mutex_lock(&f->mu);
    if (hi > f->highest_in_ts)
        f->highest_in_ts = hi;
    pthread_mutex_unlock(&f->mu);
    int first = 0;
    for (size_t i = 0; i < f->n; i++) {
        struct err ee = {0};
        int rc = ep_add(&f->ep[i], b, &ee);
        if (rc != 0 && first == 0) {
            first = rc;
            *e = ee;
        }
    }
    return first;
}

int forward_commit(void *ctx, const struct batch *b, struct pipeline_result *r, struct err *e)
{
    int rc = forward_tap(ctx, b, e);
    if (rc == 0)
        r->samples_added = b->nsamples;
    return rc;
}

/* sender_result_fn: on an endpoint's sender thread. */
static void on_result(void *ctx, const void *hdr, size_t n, enum sender_outcome out)
{
    struct fwd_ep *ep = ctx;
    if (n < REC_HEADER)
        return;
    const uint8_t *p = hdr;
    uint64_t samples = 0, ts = 0;
    for (int i = 7; i >= 0; i--) {
        samples = samples << 8 | p[i];
        ts = ts << 8 | p[8 + i];
    }
    pthread_mutex_lock(&ep->mu);
    if (out == SENDER_SENT) {
        ep->samples_sent += samples;
        if ((int64_t)ts > ep->highest_sent_ts)
            ep->highest_sent_ts = (int64_t)ts;
    } else if (out == SENDER_DROPPED) {
        ep->samples_failed += samples;
    } else {
        ep->samples_retried += samples;
    }
    pthread_mutex_unlock(&ep->mu);
}

static void on_sender_log(void *ctx, int level, const char *msg)
{
    struct fwd_ep *ep = ctx;
    say(ep, level, "%s", msg);
}

/* The flusher: push pending batches older than their deadline. */
static void flush_due(void *ctx, struct loop *l)
{
    (void)l;
    struct forwarder *f = ctx;
    int64_t now = time_mono_ns();
    for (size_t i = 0; i < f->n; i++) {
        struct fwd_ep *ep = &f->ep[i];
        pthread_mutex_lock(&ep->mu);
        if (ep->pending.nsamples > 0 &&
            now - ep->pending_since_ns >= ep->cfg->batch_send_deadline_ms * 1000000) {
            struct err e = {0};
            (void)flush_locked(ep, &e);
        }
        pthread_mutex_unlock(&ep->mu);
    }
}

static void ep_close(struct fwd_ep *ep, int64_t drain_ms)
{
    if (ep->cfg == NULL)
        return;
    pthread_mutex_lock(&ep->mu);
    if (ep->q) {
        struct err e = {0};
        (void)flush_locked(ep, &e);
    }
    pthread_mutex_unlock(&ep->mu);
    if (ep->snd) {
        sender_stop(ep->snd, drain_ms);
        sender_free(ep->snd);
    }
    if (ep->q) {
        struct queue_stats qs;
        queue_stats(ep->q, &qs);
        if (qs.records > 0)
            say(ep, LOG_INFO, "%" PRIu64 " sends (%" PRIu64 " bytes) stay queued for the next start",
                qs.records, qs.bytes);
        queue_close(ep->q);
    }
    batch_fini(&ep->pending);
    buf_fini(&ep->enc);
    relabel_set_fini(&ep->rl);
    pthread_mutex_destroy(&ep->mu);
    memset(ep, 0, sizeof *ep);
}

static int ep_open(struct forwarder *f, struct fwd_ep *ep, const struct forward_endpoint *c,
                   const char *data_dir, struct err *e)
{
    ep->cfg = c;
    ep->f = f;
    pthread_mutex_init(&ep->mu, NULL);
    batch_init(&ep->pending);
    relabel_set_init(&ep->rl);
    buf_init(&ep->enc, 0);
    ep->pending_max_ts = INT64_MIN;
    ep->highest_sent_ts = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/forward/%s", data_dir, c->name);
    int rc = fs_mkdir_p(dir);
    if (rc != 0)
        return ERR_SET(e, rc, "forward %s: cannot create %s: %s", c->name, dir, strerror(-rc));
    struct queue_opts qo = {
        .dir = dir,
        .max_bytes = c->max_bytes,
        .fsync = QUEUE_FSYNC_INTERVAL,
        .fsync_interval_ms = 1000,
    };
    rc = queue_open(&ep->q, &qo, e);
    if (rc != 0)
        return rc;
    struct queue_stats qs;
    queue_stats(ep->q, &qs);
    if (qs.records > 0)
        say(ep, LOG_INFO, "%" PRIu64 " sends (%" PRIu64 " bytes) queued from before, delivering",
            qs.records, qs.bytes);
    struct sender_opts so = {
        .url = c->url,
        .bearer_token = c->bearer_token,
        .basic_user = c->basic_user,
        .basic_password = c->basic_password,
        .user_agent = "tide-forward",
        .timeout_ms = c->remote_timeout_ms,
        .backoff_min_ms = c->min_backoff_ms,
        .backoff_max_ms = c->max_backoff_ms,
        .log = on_sender_log,
        .log_ctx = ep,
        .headers = (const char *const *)c->headers,
        .tls = &c->tls,
        .record_header = REC_HEADER,
        .on_result = on_result,
        .result_ctx = ep,
    };
    rc = sender_new(&so, ep->q, &ep->snd, e);
    if (rc == 0)
        rc = sender_start(ep->snd, e);
    return rc;
}

int forward_start(struct forwarder **out, const struct forward_config *cfg, const char *data_dir,
                  forward_log_fn *log, void *log_ctx, struct err *e)
{
    *out = NULL;
    struct forwarder *f = calloc(1, sizeof *f);
    if (f == NULL)
        return ERR_SET(e, -ENOMEM, "forward: out of memory");
    f->log = log;
    f->log_ctx = log_ctx;
    f->highest_in_ts = INT64_MIN;
    pthread_mutex_init(&f->mu, NULL);
    int rc = 0;
    int64_t tick = 1000;
    for (size_t i = 0; i < cfg->n && rc == 0; i++) {
        f->n = i + 1;
        rc = ep_open(f, &f->ep[i], &cfg->ep[i], data_dir, e);
        if (cfg->ep[i].batch_send_deadline_ms / 4 < tick)
            tick = cfg->ep[i].batch_send_deadline_ms / 4;
    }
    if (rc == 0 && f->n > 0)
        rc = loop_start(&f->flusher, "tide-fwd-flush", flush_due, f, tick < 5 ? 5 : tick, e);
    if (rc != 0) {
        forward_stop(f, 0);
        return rc;
    }
    *out = f;
    return 0;
}

void forward_stop(struct forwarder *f, int64_t drain_ms)
{
    if (f == NULL)
        return;
    loop_stop(&f->flusher);
    for (size_t i = 0; i < f->n; i++)
        ep_close(&f->ep[i], drain_ms);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void forward_collect(void *ctx, struct sm_out *o)
{
    struct forwarder *f = ctx;
    struct row {
        uint64_t in, sent, failed, retried, pending, bytes, dropped, queued_records, relabel_dropped;
        int64_t hi_sent;
    } r[FORWARD_ENDPOINTS_MAX];
    for (size_t i = 0; i < f->n; i++) {
        struct fwd_ep *ep = &f->ep[i];
        struct sender_stats ss;
        struct queue_stats qs;
        sender_stats(ep->snd, &ss);
        queue_stats(ep->q, &qs);
        pthread_mutex_lock(&ep->mu);
        uint64_t done = ep->samples_sent + ep->samples_failed;
        uint64_t in_queue = ep->samples_pushed > done ? ep->samples_pushed - done : 0;
        r[i] = (struct row){
            .in = ep->samples_in,
            .sent = ep->samples_sent,
            .failed = ep->samples_failed + ep->samples_push_failed,
            .retried = ep->samples_retried,
            .pending = ep->pending.nsamples + (qs.records ? in_queue : 0),
            .bytes = ss.sent_bytes - ss.sent_records * REC_HEADER,
            .dropped = qs.dropped_records,
            .queued_records = qs.records,
            .relabel_dropped = ep->samples_dropped,
            .hi_sent = ep->highest_sent_ts,
        };
        pthread_mutex_unlock(&ep->mu);
    }
    pthread_mutex_lock(&f->mu);
    int64_t hi_in = f->highest_in_ts;
    pthread_mutex_unlock(&f->mu);
    sm_family(o, "tide_remote_storage_highest_timestamp_in_seconds", SM_GAUGE,
              "Highest timestamp that has come into the forwarding tap, in seconds since the "
              "epoch.");
    sm_sample(o, hi_in == INT64_MIN ? 0 : (double)hi_in / 1000, NULL);
    static const struct {
        const char *name;
        enum sm_type type;
        const char *help;
        int field;
    } fams[] = {
        {"tide_remote_storage_samples_in_total", SM_COUNTER,
         "Samples taken by the forwarding tap for this endpoint.", 0},
        {"tide_remote_storage_samples_total", SM_COUNTER,
         "Samples delivered to the endpoint (2xx).", 1},
        {"tide_remote_storage_samples_failed_total", SM_COUNTER,
         "Samples that will never be delivered: refused by the endpoint (4xx other than 429) or "
         "lost because they could not be queued.",
         2},
        {"tide_remote_storage_samples_retried_total", SM_COUNTER,
         "Samples in sends that failed and will be sent again (5xx, 429, network errors).", 3},
        {"tide_remote_storage_samples_pending", SM_GAUGE,
         "Samples waiting: in the pending batch, and queued on disk since this start.", 4},
        {"tide_remote_storage_bytes_total", SM_COUNTER,
         "Body bytes (snappy-compressed protobuf) delivered to the endpoint.", 5},
        {"tide_remote_storage_queue_dropped_records_total", SM_COUNTER,
         "Queued sends dropped, oldest first, to keep the on-disk queue under its size cap.", 6},
        {"tide_remote_storage_queue_records", SM_GAUGE,
         "Sends in the endpoint's on-disk queue, not yet delivered.", 7},
        {"tide_remote_storage_queue_highest_sent_timestamp_seconds", SM_GAUGE,
         "Highest timestamp delivered to the endpoint, in seconds since the epoch.", 8},
        {"tide_remote_storage_shards", SM_GAUGE,
         "Shards sending to the endpoint (Tide sends in queue order over one connection).", 9},
        {"tide_remote_storage_samples_dropped_total", SM_COUNTER,
         "Samples not forwarded to the endpoint because write_relabel_configs dropped their "
         "series.",
         11},
        {"tide_remote_storage_shards_max", SM_GAUGE, "queue_config.max_shards as configured.",
         10},
    };
    for (size_t k = 0; k < sizeof fams / sizeof fams[0]; k++) {
        sm_family(o, fams[k].name, fams[k].type, fams[k].help);
        for (size_t i = 0; i < f->n; i++) {
            double v = 0;
            switch (fams[k].field) {
            case 0: v = (double)r[i].in; break;
            case 1: v = (double)r[i].sent; break;
            case 2: v = (double)r[i].failed; break;
            case 3: v = (double)r[i].retried; break;
            case 4: v = (double)r[i].pending; break;
            case 5: v = (double)r[i].bytes; break;
            case 6: v = (double)r[i].dropped; break;
            case 7: v = (double)r[i].queued_records; break;
            case 8: v = (double)r[i].hi_sent / 1000; break;
            case 9: v = 1; break;
            case 11: v = (double)r[i].relabel_dropped; break;
            default: v = (double)f->ep[i].cfg->max_shards; break;
            }
            sm_sample(o, v, "remote_name", f->ep[i].cfg->name, "url", f->ep[i].cfg->url, NULL);
        }
    }
}
