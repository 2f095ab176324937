/* routeros_engine.c: every RouterOS device's connection driven by one
 * thread with poll() (routeros.h). A device keeps one long-lived API
 * connection; a run sends all its queries at once, each with its own .tag,
 * and ends when every query has its !done. A device that hangs (no answer
 * within the command timeout), drops the connection mid-reply, sends
 * !fatal or bytes that are not the API fails its own run only: its
 * connection is closed and made again on a later run, after a backoff that
 * doubles from ROS_BACKOFF_MIN_MS to ROS_BACKOFF_MAX_MS with ±20 % jitter
 * (reset by a successful login). Nothing here blocks on one device but the
 * name lookup of a host that is not a numeric address.
 *
 * Threads: ros_dev_new / _run / _free run on any thread and touch only the
 * fields marked "mu", waking the engine through a pipe; the connection and
 * the run state are the engine thread's. done callbacks run on the engine
 * thread without the engine's lock; ros_dev_free() waits until the engine
 * has let go of the device, so none follows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/routeros.h"
#include "core/log.h"
#include "core/selfmetrics.h"
#include "core/time.h"

#define FAIL_KINDS (ROS_F_IO + 1)

struct ros_dev {
    /* Immutable after ros_dev_new(). */
    struct ros_engine *eng;
    char name[256];
    struct ros_conn_cfg cfg;
    int64_t cmd_timeout_ms;

    /* mu */
    struct ros_dev *next;
    bool want_run, want_free, freed;
    struct ros_run *run;
    ros_run_done_fn *done;
    void *done_ctx;
    enum ros_conn_state shown; /* for the devices{state} gauge */
    bool backing_off;

    /* The engine thread only. */
    struct ros_conn *conn;
    bool running, sent;
    unsigned seq;
    size_t pending;
    int64_t deadline_ns;
    unsigned failures;
    int64_t next_connect_ns;
    char last_err[200];
    enum ros_fail last_fail;
    uint64_t drops_seen[8];
};

struct ros_engine {
    pthread_t th;
    bool started;
    int wake[2];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a device was let go (ros_dev_free waits) */
    bool stop;
    struct ros_dev *devs; /* mu */
    /* Counters (mu). */
    uint64_t connects, logins, restarts, run_timeouts;
    uint64_t failures[FAIL_KINDS];
    uint64_t drops[8];
    uint64_t rng;
};

static void wake(struct ros_engine *eng)
{
    char c = 1;
    ssize_t n = write(eng->wake[1], &c, 1);
    (void)n; /* a full pipe already wakes the engine */
}

/* ---- sentences of a device's connection (engine thread) ---- */

static struct ros_query *query_of(struct ros_dev *d, struct strv tag)
{
    if (!d->running || d->run == NULL || tag.n == 0 || tag.n > 20)
        return NULL;
    char t[24];
    memcpy(t, tag.p, tag.n);
    t[tag.n] = 0;
    char *end = NULL;
    unsigned long v = strtoul(t, &end, 10);
    if (*end != 0 || (v >> 16) != (d->seq & 0xFFFF))
        return NULL;
    size_t i = v & 0xFFFF;
    return i < d->run->n ? &d->run->q[i] : NULL;
}

static void add_row(struct ros_query *q, const struct ros_sentence *s)
{
    struct buf *b = &q->rows;
    size_t mark = b->len;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nwords; i++) {
        struct strv w = s->words[i];
        if (w.n < 2 || w.p[0] != '=')
            continue; /* .tag and the like */
        const char *eq = memchr(w.p + 1, '=', w.n - 1);
        if (eq == NULL)
            continue;
        size_t kn = (size_t)(eq - w.p - 1), vn = w.n - kn - 2;
        if (memchr(w.p + 1, 0, w.n - 1))
            continue; /* a NUL would break the row format */
        rc = buf_append(b, w.p + 1, kn);
        if (rc == 0)
            rc = buf_putc(b, 0);
        if (rc == 0)
            rc = buf_append(b, eq + 1, vn);
        if (rc == 0)
            rc = buf_putc(b, 0);
    }
    if (rc == 0)
        rc = buf_putc(b, 0);
    if (rc != 0) {
        b->len = mark; /* past the cap: the row is left out */
        if (b->p)
            b->p[mark] = 0;
        return;
    }
    q->nrows++;
}

