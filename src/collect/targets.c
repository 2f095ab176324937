/* targets.c: the targets manager (targets.h): a table of targets, a pool of
 * workers that run whichever is due, per-target health and staleness.
 *
 * Locking: one mutex `mu` guards the target table and every field marked
 * "mu" below; workers wait on `cv` for the next due time or for a change
 * (add, enable, interval, a serial key freed, stop). A run happens outside
 * the lock on a target marked `running`; nothing but that worker touches
 * the target's kind state, scratch batches and last-series record then.
 * targets_remove() of a running target marks it `removed` and waits on
 * `done` until the worker has let go of it.
 *
 * Asynchronous runs (kind->start) keep `running` set from start() to the
 * kind's done callback. The callback, on the kind's thread, only records
 * the outcome and queues the target on `done_head` (a FIFO under mu); the
 * first free worker takes it from there and delivers it with its own
 * scratch batches, exactly as a synchronous run, so the kind's thread never
 * waits for storage. The run's raw batch is the target's own (`araw`); its
 * memory is given back after delivery, so a fleet of idle targets holds no
 * collected series beyond the record of their last delivery (`last`).
 *
 * Dispatch is a linear scan for the earliest due runnable target: O(targets)
 * per run, which for the fleets this is built for (thousands of targets at
 * 10 s to 60 s) is a few microseconds; a heap can replace it when a
 * benchmark says so.
 */
#include "collect/targets.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/label_sets.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/mem.h"
#include "core/selfmetrics.h"
#include "core/time.h"

struct kind_reg {
    const struct target_kind *ops;
    void *ctx;
    /* mu: totals over every target of the kind, removed ones included */
    uint64_t runs, failures, missed, samples, stale;
};

struct target {
    /* Immutable after add (the counters in *kind are under mu). */
    struct targets *m;
    struct kind_reg *kind;
    char *name, *address, *module; /* owned */
    struct label *labels;          /* owned, with their bytes in `label_bytes` */
    size_t nlabels;
    char *label_bytes;
    const void *serial;
    void *state; /* the kind's; touched by the running worker only */

    /* mu */
    size_t idx; /* its place in m->t and m->due */
    bool enabled, running, removed;
    int64_t interval_ms;    /* the configured (storage) interval */
    int64_t lease_ms;       /* a faster display-rate interval, 0 = none ... */
    int64_t lease_until_ns; /* ... in force until this monotonic time */
    int64_t next_ns;        /* monotonic due time */
    int64_t last_start_ns;
    struct target_status st; /* counters and health; names filled on snapshot */

    /* An asynchronous run in flight: set by the starting worker, then the
     * kind's until done, then the delivering worker's (`async_*` under mu
     * when written by done). */
    struct batch araw;        /* what the kind collects into */
    int64_t async_now_ms;     /* the run's sample time (wall) */
    int async_rc;             /* mu: done's rc */
    struct err async_e;       /* mu: done's error */
    struct target *done_next; /* mu: the done queue */

    /* The running worker only (or the remover once the target is idle). */
    struct label_sets last; /* one set per series of the last delivery */
    uint64_t *last_hash;    /* sorted hashes of those label sets */
    size_t nlast_hash, cap_last_hash;
    /* The last delivery's series hashes in the order delivered, as one
     * fingerprint (last_order_n series; 0 = none): a collector that sends
     * the same series in the same order each run (SNMP, RouterOS) is known
     * to send the same set without sorting its hashes. */
    uint64_t last_order_fp;
    size_t last_order_n;
};

struct worker {
    struct targets *m;
    pthread_t thread;
    struct batch raw, out; /* collect output, and with target labels and stale markers */
    uint64_t *hash;
    size_t cap_hash;
};

struct targets {
    struct targets_opts o;
    struct kind_reg kinds[16];
    size_t nkinds;

    pthread_mutex_t mu;
    /* Workers wait in two roles. One idle worker, the timer, waits on
     * timer_cv until the first due time (timer_until_ns); the others wait
     * on cv, untimed, for a run to deliver or for the timer role. So a due
     * time wakes one worker, not all of them, and a finished run wakes no
     * one unless it made something due before the timer would wake. */
    pthread_cond_t cv;       /* mu: followers: a delivery, or the timer role is free */
    pthread_cond_t timer_cv; /* mu: the timer: the schedule changed, or a delivery */
    struct worker *timer;    /* mu: the worker keeping the time, NULL = none */
    int64_t timer_until_ns;  /* mu: when it wakes (INT64_MAX: nothing due) */
    unsigned idle;           /* mu: followers waiting on cv */
    pthread_cond_t done;     /* a run finished */
    struct target **t;   /* mu: insertion order */
    size_t nt, capt;
    int64_t *due;        /* mu: due[i] is due_key(t[i]), what next_due() scans */
    size_t capdue;
    bool started, stopping;               /* mu */
    struct target *done_head, *done_tail; /* mu: async runs to deliver, FIFO */
    struct worker *workers;
    unsigned nworkers_started;

    struct persist {
        const struct kind_reg *kind;
        char *path;
    } persist[4]; /* mu */
    size_t npersist;
};

/* What next_due() compares: t's due time while a worker may start it,
 * INT64_MAX while it may not (disabled, running, removed, passive). */
static int64_t due_key(const struct target *t)
{
    if (!t->enabled || t->running || t->removed || t->kind->ops->passive ||
        (t->kind->ops->collect == NULL && t->kind->ops->start == NULL))
        return INT64_MAX;
    return t->next_ns;
}

/* Wake every waiting worker: a change they must all see (a target added,
 * enabled or re-timed, a stop). mu held. */
static void wake_all(struct targets *m)
{
    pthread_cond_broadcast(&m->cv);
    pthread_cond_broadcast(&m->timer_cv);
}

/* Bring t's due entry up to date after a change of its schedule or state,
 * and wake the timer when t is now due before it would wake. With no timer
 * no one needs waking: a follower told to take the role, or a busy worker
 * back from its run, looks at the whole schedule first. mu held. */
static void due_sync(struct targets *m, struct target *t)
{
    if (t->idx < m->nt && m->t[t->idx] == t) {
        m->due[t->idx] = due_key(t);
        if (m->timer != NULL && m->due[t->idx] < m->timer_until_ns)
            pthread_cond_signal(&m->timer_cv);
    }
}

static const char *const health_names[] = {"unknown", "up", "down"};

const char *target_health_name(enum target_health h)
{
    return (unsigned)h < 3 ? health_names[h] : "unknown";
}

