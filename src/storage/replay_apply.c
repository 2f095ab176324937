/* replay_apply.c: the second stage of the WAL replay, the head appends,
 * shared between the replaying thread and worker threads.
 *
 * replay.c reads and decodes the WAL and binds series on the calling thread
 * (the registry, the intern table and the postings have one writer); the
 * samples and head deletions it finds are queued here by series. Series
 * are dealt to lanes in groups of 64 neighbours ((sid >> 6) % nunits, so no
 * two threads write one cache line): lane 0 is the replaying thread's own,
 * which it applies itself whenever a batch fills; lanes 1.. are the
 * workers', each with a ring of batches. A series always lands in the same
 * lane and a lane is applied by one thread, oldest batch first, so a
 * series' operations are applied in WAL order with no lock per sample, and
 * its chunks stay in one thread's malloc arena (two threads reallocating
 * chunks of one arena contend on its lock). Decoding a sample costs about
 * a third of an append, so the replaying thread keeps one unit of the
 * shares to every SHARE_WORKER units of a worker: on two CPUs a third of
 * the series. With no workers (one CPU) lane 0 has every series.
 * A lane's totals are written only by the thread applying it; the storage's
 * counters and head time range get their sum at finish.
 * The postings of the series the replay creates are added here too, all by
 * the first worker (the postings have one writer; ids arrive in increasing
 * order), from the series' interned pair ids, which never move once
 * published: creating a million series is the replay's longest stretch with
 * a worker idle, and the postings were an eighth of it.
 *
 * Hand-off to a worker: a ring of RING batches of BATCH operations. The
 * replaying thread fills the slot at `tail` in place and publishes it by
 * advancing `tail`; the worker applies the slot at `head` and frees it by
 * advancing `head`; head, tail, len[] and done are under the lane's mu.
 * The ring is deep (32 batches, 3 MiB) so that the decoding thread seldom
 * waits for room while it runs ahead of a worker: on a million-series WAL
 * the open took 1.60-1.72 s with it, 1.68-1.80 s with 8 batches of 2048.
 * Ownership: struct replay_apply and its lanes are allocated by
 * replay_apply_start() and freed by replay_apply_finish().
 */
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

#define BATCH 4096u
#define RING 32u
#define SHARE_WORKER 2u /* units of a worker; the replaying thread has one */

enum { OP_SAMPLE, OP_DELETE, OP_INDEX };

struct op {
    uint32_t sid;
    uint32_t kind;
    int64_t t_ms; /* the sample's time; OP_DELETE: the range's start; OP_INDEX: - */
    union {
        double v;        /* OP_SAMPLE */
        int64_t maxt_ms; /* OP_DELETE: the range's end */
    } u;
};

/* Three parts, on cache lines of their own: a field written at every
 * operation must not share a line with one the other thread reads then (a
 * worker's totals beside `tail` cost the replaying thread a miss at every
 * sample). */
struct lane {
    /* the replaying thread's: */
    struct replay_apply *a;
    struct op *ops;        /* RING * BATCH (lane 0: BATCH) */
    uint32_t fill;         /* operations in the slot being filled */
    uint32_t slot;         /* which: tail % RING, kept here by publish() so that
                              push() never reads tail, on the shared line */
    pthread_t thread;
    bool started;
    /* both threads', under mu: */
    alignas(64) pthread_mutex_t mu;
    pthread_cond_t more, room;
    uint32_t len[RING];    /* operations in each published slot */
    uint64_t head, tail;   /* slots applied / published */
    bool done;             /* nothing more will be published */
    /* the applying thread's: */
    alignas(64) struct replay_totals tot;
};

struct replay_apply {
    struct storage *s;
    unsigned nalloc;       /* lanes allocated: 1 + workers asked for */
    unsigned nlanes;       /* 1 + workers started: the lanes dealt series */
    unsigned nunits;       /* 1 + SHARE_WORKER * workers */
    struct lane *lanes;
    atomic_int failed;     /* the first error; later operations are skipped */
};

/* Add series sid to the postings: its label pairs were interned before it
 * was queued, and pairs never move once published. */