static void on_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct ros_dev *d = ctx;
    if (s == NULL) {
        log_warn("routeros", "%s: dropped a reply sentence: %s", d->name, ros_drop_name(why));
        return;
    }
    struct ros_query *q = query_of(d, s->tag);
    if (q == NULL || q->done)
        return;
    struct strv v;
    switch (s->type) {
    case ROS_RE: add_row(q, s); break;
    case ROS_TRAP:
        q->trapped = true;
        if (ros_get(s, "message", &v)) {
            snprintf(q->trap, sizeof q->trap, "%.*s", (int)(v.n > 150 ? 150 : v.n), v.p);
            q->missing = strncmp(q->trap, "no such command", 15) == 0;
        }
        break;
    case ROS_DONE:
        if (ros_get(s, "ret", &v))
            snprintf(q->ret, sizeof q->ret, "%.*s", (int)(v.n > 30 ? 30 : v.n), v.p);
        q->done = true;
        if (d->pending > 0)
            d->pending--;
        break;
    default: break; /* !empty: no rows */
    }
}

/* ---- runs (engine thread) ---- */

static void finish(struct ros_dev *d, int rc, enum ros_fail f, const struct err *e)
{
    d->running = false;
    pthread_mutex_lock(&d->eng->mu);
    ros_run_done_fn *done = d->done;
    void *ctx = d->done_ctx;
    d->run = NULL;
    d->done = NULL;
    pthread_mutex_unlock(&d->eng->mu);
    if (done)
        done(ctx, rc, f, e);
}

static int64_t jittered(struct ros_engine *eng, int64_t ms)
{
    eng->rng = eng->rng * 6364136223846793005ull + 1442695040888963407ull;
    double j = 0.8 + 0.4 * (double)(eng->rng >> 11) / (double)(1ull << 53);
    return (int64_t)((double)ms * j);
}

/* The connection failed (or was given up): close, back off, fail the run. */
static void conn_failed(struct ros_dev *d, enum ros_fail f, const struct err *e, int64_t now)
{
    struct ros_engine *eng = d->eng;
    bool was_ready = ros_conn_state(d->conn) == ROS_C_READY || d->sent;
    ros_conn_close(d->conn);
    d->failures++;
    int64_t delay = ROS_BACKOFF_MIN_MS;
    for (unsigned i = 1; i < d->failures && delay < ROS_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > ROS_BACKOFF_MAX_MS)
        delay = ROS_BACKOFF_MAX_MS;
    pthread_mutex_lock(&eng->mu);
    d->next_connect_ns = now + jittered(eng, delay) * 1000000;
    eng->failures[f < FAIL_KINDS ? f : ROS_F_IO]++;
    if (was_ready)
        eng->restarts++;
    pthread_mutex_unlock(&eng->mu);
    d->last_fail = f;
    snprintf(d->last_err, sizeof d->last_err, "%s", e->msg);
    if (d->running)
        finish(d, e->code ? e->code : -EIO, f, e);
}

static void send_queries(struct ros_dev *d, int64_t now)
{
    for (size_t i = 0; i < d->run->n; i++) {
        struct ros_query *q = &d->run->q[i];
        char tag[32];
        snprintf(tag, sizeof tag, ".tag=%u", ((d->seq & 0xFFFF) << 16) | (unsigned)i);
        const char *w[10];
        size_t n = 0;
        for (size_t k = 0; k < q->nwords && n < 8; k++)
            w[n++] = q->words[k];
        if (q->argword[0])
            w[n++] = q->argword;
        w[n++] = tag;
        if (ros_conn_send(d->conn, w, n) != 0) {
            struct err e;
            ERR_SET(&e, -ENOMEM, "out of memory");
            conn_failed(d, ROS_F_IO, &e, now);
            return;
        }
    }
    d->sent = true;
    d->deadline_ns = now + d->cmd_timeout_ms * 1000000;
}

