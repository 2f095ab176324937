/* stream.c: the live push channel and its hub (see stream.h).
 *
 * Layout: the hub holds `feeds` (one per distinct query text and interval,
 * with its subscriber count and next due time on the monotonic clock) and
 * `subs` (one per open stream: the feeds of its queries, in request order,
 * and the bytes not yet taken by its connection). The hub thread sleeps
 * until the earliest due feed, evaluates it with the mutex released (feeds
 * are only freed by this thread, so the pointer stays valid), renders the
 * event body once, and appends `data: {"q":N,` + body to each subscriber of
 * it, waking the parked connections. A feed left without subscribers is
 * freed at the next turn. A feed that falls behind (a slow query) skips to
 * the next interval from now rather than bursting.
 *
 * Push on write: the hub is a tap of the append pipeline (stream_hub_tap
 * counts the batches appended). A feed is evaluated as soon as a batch came
 * in since its last evaluation, at least 3/4 of its interval after it, and
 * without one waits for the next (the tap wakes the thread) up to twice its
 * interval (at least 1 s). So a point written is pushed as it lands instead
 * of up to one interval later, and nothing is re-sent while nothing is
 * written. The count is global: on a server written to all the time every
 * feed runs at 4/3 of its rate at most.
 *
 * Display rate: a subscriber that named hosts renews their leases
 * (live_lease.h) at once and then every LIVE_LEASE_RENEW_MS from the hub
 * thread, outside the hub's mutex (the local host's lease takes the targets
 * manager's). A closed stream renews nothing, so its leases lapse. While the
 * ring holds points, evaluations merge them in (query_opts.overlay).
 */
#include "api/stream.h"

#include <errno.h>
#include <stdatomic.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/json.h"
#include "api/live_lease.h"
#include "api/live_ring.h"
#include "core/buf.h"
#include "core/selfmetrics.h"
#include "core/time.h"
#include "query/query.h"

#define KEEPALIVE_NS (15 * 1000000000LL)
#define SUB_MAX_PENDING ((size_t)4 << 20)
#define EVENT_MAX_BYTES ((size_t)64 << 20)

struct feed {
    char *expr;          /* malloc'd */
    int64_t interval_ms;
    int64_t due_ns;      /* next evaluation at the earliest, monotonic */
    int64_t last_ns;     /* the last evaluation */
    uint64_t seen;       /* hub->writes at the last evaluation */
    unsigned nsubs;      /* subscribers watching it */
    struct feed *next;
};

struct sub {
    struct http_wake wake; /* http.c's handle on the parked connection */
    struct stream_hub *hub;
    struct feed *feeds[STREAM_MAX_QUERIES];
    size_t nfeeds;
    int64_t interval_ms;                /* of every feed of the stream */
    char *hosts[STREAM_MAX_HOSTS];      /* watched hosts (malloc'd), for the leases */
    size_t nhosts;
    struct buf out;        /* pending bytes */
    size_t off;            /* taken so far from out */
    bool dead;             /* fell behind, or the hub stops: end the stream */
    struct sub *prev, *next;
};

struct stream_hub {
    atomic_uint_fast64_t writes; /* batches appended so far (the pipeline tap) */
    atomic_bool waiting;         /* the thread waits for a write: the tap signals */
    struct storage *storage;
    struct query_opts qo;
    struct live_ring *ring;   /* borrowed; NULL = none */
    struct live_lease *lease; /* borrowed; NULL = none */
    pthread_t thread;
    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t cond;  /* a new feed, or stop (CLOCK_MONOTONIC) */
    bool stop;
    struct feed *feeds;
    size_t nfeeds;
    struct sub *subs;
    size_t nsubs;
    uint64_t evaluations;
    int64_t keepalive_ns; /* next comment line */
    int64_t renew_ns;     /* next lease renewal */
    size_t nwatching;     /* subscribers with hosts */
};

/* ---- rendering ---- */