static void cv_init_mono(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

int targets_new(struct targets **out, const struct targets_opts *o)
{
    *out = NULL;
    if (o->sink == NULL)
        return TIDE_EINVAL;
    struct targets *m = calloc(1, sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    m->o = *o;
    if (m->o.workers == 0)
        m->o.workers = TARGETS_WORKERS_DEFAULT;
    if (m->o.backoff_max_ms == 0)
        m->o.backoff_max_ms = TARGETS_BACKOFF_MAX_DEFAULT_MS;
    pthread_mutex_init(&m->mu, NULL);
    cv_init_mono(&m->cv);
    cv_init_mono(&m->timer_cv);
    cv_init_mono(&m->done);
    *out = m;
    return 0;
}

int targets_register_kind(struct targets *m, const struct target_kind *kind, void *kind_ctx)
{
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    if (m->started || m->nkinds == sizeof m->kinds / sizeof m->kinds[0])
        rc = TIDE_EINVAL;
    for (size_t i = 0; rc == 0 && i < m->nkinds; i++)
        if (strcmp(m->kinds[i].ops->name, kind->name) == 0)
            rc = TIDE_EINVAL;
    if (rc == 0)
        m->kinds[m->nkinds++] = (struct kind_reg){.ops = kind, .ctx = kind_ctx};
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static struct kind_reg *find_kind(struct targets *m, const char *name)
{
    for (size_t i = 0; i < m->nkinds; i++)
        if (strcmp(m->kinds[i].ops->name, name) == 0)
            return &m->kinds[i];
    return NULL;
}

/* Index of the target, or -1. mu held. */
static long find(struct targets *m, const char *kind, const char *name)
{
    for (size_t i = 0; i < m->nt; i++)
        if (!m->t[i]->removed && strcmp(m->t[i]->kind->ops->name, kind) == 0 &&
            strcmp(m->t[i]->name, name) == 0)
            return (long)i;
    return -1;
}

/* Close t's kind state: an asynchronous run in flight is cancelled, and
 * the kind calls done for t no more. */
static void close_state(struct target *t)
{
    if (t->state && t->kind->ops->close)
        t->kind->ops->close(t->state);
    t->state = NULL;
}

static void target_free(struct target *t)
{
    if (t == NULL)
        return;
    close_state(t);
    free(t->name);
    free(t->address);
    free(t->module);
    free(t->labels);
    free(t->label_bytes);
    label_sets_fini(&t->last);
    batch_fini(&t->araw);
    free(t->last_hash);
    free(t);
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = true;
    return d;
}

/* Copy the spec's labels into one allocation of bytes; a meta_series kind's
 * targets also get job and instance when the spec has none. */
static int copy_labels(struct target *t, const struct target_spec *s)
{
    struct label all[TARGETS_LABELS_MAX + 2];
    size_t n = s->nlabels;
    if (n > 0)
        memcpy(all, s->labels, n * sizeof *all);
    if (t->kind->ops->meta_series) {
        if (labels_get(s->labels, s->nlabels, STRV_LIT("job")).p == NULL)
            all[n++] = (struct label){STRV_LIT("job"), strv_c(t->kind->ops->name)};
        if (labels_get(s->labels, s->nlabels, STRV_LIT("instance")).p == NULL)
            all[n++] =
                (struct label){STRV_LIT("instance"), strv_c(s->address ? s->address : s->name)};
    }
    if (n == 0)
        return 0;
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += all[i].name.n + all[i].value.n + 2;
    t->labels = calloc(n, sizeof *t->labels);
    t->label_bytes = malloc(bytes);
    if (t->labels == NULL || t->label_bytes == NULL)
        return -ENOMEM;
    char *p = t->label_bytes;
    for (size_t i = 0; i < n; i++) {
        const struct label *l = &all[i];
        memcpy(p, l->name.p, l->name.n);
        p[l->name.n] = 0;
        t->labels[i].name = (struct strv){p, l->name.n};
        p += l->name.n + 1;
        memcpy(p, l->value.p, l->value.n);
        p[l->value.n] = 0;
        t->labels[i].value = (struct strv){p, l->value.n};
        p += l->value.n + 1;
    }
    t->nlabels = n;
    labels_sort(t->labels, n); /* add_target_labels merges them */
    return 0;
}

/* When t should first run, given the monotonic and wall clocks now: at once,
 * or for a `spread` kind at hash(kind/name) mod interval on the wall clock,
 * so the phase survives restarts and a fleet spreads over the interval. */
static int64_t first_run_ns(const struct target *t, int64_t mono_ns, int64_t wall_ms)
{
    if (!t->kind->ops->spread)
        return mono_ns;
    int64_t iv = t->interval_ms;
    uint64_t h = hash_bytes(t->kind->ops->name, strlen(t->kind->ops->name));
    h = hash_combine(h, t->name, strlen(t->name));
    int64_t offset = (int64_t)(h % (uint64_t)iv);
    int64_t delay_ms = ((offset - wall_ms % iv) % iv + iv) % iv;
    return mono_ns + delay_ms * 1000000;
}

static int check_spec(const struct target_spec *s, struct err *e)
{
    if (s->kind == NULL || s->name == NULL || s->name[0] == 0)
        return ERR_INVAL(e, "target: kind and name are required");
    if (strlen(s->name) > TARGETS_NAME_MAX || strpbrk(s->name, "\t\n\r"))
        return ERR_INVAL(e, "target %s: the name must be 1 to %d bytes without tabs or newlines",
                         s->name, TARGETS_NAME_MAX);
    if (s->interval_ms < TARGETS_INTERVAL_MIN_MS || s->interval_ms > TARGETS_INTERVAL_MAX_MS)
        return ERR_INVAL(e, "target %s: interval %lldms is outside 100ms..1d", s->name,
                         (long long)s->interval_ms);
    if (s->nlabels > TARGETS_LABELS_MAX)
        return ERR_INVAL(e, "target %s: more than %d labels", s->name, TARGETS_LABELS_MAX);
    for (size_t i = 0; i < s->nlabels; i++)
        if (!labels_valid_label_name(s->labels[i].name))
            return ERR_INVAL(e, "target %s: invalid label name \"%.*s\"", s->name,
                             (int)s->labels[i].name.n, s->labels[i].name.p);
    return 0;
}

static int persist_save_locked(struct targets *m, const struct kind_reg *k);

int targets_add(struct targets *m, const struct target_spec *s, struct err *e)
{
    int rc = check_spec(s, e);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&m->mu);
    struct kind_reg *k = find_kind(m, s->kind);
    bool taken = k && find(m, s->kind, s->name) >= 0;
    pthread_mutex_unlock(&m->mu);
    if (k == NULL)
        return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, 0, 0, "target %s: unknown kind \"%s\"",
                          s->name, s->kind);
    if (taken)
        return ERR_INVAL(e, "target %s/%s already exists", s->kind, s->name);

    struct target *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_SET(e, -ENOMEM, "targets: out of memory");
    bool oom = false;
    t->m = m;
    t->kind = k;
    t->name = dup_or_null(s->name, &oom);
    t->address = dup_or_null(s->address, &oom);
    t->module = dup_or_null(s->module, &oom);
    t->serial = s->serial;
    t->interval_ms = s->interval_ms;
    t->enabled = !s->disabled;
    label_sets_init(&t->last);
    batch_init(&t->araw);
    if (oom || copy_labels(t, s) != 0) {
        target_free(t);
        return ERR_SET(e, -ENOMEM, "targets: out of memory");
    }
    if (k->ops->open) {
        rc = k->ops->open(k->ctx, s, &t->state, e);
        if (rc != 0) {
            t->state = NULL;
            target_free(t);
            return rc;
        }
    }
    pthread_mutex_lock(&m->mu);
    if (find(m, s->kind, s->name) >= 0) { /* lost a race with another add */
        pthread_mutex_unlock(&m->mu);
        target_free(t);
        return ERR_INVAL(e, "target %s/%s already exists", s->kind, s->name);
    }
    rc = mem_grow((void **)&m->t, &m->capt, m->nt + 1, sizeof *m->t);
    if (rc == 0)
        rc = mem_grow((void **)&m->due, &m->capdue, m->nt + 1, sizeof *m->due);
    if (rc == 0) {
        t->next_ns = first_run_ns(t, time_mono_ns(), time_now_ms());
        t->idx = m->nt;
        m->t[m->nt++] = t;
        due_sync(m, t);
        persist_save_locked(m, k); /* a failed save keeps the change in memory */
        wake_all(m);
    }
    pthread_mutex_unlock(&m->mu);
    if (rc != 0) {
        target_free(t);
        return ERR_SET(e, rc, "targets: out of memory");
    }
    return 0;
}

/* ---- staleness ---- */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool sorted_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] == x)
            return true;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static const struct label *series_labels(const struct batch *b, size_t i)
{
    return &b->labels[b->series[i].label_off];
}