static void begin_run(struct ros_dev *d, int64_t now)
{
    struct ros_engine *eng = d->eng;
    d->running = true;
    d->sent = false;
    d->seq++;
    d->pending = d->run->n;
    d->deadline_ns = 0;
    if (d->run->n == 0) {
        finish(d, 0, ROS_OK, NULL);
        return;
    }
    enum ros_conn_state st = ros_conn_state(d->conn);
    if (st == ROS_C_READY) {
        send_queries(d, now);
        return;
    }
    if (st != ROS_C_IDLE)
        return; /* connecting: the queries go once logged in */
    if (now < d->next_connect_ns) {
        struct err e;
        ERR_SET(&e, -EAGAIN, "reconnecting in %llds after: %s",
                (long long)((d->next_connect_ns - now) / 1000000000 + 1), d->last_err);
        finish(d, -EAGAIN, d->last_fail, &e);
        return;
    }
    struct err e;
    err_clear(&e);
    pthread_mutex_lock(&eng->mu);
    eng->connects++;
    pthread_mutex_unlock(&eng->mu);
    if (ros_conn_open(d->conn, now, &e) != 0)
        conn_failed(d, ros_conn_fail(d->conn), &e, now);
}

static void check_done(struct ros_dev *d)
{
    if (d->running && d->sent && d->pending == 0)
        finish(d, 0, ROS_OK, NULL);
}

/* After I/O or a timer: move the device along. */
static void step(struct ros_dev *d, short revents, int64_t now)
{
    struct ros_engine *eng = d->eng;
    enum ros_conn_state before = ros_conn_state(d->conn);
    if (before != ROS_C_IDLE) {
        struct err e;
        err_clear(&e);
        if (ros_conn_io(d->conn, revents, now, &e) != 0) {
            conn_failed(d, ros_conn_fail(d->conn), &e, now);
            return;
        }
    }
    const uint64_t *drops = ros_conn_drops(d->conn);
    pthread_mutex_lock(&eng->mu);
    for (int i = 0; i < 8; i++) {
        eng->drops[i] += drops[i] - d->drops_seen[i];
        d->drops_seen[i] = drops[i];
    }
    pthread_mutex_unlock(&eng->mu);
    if (before != ROS_C_READY && ros_conn_state(d->conn) == ROS_C_READY) {
        d->failures = 0;
        pthread_mutex_lock(&eng->mu);
        eng->logins++;
        pthread_mutex_unlock(&eng->mu);
        if (d->running && !d->sent) {
            send_queries(d, now);
            struct err e;
            err_clear(&e);
            if (ros_conn_io(d->conn, POLLOUT, now, &e) != 0) {
                conn_failed(d, ros_conn_fail(d->conn), &e, now);
                return;
            }
        }
    }
    if (d->running && d->sent && d->pending > 0 && now >= d->deadline_ns) {
        const char *what = "?";
        for (size_t i = 0; i < d->run->n; i++)
            if (!d->run->q[i].done) {
                what = ros_query_path(d->run->q[i].def);
                break;
            }
        struct err e;
        ERR_SET(&e, -ETIMEDOUT, "timeout: no answer to %s within %lldms", what,
                (long long)d->cmd_timeout_ms);
        pthread_mutex_lock(&eng->mu);
        eng->run_timeouts++;
        pthread_mutex_unlock(&eng->mu);
        conn_failed(d, ROS_F_TIMEOUT, &e, now);
        return;
    }
    check_done(d);
}

static int64_t dev_deadline(const struct ros_dev *d)
{
    int64_t t = ros_conn_deadline(d->conn);
    if (d->running && d->sent && (t == 0 || d->deadline_ns < t))
        t = d->deadline_ns;
    return t;
}