/* `"t":T,"result":[...]}\n\n` of one evaluation, or `"t":T,"error":"..."}`. */
static int render(struct buf *b, int64_t t_ms, const struct query_result *r, int rc,
                  const char *msg)
{
    int e = buf_printf(b, "\"t\":%lld.%03lld,", (long long)(t_ms / 1000), (long long)(t_ms % 1000));
    if (rc != 0) {
        e = e ? e : buf_puts(b, "\"error\":");
        e = e ? e : json_quote(b, msg, strlen(msg));
        return e ? e : buf_puts(b, "}\n\n");
    }
    e = e ? e : buf_puts(b, "\"result\":[");
    if (r->type == QUERY_SCALAR) {
        e = e ? e : buf_puts(b, "{\"metric\":{},\"value\":\"");
        e = e ? e : query_format_float(b, r->scalar);
        e = e ? e : buf_puts(b, "\"}");
    } else if (r->type == QUERY_VECTOR) {
        for (size_t i = 0; i < r->nseries && e == 0; i++) {
            const struct query_series *s = &r->series[i];
            if (s->nsamples == 0)
                continue;
            e = buf_puts(b, i > 0 ? ",{\"metric\":{" : "{\"metric\":{");
            for (size_t j = 0; j < s->nlabels && e == 0; j++) {
                if (j > 0)
                    e = buf_putc(b, ',');
                e = e ? e : json_quote(b, s->labels[j].name.p, s->labels[j].name.n);
                e = e ? e : buf_putc(b, ':');
                e = e ? e : json_quote(b, s->labels[j].value.p, s->labels[j].value.n);
            }
            e = e ? e : buf_puts(b, "},\"value\":\"");
            e = e ? e : query_format_float(b, s->samples[s->nsamples - 1].v);
            e = e ? e : buf_puts(b, "\"}");
        }
    }
    e = e ? e : buf_puts(b, "]}\n\n");
    return e;
}

/* ---- subscribers ---- */

/* Append to a subscriber (hub locked); past its cap it is ended. */
static void sub_push(struct sub *s, const char *p, size_t n)
{
    if (s->dead)
        return;
    if (s->off > 0 && s->off == s->out.len) {
        buf_reset(&s->out);
        s->off = 0;
    }
    if (buf_append(&s->out, p, n) != 0)
        s->dead = true;
    http_wake(&s->wake);
}

/* The stream's producer (http_stream_fn), on an HTTP worker. */
static ssize_t sub_read(void *cls, char *out, size_t max)
{
    struct sub *s = cls;
    struct stream_hub *h = s->hub;
    pthread_mutex_lock(&h->mu);
    ssize_t n;
    if (s->dead) {
        n = HTTP_STREAM_END;
    } else if (s->off == s->out.len) {
        n = HTTP_STREAM_WAIT;
    } else {
        size_t k = s->out.len - s->off;
        if (k > max)
            k = max;
        memcpy(out, s->out.p + s->off, k);
        s->off += k;
        if (s->off == s->out.len) {
            buf_reset(&s->out);
            s->off = 0;
        }
        n = (ssize_t)k;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

static void sub_free(void *cls)
{
    struct sub *s = cls;
    struct stream_hub *h = s->hub;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < s->nfeeds; i++)
        s->feeds[i]->nsubs--;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nsubs--;
    if (s->nhosts > 0)
        h->nwatching--;
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < s->nhosts; i++)
        free(s->hosts[i]);
    buf_fini(&s->out);
    http_wake_fini(&s->wake);
    free(s);
}

/* ---- the hub thread ---- */

static void feed_free(struct feed *f)
{
    free(f->expr);
    free(f);
}

/* Evaluate f (hub unlocked by the caller) and render into b. */
static void evaluate(struct stream_hub *h, const struct feed *f, struct buf *b)
{
    int64_t t_ms = time_now_ms();
    struct query *q = NULL;
    struct err e = {0};
    struct query_opts qo = h->qo;
    if (h->ring != NULL) {
        struct live_ring_stats rs;
        live_ring_stats(h->ring, &rs);
        if (rs.points > 0) {
            qo.overlay = live_ring_overlay;
            qo.overlay_ctx = h->ring;
        }
    }
    int rc = query_instant(&q, h->storage, f->expr, strlen(f->expr), t_ms, &qo, &e);
    buf_reset(b);
    if (render(b, t_ms, rc == 0 ? query_result(q) : NULL, rc,
               e.msg[0] ? e.msg : tide_strerror(rc)) != 0) {
        buf_reset(b);
        render(b, t_ms, NULL, TIDE_ELIMIT, "the result is too large to stream");
    }
    query_free(q);
}

static void distribute(struct stream_hub *h, const struct feed *f, const struct buf *body)
{
    for (struct sub *s = h->subs; s != NULL; s = s->next) {
        for (size_t i = 0; i < s->nfeeds; i++) {
            if (s->feeds[i] != f)
                continue;
            char pre[32];
            int n = snprintf(pre, sizeof pre, "data: {\"q\":%zu,", i);
            sub_push(s, pre, (size_t)n);
            sub_push(s, body->p, body->len);
        }
    }
}