static uint64_t series_hash(const struct batch *b, size_t i)
{
    return labels_hash(series_labels(b, i), b->series[i].nlabels);
}

/* Append set i of t->last to `to` with one sample (t_ms, v); labels are
 * copied into `to`'s arena. *scratch (room *cap) holds the decoded set. */
static int copy_last(struct batch *to, const struct target *t, size_t i, int64_t t_ms, double v,
                     struct label **scratch, size_t *cap)
{
    size_t n = 0;
    int rc = label_sets_get(&t->last, i, scratch, cap, &n);
    if (rc != 0)
        return rc;
    rc = batch_begin_series(to);
    for (size_t j = 0; rc == 0 && j < n; j++) {
        const struct label *l = &(*scratch)[j];
        char *nm = batch_strdup(to, l->name.p, l->name.n);
        char *val = batch_strdup(to, l->value.p, l->value.n);
        rc = nm && val
                 ? batch_add_label(to, (struct strv){nm, l->name.n}, (struct strv){val, l->value.n})
                 : -ENOMEM;
    }
    if (rc == 0)
        rc = batch_add_sample(to, t_ms, v);
    if (rc == 0)
        rc = batch_end_series(to);
    if (rc != 0)
        batch_abort_series(to);
    return rc;
}

/* Remember series i of `from` (its labels and hash) in t->last. */
static int remember_series(struct target *t, const struct batch *from, size_t i, uint64_t hash)
{
    return label_sets_add(&t->last, series_labels(from, i), from->series[i].nlabels, hash);
}

static double stale_nan(void)
{
    uint64_t bits = STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Append a stale marker at now_ms to `out` for every series of t->last whose
 * hash is not among `cur` (sorted; n = 0 for "all"). Returns the count. */
static size_t add_stale(struct target *t, struct batch *out, const uint64_t *cur, size_t ncur,
                        int64_t now_ms)
{
    size_t n = 0;
    struct label *scratch = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < t->last.n; i++) {
        if (ncur > 0 && sorted_has(cur, ncur, label_sets_hash(&t->last, i)))
            continue;
        if (copy_last(out, t, i, now_ms, stale_nan(), &scratch, &cap) == 0)
            n++;
    }
    free(scratch);
    return n;
}

/* Remember the label sets of out's first `nseries` series as the last
 * delivery. `hash` holds their sorted, distinct hashes (nhash of them). */
static void remember(struct target *t, const struct batch *out, size_t nseries,
                     const uint64_t *hash, size_t nhash)
{
    if (nhash == t->nlast_hash &&
        (nhash == 0 || memcmp(hash, t->last_hash, nhash * sizeof *hash) == 0))
        return; /* the same series as last time: nothing to copy */
    if (mem_grow((void **)&t->last_hash, &t->cap_last_hash, nhash, sizeof *hash) != 0) {
        t->nlast_hash = 0;
        t->last_order_n = 0; /* nothing remembered: compare in full next time */
        label_sets_reset(&t->last);
        return;
    }
    if (nhash > 0)
        memcpy(t->last_hash, hash, nhash * sizeof *hash);
    t->nlast_hash = nhash;
    label_sets_reset(&t->last);
    for (size_t i = 0; i < nseries; i++)
        if (remember_series(t, out, i, series_hash(out, i)) != 0) {
            t->nlast_hash = 0; /* out of memory: rebuild next time */
            t->last_order_n = 0;
            break;
        }
}

/* remember() for a partial_runs kind: add out's series not seen before to
 * the ones remembered (nothing is forgotten until stale_all()). */
static void remember_union(struct target *t, const struct batch *out, size_t nseries)
{
    size_t before = t->nlast_hash;
    for (size_t i = 0; i < nseries; i++) {
        uint64_t h = series_hash(out, i);
        bool seen = sorted_has(t->last_hash, before, h);
        for (size_t j = before; !seen && j < t->nlast_hash; j++)
            seen = t->last_hash[j] == h;
        if (seen)
            continue;
        if (mem_grow((void **)&t->last_hash, &t->cap_last_hash, t->nlast_hash + 1, sizeof h) != 0 ||
            remember_series(t, out, i, h) != 0)
            break;
        t->last_hash[t->nlast_hash++] = h;
    }
    if (t->nlast_hash > before)
        qsort(t->last_hash, t->nlast_hash, sizeof *t->last_hash, u64_cmp);
}

/* ---- one run ---- */

/* Build w->out from raw: target labels added where a series lacks them.
 * Both lists are sorted (batch_end_series, copy_labels): one merge per
 * series, the series' label winning a tie. */