static void *engine_main(void *arg)
{
    struct ros_engine *eng = arg;
    struct pollfd *pfd = NULL;
    struct ros_dev **who = NULL;
    size_t cap = 0;
    for (;;) {
        int64_t now = time_mono_ns();
        /* Requests from other threads. */
        pthread_mutex_lock(&eng->mu);
        if (eng->stop) {
            pthread_mutex_unlock(&eng->mu);
            break;
        }
        size_t n = 0;
        for (struct ros_dev **pp = &eng->devs; *pp;) {
            struct ros_dev *d = *pp;
            if (d->want_free) {
                *pp = d->next;
                d->freed = true;
                pthread_cond_broadcast(&eng->cv);
                continue;
            }
            pp = &d->next;
            n++;
        }
        if (n + 1 > cap) {
            size_t nc = (n + 1) * 2;
            struct pollfd *np = realloc(pfd, nc * sizeof *np);
            struct ros_dev **nw = np ? realloc(who, nc * sizeof *nw) : NULL;
            if (np)
                pfd = np;
            if (nw)
                who = nw;
            if (np == NULL || nw == NULL) {
                pthread_mutex_unlock(&eng->mu);
                usleep(100000);
                continue;
            }
            cap = nc;
        }
        size_t k = 0;
        for (struct ros_dev *d = eng->devs; d; d = d->next)
            who[k++] = d;
        pthread_mutex_unlock(&eng->mu);

        /* New runs (mu is taken per device: done callbacks need it free). */
        for (size_t i = 0; i < k; i++) {
            struct ros_dev *d = who[i];
            pthread_mutex_lock(&eng->mu);
            bool go = d->want_run && !d->want_free;
            d->want_run = false;
            pthread_mutex_unlock(&eng->mu);
            if (go)
                begin_run(d, now);
        }

        /* Poll every open connection. */
        int64_t next = now + 1000000000;
        pfd[0] = (struct pollfd){.fd = eng->wake[0], .events = POLLIN};
        for (size_t i = 0; i < k; i++) {
            struct ros_dev *d = who[i];
            int fd = ros_conn_state(d->conn) != ROS_C_IDLE ? ros_conn_fd(d->conn) : -1;
            pfd[i + 1] = (struct pollfd){.fd = fd, .events = fd >= 0 ? ros_conn_events(d->conn) : 0};
            int64_t t = dev_deadline(d);
            if (t > 0 && t < next)
                next = t;
        }
        int64_t wait_ms = (next - now) / 1000000 + 1;
        if (wait_ms < 0)
            wait_ms = 0;
        int pr = poll(pfd, k + 1, (int)wait_ms);
        if (pr < 0 && errno != EINTR)
            usleep(10000);
        if (pfd[0].revents & POLLIN) {
            char b[256];
            while (read(eng->wake[0], b, sizeof b) > 0) {
            }
        }
        now = time_mono_ns();
        for (size_t i = 0; i < k; i++) {
            struct ros_dev *d = who[i];
            short re = pr > 0 && pfd[i + 1].fd >= 0 ? pfd[i + 1].revents : 0;
            pthread_mutex_lock(&eng->mu);
            bool gone = d->want_free;
            pthread_mutex_unlock(&eng->mu);
            if (!gone)
                step(d, re, now);
        }
        /* The devices{state} gauge. */
        pthread_mutex_lock(&eng->mu);
        for (size_t i = 0; i < k; i++) {
            who[i]->shown = ros_conn_state(who[i]->conn);
            who[i]->backing_off = who[i]->shown == ROS_C_IDLE && who[i]->failures > 0;
        }
        pthread_mutex_unlock(&eng->mu);
    }
    free(pfd);
    free(who);
    return NULL;
}