/* How long a feed waits for new data past its interval before it is
 * evaluated anyway (time moves on for rate() and the charts' axes). */
static int64_t idle_cap_ns(const struct feed *f)
{
    int64_t cap = 2 * f->interval_ms;
    return (cap < 1000 ? 1000 : cap) * 1000000;
}

/* One (host, interval) to renew; hosts copied, the caller frees them. */
struct renewal {
    char *host;
    int64_t interval_ms;
};

/* Renew the leases of every watching subscriber: collected under the
 * hub's mutex (held on entry and on return), renewed without it. */
static void renew_leases(struct stream_hub *h, int64_t now)
{
    size_t n = 0, cap = 0;
    struct renewal *v = NULL;
    for (struct sub *s = h->subs; s != NULL; s = s->next) {
        for (size_t i = 0; i < s->nhosts; i++) {
            if (n == cap) {
                struct renewal *nv = realloc(v, (cap * 2 + 8) * sizeof *nv);
                if (nv == NULL)
                    goto renew;
                v = nv;
                cap = cap * 2 + 8;
            }
            v[n].host = strdup(s->hosts[i]);
            if (v[n].host == NULL)
                goto renew;
            v[n++].interval_ms = s->interval_ms;
        }
    }
renew:
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < n; i++) {
        live_lease_renew(h->lease, v[i].host, v[i].interval_ms, now);
        free(v[i].host);
    }
    free(v);
    pthread_mutex_lock(&h->mu);
}

static void *hub_main(void *arg)
{
    struct stream_hub *h = arg;
    struct buf body;
    buf_init(&body, EVENT_MAX_BYTES);
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        int64_t now = time_mono_ns();
        uint64_t writes = atomic_load(&h->writes);
        /* Drop unwatched feeds; find the one to evaluate now: past its
         * due time with new data since its last evaluation, or past its
         * idle cap. Otherwise note when to look again and whether a write
         * should wake us (a feed without new data waits for some). */
        struct feed *due = NULL;
        int64_t due_ready = 0;
        int64_t wake = h->keepalive_ns;
        bool for_data = false;
        for (struct feed **pp = &h->feeds; *pp != NULL;) {
            struct feed *f = *pp;
            if (f->nsubs == 0) {
                *pp = f->next;
                feed_free(f);
                h->nfeeds--;
                continue;
            }
            pp = &f->next;
            int64_t ready = f->due_ns;
            if (f->seen == writes) {
                /* A write would make it ready at due_ns: let the tap wake us. */
                ready = f->last_ns + idle_cap_ns(f);
                for_data = true;
            }
            if (ready <= now) {
                if (due == NULL || ready < due_ready) {
                    due = f;
                    due_ready = ready;
                }
            } else if (ready < wake) {
                wake = ready;
            }
        }
        if (h->nwatching > 0 && h->lease != NULL) {
            if (now >= h->renew_ns) {
                h->renew_ns = now + (int64_t)LIVE_LEASE_RENEW_MS * 1000000;
                renew_leases(h, now);
                continue;
            }
            if (h->renew_ns < wake)
                wake = h->renew_ns;
        }
        if (now >= h->keepalive_ns) {
            for (struct sub *s = h->subs; s != NULL; s = s->next)
                sub_push(s, ":\n\n", 3);
            h->keepalive_ns = now + KEEPALIVE_NS;
            continue;
        }
        if (due == NULL) {
            atomic_store(&h->waiting, for_data);
            if (for_data && atomic_load(&h->writes) != writes) {
                atomic_store(&h->waiting, false);
                continue; /* a write came in meanwhile */
            }
            struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
            pthread_cond_timedwait(&h->cond, &h->mu, &ts);
            atomic_store(&h->waiting, false);
            continue;
        }
        due->seen = writes;
        due->last_ns = now;
        pthread_mutex_unlock(&h->mu);
        evaluate(h, due, &body);
        pthread_mutex_lock(&h->mu);
        h->evaluations++;
        distribute(h, due, &body);
        /* Data arriving at the display rate itself comes a little early or
         * late each time: allowing the next evaluation from 3/4 of the
         * interval on catches each write as it lands instead of locking
         * onto a phase up to one interval behind it. */
        due->due_ns = now + due->interval_ms * 750000;
    }
    pthread_mutex_unlock(&h->mu);
    buf_fini(&body);
    return NULL;
}

int stream_hub_tap(void *ctx, const struct batch *b, struct err *e)
{
    (void)b;
    (void)e;
    struct stream_hub *h = ctx;
    atomic_fetch_add(&h->writes, 1);
    if (atomic_load(&h->waiting)) {
        pthread_mutex_lock(&h->mu);
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->mu);
    }
    return 0;
}