static int add_target_labels(struct target *t, struct worker *w, const struct batch *raw)
{
    struct batch *out = &w->out;
    const struct label *tl = t->labels;
    int rc = batch_reserve(out, raw->nseries, raw->nlabels + raw->nseries * t->nlabels,
                           raw->nsamples);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < raw->nseries; i++) {
        const struct batch_series *s = &raw->series[i];
        const struct label *ls = &raw->labels[s->label_off];
        rc = batch_begin_series(out);
        size_t a = 0, b = 0;
        while (rc == 0 && (a < s->nlabels || b < t->nlabels)) {
            int c = a == s->nlabels   ? 1
                    : b == t->nlabels ? -1
                                      : strv_cmp(ls[a].name, tl[b].name);
            if (c <= 0) {
                while (c == 0 && b < t->nlabels && strv_eq(tl[b].name, ls[a].name))
                    b++; /* the series has it: every target label of that name yields */
                rc = batch_add_label(out, ls[a].name, ls[a].value);
                a++;
            } else {
                rc = batch_add_label(out, tl[b].name, tl[b].value);
                b++;
            }
        }
        for (uint32_t j = 0; rc == 0 && j < s->nsamples; j++) {
            const struct sample *sm = &raw->samples[s->sample_off + j];
            rc = batch_add_sample(out, sm->t_ms, sm->v);
        }
        if (rc == 0)
            rc = batch_end_series(out);
        if (rc != 0) {
            batch_abort_series(out);
            return rc;
        }
    }
    return 0;
}

struct run_result {
    int rc;           /* first failure, 0 when none */
    struct err e;     /* its detail */
    uint64_t samples; /* delivered */
    uint64_t stale;   /* stale markers among them */
    int64_t duration_ns;
};

static void fail(struct run_result *r, int rc, const struct err *e)
{
    if (r->rc == 0) {
        r->rc = rc;
        r->e = *e;
        if (r->e.msg[0] == 0)
            snprintf(r->e.msg, sizeof r->e.msg, "%s", tide_strerror(rc));
    }
}

/* Append one meta series name{} = v at now_ms (target labels come later). */
static int add_meta(struct batch *b, const char *name, int64_t now_ms, double v)
{
    int rc = batch_begin_series(b);
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("__name__"), strv_c(name));
    if (rc == 0)
        rc = batch_add_sample(b, now_ms, v);
    if (rc == 0)
        rc = batch_end_series(b);
    if (rc != 0)
        batch_abort_series(b);
    return rc;
}

/* Deliver a collected run: `raw` holds what the kind produced (r->rc its
 * outcome so far), t0_ns the monotonic start. The worker owns t's run state. */
static void deliver(struct targets *m, struct worker *w, struct target *t, struct batch *raw,
                    int64_t now_ms, int64_t t0_ns, struct run_result *r)
{
    struct err e;
    err_clear(&e);
    int rc;
    batch_reset(&w->out);
    if (t->kind->ops->meta_series) {
        double scraped = (double)raw->nsamples;
        double secs = (double)(time_mono_ns() - t0_ns) / 1e9;
        rc = add_meta(raw, "up", now_ms, r->rc < 0 ? 0 : 1);
        if (rc == 0)
            rc = add_meta(raw, "scrape_duration_seconds", now_ms, secs);
        if (rc == 0)
            rc = add_meta(raw, "scrape_samples_scraped", now_ms, scraped);
        if (rc != 0)
            fail(r, rc, &e);
    }
    struct batch *out = raw;
    if (t->nlabels > 0) {
        rc = add_target_labels(t, w, raw);
        if (rc != 0) {
            err_clear(&e);
            fail(r, rc, &e);
        }
        out = &w->out;
    }
    size_t nfresh = out->nseries;
    size_t nh = 0;
    if (nfresh == 0 || mem_grow((void **)&w->hash, &w->cap_hash, nfresh, sizeof *w->hash) == 0) {
        for (size_t i = 0; i < nfresh; i++)
            w->hash[i] = series_hash(out, i);
        uint64_t fp = nfresh > 0 ? hash_bytes(w->hash, nfresh * sizeof *w->hash) : 0;
        bool same_order = nfresh > 0 && nfresh == t->last_order_n && fp == t->last_order_fp;
        t->last_order_fp = fp;
        t->last_order_n = nfresh;
        if (!same_order && nfresh > 0)
            qsort(w->hash, nfresh, sizeof *w->hash, u64_cmp);
        for (size_t i = 0; !same_order && i < nfresh; i++) /* distinct */
            if (nh == 0 || w->hash[nh - 1] != w->hash[i])
                w->hash[nh++] = w->hash[i];
        if (t->kind->ops->partial_runs) {
            remember_union(t, out, nfresh);
        } else if (same_order) {
            r->stale = 0; /* the same series as last time, in the same order */
        } else {
            /* With nothing collected every last series goes stale (n = 0 = all).
             * The same distinct label sets as last time: none goes stale, and
             * the per-series look-ups can be skipped. */
            bool same = nh > 0 && nh == t->nlast_hash &&
                        memcmp(w->hash, t->last_hash, nh * sizeof *w->hash) == 0;
            r->stale = same ? 0 : add_stale(t, out, w->hash, nh, now_ms);
            remember(t, out, nfresh, w->hash, nh);
        }
    }
    if (out->nseries > 0) {
        err_clear(&e);
        rc = m->o.sink(m->o.sink_ctx, out, &e);
        if (rc < 0)
            fail(r, rc, &e);
        else
            r->samples = out->nsamples;
    }
    r->duration_ns = time_mono_ns() - t0_ns;
}

/* Collect t once (synchronously) and deliver. */
static void run_target(struct targets *m, struct worker *w, struct target *t, struct run_result *r)
{
    int64_t t0 = time_mono_ns();
    int64_t now_ms = time_now_ms();
    struct err e;
    err_clear(&e);
    batch_reset(&w->raw);
    int rc = t->kind->ops->collect(t->state, now_ms, &w->raw, &e);
    if (rc < 0)
        fail(r, rc, &e);
    deliver(m, w, t, &w->raw, now_ms, t0, r);
}

/* target_done_fn of asynchronous runs: queue t for a worker. */
static void async_done(void *token, int rc, const struct err *e)
{
    struct target *t = token;
    struct targets *m = t->m;
    pthread_mutex_lock(&m->mu);
    t->async_rc = rc < 0 ? rc : 0;
    if (e != NULL && rc < 0)
        t->async_e = *e;
    else
        err_clear(&t->async_e);
    t->done_next = NULL;
    if (m->done_tail)
        m->done_tail->done_next = t;
    else
        m->done_head = t;
    m->done_tail = t;
    /* One worker is enough, an idle follower first (the timer keeps its
     * watch): every worker looks at the done queue before it waits, so a
     * queued run is never missed. */
    if (m->idle > 0)
        pthread_cond_signal(&m->cv);
    else
        pthread_cond_signal(&m->timer_cv);
    pthread_mutex_unlock(&m->mu);
}