int ros_engine_new(struct ros_engine **out, struct err *e)
{
    *out = NULL;
    struct ros_engine *eng = calloc(1, sizeof *eng);
    if (eng == NULL)
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    if (pipe2(eng->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        int err = errno;
        free(eng);
        return ERR_SET(e, -err, "routeros: pipe: %s", strerror(err));
    }
    pthread_mutex_init(&eng->mu, NULL);
    pthread_cond_init(&eng->cv, NULL);
    eng->rng = (uint64_t)time_mono_ns() | 1;
    int rc = pthread_create(&eng->th, NULL, engine_main, eng);
    if (rc != 0) {
        close(eng->wake[0]);
        close(eng->wake[1]);
        pthread_mutex_destroy(&eng->mu);
        pthread_cond_destroy(&eng->cv);
        free(eng);
        return ERR_SET(e, -rc, "routeros: cannot start the engine thread");
    }
    eng->started = true;
    *out = eng;
    return 0;
}

void ros_engine_free(struct ros_engine *eng)
{
    if (eng == NULL)
        return;
    pthread_mutex_lock(&eng->mu);
    eng->stop = true;
    pthread_mutex_unlock(&eng->mu);
    wake(eng);
    if (eng->started)
        pthread_join(eng->th, NULL);
    close(eng->wake[0]);
    close(eng->wake[1]);
    pthread_mutex_destroy(&eng->mu);
    pthread_cond_destroy(&eng->cv);
    free(eng);
}

int ros_dev_new(struct ros_engine *eng, const char *name, const struct ros_conn_cfg *cfg,
                int64_t cmd_timeout_ms, struct ros_dev **out, struct err *e)
{
    *out = NULL;
    struct ros_dev *d = calloc(1, sizeof *d);
    if (d == NULL)
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    d->eng = eng;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->cfg = *cfg;
    d->cmd_timeout_ms = cmd_timeout_ms;
    int rc = ros_conn_new(&d->cfg, on_sentence, d, &d->conn, e);
    if (rc != 0) {
        free(d);
        return rc;
    }
    pthread_mutex_lock(&eng->mu);
    d->next = eng->devs;
    eng->devs = d;
    pthread_mutex_unlock(&eng->mu);
    *out = d;
    return 0;
}

void ros_dev_free(struct ros_dev *d)
{
    if (d == NULL)
        return;
    struct ros_engine *eng = d->eng;
    pthread_mutex_lock(&eng->mu);
    d->want_free = true;
    d->done = NULL; /* a run in flight is cancelled: no done any more */
    wake(eng);
    while (!d->freed && !eng->stop)
        pthread_cond_wait(&eng->cv, &eng->mu);
    if (!d->freed) { /* the engine stopped first: unlink here */
        for (struct ros_dev **pp = &eng->devs; *pp; pp = &(*pp)->next)
            if (*pp == d) {
                *pp = d->next;
                break;
            }
    }
    pthread_mutex_unlock(&eng->mu);
    ros_conn_free(d->conn);
    memset(&d->cfg, 0, sizeof d->cfg);
    free(d);
}

int ros_dev_run(struct ros_dev *d, struct ros_run *r, ros_run_done_fn *done, void *ctx)
{
    struct ros_engine *eng = d->eng;
    pthread_mutex_lock(&eng->mu);
    if (d->run != NULL || d->want_run) {
        pthread_mutex_unlock(&eng->mu);
        return TIDE_EINVAL;
    }
    d->run = r;
    d->done = done;
    d->done_ctx = ctx;
    d->want_run = true;
    pthread_mutex_unlock(&eng->mu);
    wake(eng);
    return 0;
}

void ros_engine_collect(void *ctx, struct sm_out *o)
{
    struct ros_engine *eng = ctx;
    static const char *const states[] = {"idle", "connecting", "tls", "login", "ready"};
    pthread_mutex_lock(&eng->mu);
    double by_state[5] = {0}, backoff = 0;
    for (struct ros_dev *d = eng->devs; d; d = d->next) {
        if (d->backing_off)
            backoff++;
        else
            by_state[d->shown < 5 ? d->shown : 0]++;
    }
    sm_family(o, "tide_routeros_devices", SM_GAUGE,
              "RouterOS devices by connection state (backoff: waiting to reconnect)");
    for (int i = 0; i < 5; i++)
        sm_sample(o, by_state[i], "state", states[i], NULL);
    sm_sample(o, backoff, "state", "backoff", NULL);
    sm_family(o, "tide_routeros_connects_total", SM_COUNTER, "RouterOS API connections begun");
    sm_sample(o, (double)eng->connects, NULL);
    sm_family(o, "tide_routeros_logins_total", SM_COUNTER, "RouterOS API logins that succeeded");
    sm_sample(o, (double)eng->logins, NULL);
    sm_family(o, "tide_routeros_poller_restarts_total", SM_COUNTER,
              "Connections torn down after a failure once in use (reconnected with backoff)");
    sm_sample(o, (double)eng->restarts, NULL);
    sm_family(o, "tide_routeros_command_timeouts_total", SM_COUNTER,
              "Runs given up because a command got no answer in time");
    sm_sample(o, (double)eng->run_timeouts, NULL);
    sm_family(o, "tide_routeros_connection_failures_total", SM_COUNTER,
              "RouterOS connection failures by reason");
    for (int f = ROS_F_RESOLVE; f < FAIL_KINDS; f++)
        sm_sample(o, (double)eng->failures[f], "reason", ros_fail_name((enum ros_fail)f), NULL);
    sm_family(o, "tide_routeros_sentences_dropped_total", SM_COUNTER,
              "Reply sentences dropped by the decoder, by reason");
    static const char *const why[] = {"", "word_size", "words", "size", "utf8", "type"};
    for (int i = 1; i <= ROS_DROP_TYPE; i++)
        sm_sample(o, (double)eng->drops[i], "reason", why[i], NULL);
    pthread_mutex_unlock(&eng->mu);
}