static int index_series(struct storage *s, uint32_t sid)
{
    const struct series *sr = series_get(&s->reg, sid);
    uint32_t n = sr->nlabels;
    if (n == 0)
        return 0;
    uint32_t stack[2 * 64], *ids = stack;
    if (n > 64 && !(ids = malloc(2 * (size_t)n * sizeof *ids)))
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        struct intern_pair p = intern_pair(&s->intern, sr->pids[k]);
        ids[k] = p.name;
        ids[n + k] = p.value;
    }
    int rc = postings_add(&s->postings, sid, ids, ids + n, n);
    if (ids != stack)
        free(ids);
    return rc;
}

static void apply_op(struct replay_apply *a, struct replay_totals *tot, const struct op *o)
{
    if (atomic_load_explicit(&a->failed, memory_order_relaxed))
        return;
    struct series *sr = series_get(&a->s->reg, o->sid);
    int rc;
    if (o->kind == OP_INDEX) {
        rc = index_series(a->s, o->sid);
    } else if (o->kind == OP_SAMPLE) {
        rc = head_append_replay(sr, o->t_ms, o->u.v, tot);
    } else {
        uint64_t removed;
        rc = head_data_delete(&sr->head, o->t_ms, o->u.maxt_ms, &removed);
        if (rc == 0) {
            tot->added -= (int64_t)removed; /* all head samples came from this replay */
            series_narrow(sr, o->t_ms, o->u.maxt_ms);
        }
    }
    if (rc) {
        int none = 0;
        atomic_compare_exchange_strong(&a->failed, &none, rc);
    }
}

/* Apply o[0..n). Each operation's memory is a cache miss (a series among
 * a million, its open chunk, the chunk's malloc header), so it is fetched
 * ahead: the series PF_SERIES operations ahead, the chunk PF_CHUNK ahead
 * (its pointer is in the series, fetched by then). */
#define PF_SERIES 16u
#define PF_CHUNK 8u
static void apply_batch(struct lane *l, const struct op *o, uint32_t n)
{
    struct replay_apply *a = l->a;
    const struct series_reg *reg = &a->s->reg;
    for (uint32_t i = 0; i < n; i++) {
        if (i + PF_SERIES < n) {
            const struct series *sr = series_get(reg, o[i + PF_SERIES].sid);
            __builtin_prefetch(sr, 1);
            __builtin_prefetch((const char *)sr + 64, 1);
        }
        if (i + PF_CHUNK < n) {
            const struct head_data *h = &series_get(reg, o[i + PF_CHUNK].sid)->head;
            if (h->open) {
                __builtin_prefetch(h->open - 16, 1);
                __builtin_prefetch(h->open + h->open_len, 1);
            }
        }
        apply_op(a, &l->tot, &o[i]);
    }
}

static void *worker_main(void *arg)
{
    struct lane *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->head == l->tail && !l->done)
            pthread_cond_wait(&l->more, &l->mu);
        if (l->head == l->tail)
            break;
        uint32_t slot = (uint32_t)(l->head % RING), n = l->len[slot];
        pthread_mutex_unlock(&l->mu);
        apply_batch(l, l->ops + (size_t)slot * BATCH, n);
        pthread_mutex_lock(&l->mu);
        l->head++;
        pthread_cond_signal(&l->room);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int replay_apply_start(struct replay_apply **out, struct storage *s, unsigned nworkers)
{
    *out = NULL;
    struct replay_apply *a = calloc(1, sizeof *a);
    /* sizeof (struct lane) is a multiple of its 64-byte alignment */
    if (!a || !(a->lanes = aligned_alloc(alignof(struct lane), (nworkers + 1) * sizeof *a->lanes))) {
        free(a);
        return -ENOMEM;
    }
    a->s = s;
    a->nalloc = nworkers + 1;
    for (unsigned i = 0; i <= nworkers; i++)
        a->lanes[i] = (struct lane){.a = a, .tot = {.mint = INT64_MAX, .maxt = INT64_MIN}};
    if (!(a->lanes[0].ops = malloc(BATCH * sizeof *a->lanes[0].ops))) {
        free(a->lanes);
        free(a);
        return -ENOMEM;
    }
    /* The workers that start share the series; none started leaves lane 0 all. */
    a->nlanes = 1;
    for (unsigned i = 1; i <= nworkers; i++) {
        struct lane *l = &a->lanes[i];
        if (!(l->ops = malloc((size_t)RING * BATCH * sizeof *l->ops)))
            break;
        pthread_mutex_init(&l->mu, NULL);
        pthread_cond_init(&l->more, NULL);
        pthread_cond_init(&l->room, NULL);
        if (pthread_create(&l->thread, NULL, worker_main, l) != 0)
            break; /* finish() frees what this lane holds */
        l->started = true;
        a->nlanes++;
    }
    a->nunits = 1 + SHARE_WORKER * (a->nlanes - 1);
    *out = a;
    return 0;
}