/* Stale markers for every series t delivered last, then forget them: the
 * target was removed or disabled. Its run state must be ours. */
static uint64_t stale_all(struct targets *m, struct target *t)
{
    if (t->last.n == 0)
        return 0;
    struct batch b;
    batch_init(&b);
    uint64_t n = add_stale(t, &b, NULL, 0, time_now_ms());
    struct err e = {0};
    if (n > 0 && m->o.sink(m->o.sink_ctx, &b, &e) < 0)
        n = 0;
    batch_fini(&b);
    label_sets_reset(&t->last);
    t->nlast_hash = 0;
    t->last_order_n = 0;
    return n;
}

/* ---- testing one entry ---- */

struct test_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rc;
    struct err e;
};

static void test_done(void *token, int rc, const struct err *e)
{
    struct test_wait *w = token;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    w->rc = rc;
    if (e != NULL && rc < 0)
        w->e = *e;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* One run of a temporary target of kind k; fills out. */
static void test_run(const struct kind_reg *k, void *state, int64_t timeout_ms,
                     struct target_test *out)
{
    struct batch b;
    batch_init(&b);
    struct err e;
    err_clear(&e);
    int rc;
    if (k->ops->start) {
        struct test_wait w = {.rc = 0};
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        rc = k->ops->start(state, time_now_ms(), &b, test_done, &w, &e);
        if (rc == 0) {
            int64_t until = time_mono_ns() + timeout_ms * 1000000;
            pthread_mutex_lock(&w.mu);
            while (!w.done && time_mono_ns() < until) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 50000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&w.cv, &w.mu, &ts);
            }
            bool done = w.done;
            rc = w.rc;
            e = w.e;
            pthread_mutex_unlock(&w.mu);
            if (!done) {
                k->ops->close(state); /* cancels the run: done never comes now */
                state = NULL;
                rc = ERR_SET(&e, -ETIMEDOUT, "no answer within %lldms", (long long)timeout_ms);
            }
        }
        if (state != NULL && k->ops->close)
            k->ops->close(state);
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
    } else {
        rc = k->ops->collect(state, time_now_ms(), &b, &e);
        if (k->ops->close)
            k->ops->close(state);
    }
    out->ok = rc >= 0;
    out->samples = b.nsamples;
    if (rc < 0)
        snprintf(out->error, sizeof out->error, "%s", e.msg[0] ? e.msg : tide_strerror(rc));
    batch_fini(&b);
}

int targets_test(struct targets *m, const struct target_spec *spec, int64_t timeout_ms,
                 struct target_test *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    int rc = check_spec(spec, e);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&m->mu);
    const struct kind_reg *k = find_kind(m, spec->kind);
    pthread_mutex_unlock(&m->mu);
    if (k == NULL)
        return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, 0, 0, "unknown kind \"%s\"", spec->kind);
    if (k->ops->passive || (k->ops->collect == NULL && k->ops->start == NULL && !k->ops->test))
        return ERR_INVAL(e, "kind \"%s\" cannot be tested", spec->kind);
    int64_t t0 = time_mono_ns();
    if (k->ops->test) {
        rc = k->ops->test(k->ctx, spec, out, e);
    } else {
        void *state = NULL;
        rc = k->ops->open ? k->ops->open(k->ctx, spec, &state, e) : 0;
        if (rc == 0)
            test_run(k, state, timeout_ms, out);
    }
    out->elapsed_s = (double)(time_mono_ns() - t0) / 1e9;
    return rc;
}

/* ---- the workers ---- */

static bool serial_busy(struct targets *m, const void *key)
{
    if (key == NULL)
        return false;
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i]->running && m->t[i]->serial == key)
            return true;
    return false;
}

/* The runnable target due first, by a scan over every target (serial keys
 * taken into account), or NULL. mu held. */
static struct target *next_due_scan(struct targets *m)
{
    struct target *best = NULL;
    for (size_t i = 0; i < m->nt; i++) {
        struct target *t = m->t[i];
        if (!t->enabled || t->running || t->removed || t->kind->ops->passive ||
            (t->kind->ops->collect == NULL && t->kind->ops->start == NULL))
            continue;
        if (best != NULL && t->next_ns >= best->next_ns)
            continue;
        if (serial_busy(m, t->serial))
            continue;
        best = t;
    }
    return best;
}

/* The runnable target due first, or NULL: a scan of the plain array m->due
 * (a fleet's targets are not in the cache between runs, their keys are),
 * falling back to the full scan when the first one waits for a serial key
 * (host targets). mu held. */
static struct target *next_due(struct targets *m)
{
#ifndef NDEBUG
    for (size_t i = 0; i < m->nt; i++)
        if (m->t[i]->idx != i || m->due[i] != due_key(m->t[i])) {
            fprintf(stderr, "targets: due[%zu] out of step with %s\n", i, m->t[i]->name);
            abort();
        }
#endif
    size_t best = SIZE_MAX;
    int64_t key = INT64_MAX;
    for (size_t i = 0; i < m->nt; i++)
        if (m->due[i] < key) {
            key = m->due[i];
            best = i;
        }
    if (best == SIZE_MAX)
        return NULL;
    struct target *t = m->t[best];
    if (t->serial != NULL && serial_busy(m, t->serial))
        return next_due_scan(m);
    return t;
}

/* The interval in force at mono_ns: a live lease's while it lasts (it
 * lapses by itself, targets_lease_interval()), else the configured one. */
static int64_t run_interval_ms(const struct target *t, int64_t mono_ns)
{
    if (t->lease_ms > 0 && t->lease_ms < t->interval_ms && mono_ns < t->lease_until_ns)
        return t->lease_ms;
    return t->interval_ms;
}

/* Schedule t's next run after one that started at start_ns. mu held. */
static void reschedule(struct targets *m, struct target *t, int64_t start_ns)
{
    if (t->next_ns > start_ns)
        return; /* an interval change or enable during the run already moved it */
    int64_t iv = run_interval_ms(t, start_ns) * 1000000;
    int64_t delay = iv;
    unsigned f = t->st.consecutive_failures;
    if (f > 0 && m->o.backoff_max_ms > 0) {
        int64_t cap = m->o.backoff_max_ms * 1000000;
        if (cap < iv)
            cap = iv;
        for (unsigned i = 1; i < f && delay < cap; i++)
            delay *= 2;
        if (delay > cap)
            delay = cap;
    }
    t->next_ns = start_ns + delay;
    int64_t now = time_mono_ns();
    if (t->next_ns <= now) { /* skip missed runs, keep the phase */
        int64_t skipped = (now - t->next_ns) / iv + 1;
        t->next_ns += skipped * iv;
        t->kind->missed += (uint64_t)skipped;
    }
    due_sync(m, t);
}