int stream_hub_new(struct stream_hub **out, struct storage *s, const struct stream_hub_opts *o,
                   struct err *e)
{
    *out = NULL;
    struct stream_hub *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    atomic_init(&h->writes, 0);
    atomic_init(&h->waiting, false);
    h->storage = s;
    h->ring = o ? o->ring : NULL;
    h->lease = o ? o->lease : NULL;
    h->qo = (struct query_opts){
        .lookback_ms = o && o->lookback_ms > 0 ? o->lookback_ms : 0,
        .max_samples = o ? o->max_samples : 0,
        .timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000,
    };
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    h->keepalive_ns = time_mono_ns() + KEEPALIVE_NS;
    int rc = pthread_create(&h->thread, NULL, hub_main, h);
    if (rc != 0) {
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return ERR_SET(e, -rc, "cannot start the stream hub's thread");
    }
    *out = h;
    return 0;
}

void stream_hub_free(struct stream_hub *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    for (struct sub *s = h->subs; s != NULL; s = s->next) {
        s->dead = true;
        http_wake(&s->wake);
    }
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    while (h->feeds) {
        struct feed *f = h->feeds;
        h->feeds = f->next;
        feed_free(f);
    }
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

void stream_hub_counts(struct stream_hub *h, size_t *subscribers, size_t *feeds,
                       uint64_t *evaluations)
{
    pthread_mutex_lock(&h->mu);
    *subscribers = h->nsubs;
    *feeds = h->nfeeds;
    *evaluations = h->evaluations;
    pthread_mutex_unlock(&h->mu);
}

void stream_hub_collect(void *cls, struct sm_out *o)
{
    size_t subs, feeds;
    uint64_t evals;
    stream_hub_counts(cls, &subs, &feeds, &evals);
    sm_family(o, "tide_stream_clients", SM_GAUGE, "Open live streams (GET /api/v1/stream).");
    sm_sample(o, (double)subs, NULL);
    sm_family(o, "tide_stream_feeds", SM_GAUGE,
              "Distinct (query, interval) pairs evaluated for the live streams.");
    sm_sample(o, (double)feeds, NULL);
    sm_family(o, "tide_stream_evaluations_total", SM_COUNTER,
              "Evaluations of live-stream feeds, each shared by all its viewers.");
    sm_sample(o, (double)evals, NULL);
}

/* ---- the handler ---- */

/* The feed for (expr, interval), made if need be (hub locked). */
static struct feed *feed_get(struct stream_hub *h, const char *expr, int64_t interval_ms)
{
    for (struct feed *f = h->feeds; f != NULL; f = f->next)
        if (f->interval_ms == interval_ms && strcmp(f->expr, expr) == 0)
            return f;
    if (h->nfeeds >= STREAM_MAX_FEEDS)
        return NULL;
    struct feed *f = calloc(1, sizeof *f);
    if (f == NULL || (f->expr = strdup(expr)) == NULL) {
        free(f);
        return NULL;
    }
    f->interval_ms = interval_ms;
    f->due_ns = time_mono_ns(); /* the first point at once */
    f->last_ns = f->due_ns;
    f->seen = atomic_load(&h->writes) - 1;
    f->next = h->feeds;
    h->feeds = f;
    h->nfeeds++;
    pthread_cond_signal(&h->cond);
    return f;
}

void stream_serve(struct http_req *rq, struct http_resp *rs)
{
    struct stream_hub *h = rq->ctx->stream;
    if (h == NULL) {
        http_reply_prom_error(rs, 404, "not_found", "live streams are not enabled");
        return;
    }
    const char *qs[STREAM_MAX_QUERIES + 1];
    size_t nq = http_params(rq, "query", qs, STREAM_MAX_QUERIES + 1);
    char msg[sizeof((struct err *)0)->msg + 64];
    if (nq == 0) {
        http_reply_prom_error(rs, 400, "bad_data", "invalid parameter \"query\": missing");
        return;
    }
    if (nq > STREAM_MAX_QUERIES) {
        snprintf(msg, sizeof msg, "at most %d queries per stream", STREAM_MAX_QUERIES);
        http_reply_prom_error(rs, 400, "bad_data", msg);
        return;
    }
    int64_t interval_ms = 1000;
    const char *iv = http_param(rq, "interval");
    if (iv != NULL && iv[0] != 0) {
        char *end = NULL;
        double sec = strtod(iv, &end);
        if (end == iv || *end != 0 || !isfinite(sec) || sec * 1000 < STREAM_MIN_INTERVAL_MS - 0.5 ||
            sec * 1000 > STREAM_MAX_INTERVAL_MS + 0.5) {
            snprintf(msg, sizeof msg,
                     "invalid parameter \"interval\": \"%.32s\" is not a number of seconds "
                     "from 0.1 to 10",
                     iv);
            http_reply_prom_error(rs, 400, "bad_data", msg);
            return;
        }
        interval_ms = (int64_t)llround(sec * 1000);
    }
    const char *hosts[STREAM_MAX_HOSTS + 1];
    size_t nh = http_params(rq, "host", hosts, STREAM_MAX_HOSTS + 1);
    if (nh > STREAM_MAX_HOSTS) {
        snprintf(msg, sizeof msg, "at most %d hosts per stream", STREAM_MAX_HOSTS);
        http_reply_prom_error(rs, 400, "bad_data", msg);
        return;
    }
    for (size_t i = 0; i < nh; i++) {
        size_t n = strlen(hosts[i]);
        if (n == 0 || n > LIVE_LEASE_HOST_MAX) {
            http_reply_prom_error(rs, 400, "bad_data",
                                  "invalid parameter \"host\": want 1 to 255 bytes");
            return;
        }
    }
    if (h->lease == NULL)
        nh = 0;
    /* Refuse bad text now, with the position, as /api/v1/query does. */
    for (size_t i = 0; i < nq; i++) {
        struct buf scratch;
        buf_init(&scratch, 1 << 20);
        struct err e = {0};
        int rc = query_format(&scratch, qs[i], strlen(qs[i]), &e);
        buf_fini(&scratch);
        if (rc != 0) {
            snprintf(msg, sizeof msg, "invalid parameter \"query\": %s", e.msg);
            http_reply_prom_error(rs, 400, rc == TIDE_EPARSE ? "bad_data" : "execution", msg);
            return;
        }
    }
    struct sub *s = calloc(1, sizeof *s);
    if (s == NULL) {
        http_reply_prom_error(rs, 500, "internal", "out of memory");
        return;
    }
    http_wake_init(&s->wake);
    s->hub = h;
    s->interval_ms = interval_ms;
    for (size_t i = 0; i < nh; i++) {
        s->hosts[s->nhosts] = strdup(hosts[i]);
        if (s->hosts[s->nhosts] != NULL)
            s->nhosts++;
    }
    buf_init(&s->out, SUB_MAX_PENDING);
    const char *hello = "retry: 2000\n: tide live stream\n\n";
    buf_puts(&s->out, hello);

    pthread_mutex_lock(&h->mu);
    const char *fail = NULL;
    if (h->stop)
        fail = "the server is shutting down";
    else if (h->nsubs >= STREAM_MAX_SUBSCRIBERS)
        fail = "too many live streams open";
    for (size_t i = 0; fail == NULL && i < nq; i++) {
        struct feed *f = feed_get(h, qs[i], interval_ms);
        if (f == NULL) {
            fail = "too many distinct live queries";
            break;
        }
        f->nsubs++;
        s->feeds[s->nfeeds++] = f;
    }
    if (fail != NULL) {
        for (size_t i = 0; i < s->nfeeds; i++)
            s->feeds[i]->nsubs--;
        pthread_mutex_unlock(&h->mu);
        for (size_t i = 0; i < s->nhosts; i++)
            free(s->hosts[i]);
        buf_fini(&s->out);
        http_wake_fini(&s->wake);
        free(s);
        http_reply_prom_error(rs, 503, "unavailable", fail);
        return;
    }
    s->next = h->subs;
    if (h->subs)
        h->subs->prev = s;
    h->subs = s;
    h->nsubs++;
    if (s->nhosts > 0) {
        h->nwatching++;
        pthread_cond_signal(&h->cond); /* the hub schedules the renewals */
    }
    pthread_mutex_unlock(&h->mu);
    /* The display rate starts now, not at the hub's next renewal. */
    int64_t now = time_mono_ns();
    for (size_t i = 0; i < nh; i++) /* not s->hosts: s may be gone already */
        live_lease_renew(h->lease, hosts[i], interval_ms, now);

    rs->status = 200;
    rs->content_type = "text/event-stream";
    http_header(rs, "Cache-Control", "no-cache");
    http_header(rs, "X-Accel-Buffering", "no");
    rs->stream = sub_read;
    rs->stream_free = sub_free;
    rs->stream_cls = s;
    rs->stream_wake = &s->wake;
}