/* Publish the slot worker lane l's operations are filling; wait for room. */
static void publish(struct lane *l)
{
    pthread_mutex_lock(&l->mu);
    l->len[l->slot] = l->fill;
    l->tail++;
    l->slot = (uint32_t)(l->tail % RING);
    pthread_cond_signal(&l->more);
    while (l->tail - l->head >= RING)
        pthread_cond_wait(&l->room, &l->mu);
    pthread_mutex_unlock(&l->mu);
    l->fill = 0;
}

static int push(struct replay_apply *a, const struct op *o)
{
    uint32_t unit = (o->sid >> 6) % a->nunits;
    struct lane *l = &a->lanes[unit == 0 ? 0 : 1 + (unit - 1) / SHARE_WORKER];
    if (o->kind == OP_INDEX) /* the postings have one writer: the first worker */
        l = &a->lanes[a->nlanes > 1 ? 1 : 0];
    if (l == &a->lanes[0]) {
        l->ops[l->fill++] = *o;
        if (l->fill == BATCH) {
            apply_batch(l, l->ops, l->fill);
            l->fill = 0;
        }
    } else {
        l->ops[(size_t)l->slot * BATCH + l->fill++] = *o;
        if (l->fill == BATCH)
            publish(l);
    }
    return atomic_load_explicit(&a->failed, memory_order_relaxed);
}

int replay_apply_sample(struct replay_apply *a, uint32_t sid, int64_t t_ms, double v)
{
    return push(a, &(struct op){.sid = sid, .kind = OP_SAMPLE, .t_ms = t_ms, .u.v = v});
}

int replay_apply_delete(struct replay_apply *a, uint32_t sid, int64_t mint_ms, int64_t maxt_ms)
{
    return push(a, &(struct op){.sid = sid, .kind = OP_DELETE, .t_ms = mint_ms,
                                .u.maxt_ms = maxt_ms});
}

int replay_apply_index(struct replay_apply *a, uint32_t sid)
{
    return push(a, &(struct op){.sid = sid, .kind = OP_INDEX});
}

int replay_apply_finish(struct replay_apply *a, struct replay_totals *tot)
{
    struct lane *l0 = &a->lanes[0];
    apply_batch(l0, l0->ops, l0->fill);
    *tot = (struct replay_totals){.mint = INT64_MAX, .maxt = INT64_MIN};
    for (unsigned i = 0; i < a->nalloc; i++) {
        struct lane *l = &a->lanes[i];
        if (l->started) {
            if (l->fill)
                publish(l);
            pthread_mutex_lock(&l->mu);
            l->done = true;
            pthread_cond_signal(&l->more);
            pthread_mutex_unlock(&l->mu);
            pthread_join(l->thread, NULL);
        }
        if (i > 0 && l->ops) { /* its mutex and conds were made */
            pthread_mutex_destroy(&l->mu);
            pthread_cond_destroy(&l->more);
            pthread_cond_destroy(&l->room);
        }
        free(l->ops);
        tot->added += l->tot.added;
        tot->nooo += l->tot.nooo;
        if (l->tot.mint < tot->mint)
            tot->mint = l->tot.mint;
        if (l->tot.maxt > tot->maxt)
            tot->maxt = l->tot.maxt;
    }
    int rc = atomic_load(&a->failed);
    free(a->lanes);
    free(a);
    return rc;
}