static void account(struct target *t, const struct run_result *r, int64_t wall_ms)
{
    t->st.runs++;
    t->st.last_run_ms = wall_ms;
    t->st.last_duration_ns = r->duration_ns;
    t->st.last_samples = r->samples;
    t->st.stale_markers += r->stale;
    t->kind->runs++;
    t->kind->samples += r->samples;
    t->kind->stale += r->stale;
    if (r->rc < 0) {
        t->kind->failures++;
        t->st.failures++;
        t->st.consecutive_failures++;
        t->st.health = TARGET_DOWN;
        snprintf(t->st.last_error, sizeof t->st.last_error, "%s", r->e.msg);
    } else {
        t->st.consecutive_failures = 0;
        t->st.health = TARGET_UP;
        t->st.last_error[0] = 0;
    }
}

/* The bookkeeping after a run of t that started at start_ns. mu held. */
static void run_finished(struct targets *m, struct target *t, const struct run_result *r,
                         int64_t wall, int64_t start_ns)
{
    account(t, r, wall);
    if (!t->enabled && !t->removed) { /* disabled during the run: still ours */
        pthread_mutex_unlock(&m->mu);
        uint64_t n = stale_all(m, t);
        pthread_mutex_lock(&m->mu);
        t->st.stale_markers += n;
        t->kind->stale += n;
        t->st.health = TARGET_UNKNOWN;
    }
    t->running = false;
    reschedule(m, t, start_ns);
    due_sync(m, t); /* reschedule may leave next_ns as it is */
    pthread_cond_broadcast(&m->done);
    if (t->serial != NULL) { /* its serial key is free again */
        if (m->timer != NULL)
            pthread_cond_signal(&m->timer_cv);
        else if (m->idle > 0)
            pthread_cond_signal(&m->cv);
    }
}

/* Deliver the first queued asynchronous run. mu held on entry and exit. */
static void deliver_async(struct targets *m, struct worker *w)
{
    struct target *t = m->done_head;
    m->done_head = t->done_next;
    if (m->done_head == NULL)
        m->done_tail = NULL;
    struct run_result r = {0};
    if (t->async_rc < 0)
        fail(&r, t->async_rc, &t->async_e);
    int64_t start_ns = t->last_start_ns;
    pthread_mutex_unlock(&m->mu);
    deliver(m, w, t, &t->araw, t->async_now_ms, start_ns, &r);
    batch_fini(&t->araw);
    batch_init(&t->araw);
    if (r.rc < 0 && m->o.on_error)
        m->o.on_error(m->o.err_ctx, t->kind->ops->name, t->name, r.rc, &r.e);
    pthread_mutex_lock(&m->mu);
    run_finished(m, t, &r, t->async_now_ms, start_ns);
}

/* Begin an asynchronous run of t (marked running, mu held on entry and exit). */
static void start_async(struct targets *m, struct target *t)
{
    pthread_mutex_unlock(&m->mu);
    struct err e;
    err_clear(&e);
    batch_reset(&t->araw);
    t->async_now_ms = time_now_ms();
    int rc = t->kind->ops->start(t->state, t->async_now_ms, &t->araw, async_done, t, &e);
    if (rc < 0) {
        if (e.msg[0] == 0)
            snprintf(e.msg, sizeof e.msg, "%s", tide_strerror(rc));
        async_done(t, rc, &e);
    }
    pthread_mutex_lock(&m->mu);
}

/* w gives up the timer role (before a run of its own): an idle follower
 * takes it. mu held. */
static void timer_release(struct targets *m, struct worker *w)
{
    if (m->timer != w)
        return;
    m->timer = NULL;
    if (m->idle > 0)
        pthread_cond_signal(&m->cv);
}

/* Nothing to do now: wait as the timer until t is due (t NULL: until
 * woken), or as a follower when another worker keeps the time. mu held. */
static void worker_wait(struct targets *m, struct worker *w, const struct target *t)
{
    if (m->timer != NULL && m->timer != w) {
        m->idle++;
        pthread_cond_wait(&m->cv, &m->mu);
        m->idle--;
        return;
    }
    m->timer = w;
    if (t == NULL) {
        m->timer_until_ns = INT64_MAX;
        pthread_cond_wait(&m->timer_cv, &m->mu);
        return;
    }
    m->timer_until_ns = t->next_ns;
    struct timespec ts = {(time_t)(t->next_ns / 1000000000), (long)(t->next_ns % 1000000000)};
    pthread_cond_timedwait(&m->timer_cv, &m->mu, &ts);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct targets *m = w->m;
    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        /* A delivery is short: the timer keeps its role through one (a due
         * time may slip by that much), as through an asynchronous start. */
        if (m->done_head != NULL) {
            deliver_async(m, w);
            continue;
        }
        struct target *t = next_due(m);
        int64_t now = time_mono_ns();
        if (t == NULL || t->next_ns > now) {
            worker_wait(m, w, t);
            continue;
        }
        t->running = true;
        t->last_start_ns = now;
        due_sync(m, t);
        if (t->kind->ops->start != NULL) {
            start_async(m, t);
            continue;
        }
        timer_release(m, w);
        pthread_mutex_unlock(&m->mu);

        struct run_result r = {0};
        int64_t wall = time_now_ms();
        run_target(m, w, t, &r);
        if (r.rc < 0 && m->o.on_error)
            m->o.on_error(m->o.err_ctx, t->kind->ops->name, t->name, r.rc, &r.e);

        pthread_mutex_lock(&m->mu);
        run_finished(m, t, &r, wall, now);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int targets_start(struct targets *m, struct err *e)
{
    pthread_mutex_lock(&m->mu);
    if (m->started) {
        pthread_mutex_unlock(&m->mu);
        return ERR_INVAL(e, "targets: already started");
    }
    m->started = true;
    m->stopping = false;
    int64_t now = time_mono_ns(), wall = time_now_ms();
    for (size_t i = 0; i < m->nt; i++)
        if (!m->t[i]->running) { /* an async run left over from a stop is still queued */
            m->t[i]->next_ns = first_run_ns(m->t[i], now, wall);
            due_sync(m, m->t[i]);
        }
    pthread_mutex_unlock(&m->mu);
    m->workers = calloc(m->o.workers, sizeof *m->workers);
    if (m->workers == NULL)
        return ERR_SET(e, -ENOMEM, "targets: out of memory");
    for (unsigned i = 0; i < m->o.workers; i++) {
        struct worker *w = &m->workers[i];
        w->m = m;
        batch_init(&w->raw);
        batch_init(&w->out);
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            targets_stop(m);
            return ERR_SET(e, -rc, "targets: cannot start worker thread %u", i);
        }
        m->nworkers_started++;
    }
    return 0;
}

void targets_stop(struct targets *m)
{
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    wake_all(m);
    pthread_mutex_unlock(&m->mu);
    for (unsigned i = 0; i < m->nworkers_started; i++)
        pthread_join(m->workers[i].thread, NULL);
    if (m->workers) {
        for (unsigned i = 0; i < m->o.workers; i++) {
            batch_fini(&m->workers[i].raw);
            batch_fini(&m->workers[i].out);
            free(m->workers[i].hash);
        }
    }
    free(m->workers);
    m->workers = NULL;
    m->nworkers_started = 0;
    pthread_mutex_lock(&m->mu);
    m->started = false;
    pthread_mutex_unlock(&m->mu);
}

/* ---- run-time changes ---- */

/* Wait until t is not running. mu held. */
static void wait_idle(struct targets *m, struct target *t)
{
    while (t->running)
        pthread_cond_wait(&m->done, &m->mu);
}

int targets_remove(struct targets *m, const char *kind, const char *name)
{
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i < 0) {
        pthread_mutex_unlock(&m->mu);
        return TIDE_ENOTFOUND;
    }
    struct target *t = m->t[i];
    t->removed = true; /* no worker picks it up again */
    due_sync(m, t);
    wait_idle(m, t);
    size_t j = t->idx; /* kept up to date while waiting */
    memmove(m->t + j, m->t + j + 1, (m->nt - j - 1) * sizeof *m->t);
    memmove(m->due + j, m->due + j + 1, (m->nt - j - 1) * sizeof *m->due);
    m->nt--;
    for (; j < m->nt; j++)
        m->t[j]->idx = j;
    persist_save_locked(m, t->kind);
    pthread_mutex_unlock(&m->mu);
    uint64_t n = stale_all(m, t);
    pthread_mutex_lock(&m->mu);
    t->kind->stale += n;
    pthread_mutex_unlock(&m->mu);
    target_free(t);
    return 0;
}

int targets_set_enabled(struct targets *m, const char *kind, const char *name, bool enabled)
{
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i < 0) {
        pthread_mutex_unlock(&m->mu);
        return TIDE_ENOTFOUND;
    }
    struct target *t = m->t[i];
    bool was = t->enabled;
    t->enabled = enabled;
    if (enabled && !was) {
        t->next_ns = time_mono_ns();
        t->st.consecutive_failures = 0;
        wake_all(m);
    }
    bool go_stale = was && !enabled && !t->running; /* a running one does it itself */
    if (go_stale)
        t->running = true; /* hold it while its markers are written */
    due_sync(m, t);
    pthread_mutex_unlock(&m->mu);
    if (go_stale) {
        uint64_t n = stale_all(m, t);
        pthread_mutex_lock(&m->mu);
        t->running = false;
        due_sync(m, t);
        t->st.stale_markers += n;
        t->kind->stale += n;
        t->st.health = TARGET_UNKNOWN;
        pthread_cond_broadcast(&m->done);
        wake_all(m);
        pthread_mutex_unlock(&m->mu);
    }
    return 0;
}

int targets_set_interval(struct targets *m, const char *kind, const char *name, int64_t interval_ms)
{
    if (interval_ms < TARGETS_INTERVAL_MIN_MS || interval_ms > TARGETS_INTERVAL_MAX_MS)
        return TIDE_EINVAL;
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i < 0) {
        pthread_mutex_unlock(&m->mu);
        return TIDE_ENOTFOUND;
    }
    struct target *t = m->t[i];
    t->interval_ms = interval_ms;
    if (t->last_start_ns > 0) {
        int64_t now = time_mono_ns();
        t->next_ns = t->last_start_ns + run_interval_ms(t, now) * 1000000;
        if (t->next_ns < now)
            t->next_ns = now;
        due_sync(m, t);
    }
    persist_save_locked(m, t->kind);
    wake_all(m);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int targets_lease_interval(struct targets *m, const char *kind, const char *name,
                           int64_t interval_ms, int64_t until_mono_ns)
{
    if (interval_ms != 0 &&
        (interval_ms < TARGETS_INTERVAL_MIN_MS || interval_ms > TARGETS_INTERVAL_MAX_MS))
        return TIDE_EINVAL;
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i < 0) {
        pthread_mutex_unlock(&m->mu);
        return TIDE_ENOTFOUND;
    }
    struct target *t = m->t[i];
    int64_t now = time_mono_ns();
    int64_t before = run_interval_ms(t, now);
    t->lease_ms = interval_ms;
    t->lease_until_ns = interval_ms > 0 ? until_mono_ns : 0;
    int64_t after = run_interval_ms(t, now);
    /* Faster now: the next run comes one new interval after the last. A
     * slower one takes effect after the next run (reschedule). */
    if (after < before && t->last_start_ns > 0) {
        int64_t due = t->last_start_ns + after * 1000000;
        if (due < now)
            due = now;
        if (due < t->next_ns)
            t->next_ns = due;
        due_sync(m, t);
        wake_all(m);
    }
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int targets_seen(struct targets *m, const char *kind, const char *name, int64_t now_ms)
{
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i >= 0) {
        struct target *t = m->t[i];
        t->st.last_run_ms = now_ms;
        t->st.runs++;
        t->st.health = TARGET_UP;
    }
    pthread_mutex_unlock(&m->mu);
    return i >= 0 ? 0 : TIDE_ENOTFOUND;
}

/* ---- snapshots ---- */

static void snapshot(const struct target *t, struct target_status *out)
{
    *out = t->st;
    snprintf(out->kind, sizeof out->kind, "%s", t->kind->ops->name);
    snprintf(out->name, sizeof out->name, "%s", t->name);
    snprintf(out->address, sizeof out->address, "%s", t->address ? t->address : "");
    snprintf(out->module, sizeof out->module, "%s", t->module ? t->module : "");
    out->enabled = t->enabled;
    out->passive = t->kind->ops->passive;
    out->interval_ms = t->interval_ms;
    out->lease_interval_ms = run_interval_ms(t, time_mono_ns()) < t->interval_ms ? t->lease_ms : 0;
}

int targets_get(struct targets *m, const char *kind, const char *name, struct target_status *out)
{
    pthread_mutex_lock(&m->mu);
    long i = find(m, kind, name);
    if (i >= 0)
        snapshot(m->t[i], out);
    pthread_mutex_unlock(&m->mu);
    return i >= 0 ? 0 : TIDE_ENOTFOUND;
}

int targets_list(struct targets *m, const char *kind, struct target_status **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&m->mu);
    struct target_status *v = m->nt ? malloc(m->nt * sizeof *v) : NULL;
    if (m->nt && v == NULL) {
        pthread_mutex_unlock(&m->mu);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->nt; i++)
        if (!m->t[i]->removed && (kind == NULL || strcmp(m->t[i]->kind->ops->name, kind) == 0))
            snapshot(m->t[i], &v[k++]);
    pthread_mutex_unlock(&m->mu);
    *out = v;
    *n = k;
    return 0;
}

/* ---- persistence of passive targets ---- */

static int persist_save_locked(struct targets *m, const struct kind_reg *k)
{
    const char *path = NULL;
    for (size_t i = 0; i < m->npersist; i++)
        if (m->persist[i].kind == k)
            path = m->persist[i].path;
    if (path == NULL)
        return 0;
    struct buf b;
    buf_init(&b, 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->nt; i++)
        if (m->t[i]->kind == k && !m->t[i]->removed)
            rc = buf_printf(&b, "%s\t%lld\n", m->t[i]->name, (long long)m->t[i]->interval_ms);
    if (rc == 0)
        rc = fs_write_file_atomic(path, b.p ? b.p : "", b.len);
    buf_fini(&b);
    return rc;
}

int targets_persist(struct targets *m, const char *kind, const char *path, struct err *e)
{
    pthread_mutex_lock(&m->mu);
    const struct kind_reg *k = find_kind(m, kind);
    bool full = m->npersist == sizeof m->persist / sizeof m->persist[0];
    pthread_mutex_unlock(&m->mu);
    if (k == NULL || full)
        return ERR_INVAL(e, "targets: cannot persist kind %s", kind);
    char *text = NULL;
    size_t n = 0;
    int rc = fs_read_file(path, &text, &n);
    if (rc == -ENOENT) {
        text = NULL;
        rc = 0;
    }
    if (rc != 0)
        return ERR_SET(e, rc, "targets: read %s: %s", path, tide_strerror(rc));
    int line = 0;
    char *save = NULL;
    for (char *l = text ? strtok_r(text, "\n", &save) : NULL; rc == 0 && l;
         l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *tab = strchr(l, '\t');
        char *end = NULL;
        long long ms = tab ? strtoll(tab + 1, &end, 10) : 0;
        if (tab == NULL || end == tab + 1 || *end != 0 || ms < TARGETS_INTERVAL_MIN_MS ||
            ms > TARGETS_INTERVAL_MAX_MS) {
            rc = ERR_PARSE(e, line, 1, "%s: want \"name<TAB>interval_ms\"", path);
            break;
        }
        *tab = 0;
        struct target_spec s = {.kind = kind, .name = l, .interval_ms = ms};
        struct err ae = {0};
        rc = targets_add(m, &s, &ae);
        if (rc == TIDE_EINVAL && targets_set_interval(m, kind, l, ms) == 0)
            rc = 0; /* listed twice (or added before): the last line wins */
        if (rc != 0)
            ERR_PARSE(e, line, 1, "%s: %s", path, ae.msg);
    }
    free(text);
    if (rc != 0)
        return rc;
    pthread_mutex_lock(&m->mu);
    char *p = strdup(path);
    if (p != NULL)
        m->persist[m->npersist++] = (struct persist){k, p};
    pthread_mutex_unlock(&m->mu);
    return p ? 0 : ERR_SET(e, -ENOMEM, "targets: out of memory");
}

void targets_free(struct targets *m)
{
    if (m == NULL)
        return;
    targets_stop(m);
    /* Asynchronous runs may still be in flight after the stop, and their
     * done queues the target on the done list, linking it to the target
     * queued before. So every kind state is closed (no done after that)
     * before any target is freed. */
    for (size_t i = 0; i < m->nt; i++)
        close_state(m->t[i]);
    for (size_t i = 0; i < m->nt; i++)
        target_free(m->t[i]);
    free(m->t);
    free(m->due);
    for (size_t i = 0; i < m->npersist; i++)
        free(m->persist[i].path);
    pthread_cond_destroy(&m->cv);
    pthread_cond_destroy(&m->timer_cv);
    pthread_cond_destroy(&m->done);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* ---- self-metrics ---- */

void targets_collect(void *ctx, struct sm_out *o)
{
    struct targets *m = ctx;
    static const char *const states[] = {"unknown", "up", "down", "disabled"};
    uint64_t count[16][4] = {{0}};
    struct kind_reg k[16];
    pthread_mutex_lock(&m->mu);
    size_t nk = m->nkinds;
    memcpy(k, m->kinds, nk * sizeof k[0]);
    for (size_t i = 0; i < m->nt; i++) {
        const struct target *t = m->t[i];
        size_t ki = (size_t)(t->kind - m->kinds);
        count[ki][t->enabled ? (int)t->st.health : 3]++;
    }
    pthread_mutex_unlock(&m->mu);

    sm_family(o, "tide_targets", SM_GAUGE,
              "Collection targets by kind and state (unknown: not run yet; disabled: kept, "
              "not run).");
    for (size_t i = 0; i < nk; i++)
        for (int st = 0; st < 4; st++)
            sm_sample(o, (double)count[i][st], "kind", k[i].ops->name, "state", states[st], NULL);
    static const struct {
        const char *name, *help;
        size_t off;
    } fams[] = {
        {"tide_target_runs_total", "Collections run (or pushes seen), by target kind.",
         offsetof(struct kind_reg, runs)},
        {"tide_target_failures_total", "Collections that failed, by target kind.",
         offsetof(struct kind_reg, failures)},
        {"tide_target_runs_missed_total",
         "Scheduled collections skipped because the previous one or the worker pool was late.",
         offsetof(struct kind_reg, missed)},
        {"tide_target_samples_total", "Samples delivered by collections, by target kind.",
         offsetof(struct kind_reg, samples)},
        {"tide_target_stale_markers_total",
         "Stale markers written for series that disappeared, by target kind.",
         offsetof(struct kind_reg, stale)},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        sm_family(o, fams[f].name, SM_COUNTER, fams[f].help);
        for (size_t i = 0; i < nk; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&k[i] + fams[f].off, sizeof v);
            sm_sample(o, (double)v, "kind", k[i].ops->name, NULL);
        }
    }
}
