/* live_ring.c: the display-rate ring (see live_ring.h), between the commit
 * stage (live_commit.c, which offers it the points of watched hosts before
 * storage sees them) and the stream hub's evaluations (live_ring_overlay()).
 *
 * Layout: a fixed table of LIVE_RING_BUCKETS hash chains of series, each
 * keyed by its canonical label key (labels_key()) and holding a circular
 * array of LIVE_RING_POINTS samples (`head` the oldest, `n` held) plus the
 * time of the last point storage was given. Points are appended in time
 * order; the oldest fall off by count or by LIVE_RING_WINDOW_MS behind the
 * newest. A series whose last offer is LIVE_RING_WINDOW_MS old is freed by
 * the sweep the offers run about once a second, so a host no longer watched
 * leaves nothing behind a minute later.
 *
 * Invariant: a point left out of storage (store[i] false) is in the ring.
 */
#include "api/live_ring.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"

#define LIVE_RING_BUCKETS 8192 /* a power of two */
#define SWEEP_EVERY_NS 1000000000LL
#define KEY_STACK_BYTES 1024

struct rseries {
    uint64_t hash;
    char *key; /* labels_key() of the series, malloc'd */
    size_t keylen;
    struct sample pts[LIVE_RING_POINTS]; /* circular */
    size_t head, n;                      /* oldest at head, n held */
    int64_t last_stored_ms;              /* -1 = none yet */
    int64_t fed_ns;                      /* monotonic time of the last offer */
    struct rseries *next;                /* hash chain */
};

struct live_ring {
    pthread_mutex_t mu; /* guards everything below */
    struct rseries *buckets[LIVE_RING_BUCKETS];
    size_t nseries, npoints;
    uint64_t points_total, thinned_total, refused_series;
    int64_t swept_ns;
};

int live_ring_new(struct live_ring **out)
{
    *out = NULL;
    struct live_ring *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    r->swept_ns = time_mono_ns();
    *out = r;
    return 0;
}

void live_ring_free(struct live_ring *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < LIVE_RING_BUCKETS; i++) {
        while (r->buckets[i]) {
            struct rseries *s = r->buckets[i];
            r->buckets[i] = s->next;
            free(s->key);
            free(s);
        }
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* The canonical key of ls in `stack`, or malloc'd when it does not fit
 * (*heap set, the caller frees it). NULL on -ENOMEM. */
static const char *key_of(const struct label *ls, size_t nls, char *stack, size_t *len, char **heap)
{
    *heap = NULL;
    *len = labels_key(ls, nls, stack, KEY_STACK_BYTES);
    if (*len <= KEY_STACK_BYTES)
        return stack;
    *heap = malloc(*len);
    if (*heap == NULL)
        return NULL;
    labels_key(ls, nls, *heap, *len);
    return *heap;
}

/* The series of (hash, key), or NULL. mu held. */
static struct rseries *find(struct live_ring *r, uint64_t hash, const char *key, size_t len)
{
    for (struct rseries *s = r->buckets[hash & (LIVE_RING_BUCKETS - 1)]; s; s = s->next)
        if (s->hash == hash && s->keylen == len && memcmp(s->key, key, len) == 0)
            return s;
    return NULL;
}

static void sweep_locked(struct live_ring *r, int64_t mono_ns)
{
    int64_t cut = mono_ns - (int64_t)LIVE_RING_WINDOW_MS * 1000000;
    for (size_t i = 0; i < LIVE_RING_BUCKETS; i++) {
        for (struct rseries **pp = &r->buckets[i]; *pp;) {
            struct rseries *s = *pp;
            if (s->fed_ns >= cut) {
                pp = &s->next;
                continue;
            }
            *pp = s->next;
            r->nseries--;
            r->npoints -= s->n;
            free(s->key);
            free(s);
        }
    }
    r->swept_ns = mono_ns;
}

void live_ring_sweep(struct live_ring *r, int64_t mono_ns)
{
    pthread_mutex_lock(&r->mu);
    sweep_locked(r, mono_ns);
    pthread_mutex_unlock(&r->mu);
}

static const struct sample *newest(const struct rseries *s)
{
    return &s->pts[(s->head + s->n - 1) % LIVE_RING_POINTS];
}

/* Append one point (in time order), dropping the oldest by count and age. */
static void push(struct live_ring *r, struct rseries *s, int64_t t_ms, double v)
{
    if (s->n == LIVE_RING_POINTS) {
        s->head = (s->head + 1) % LIVE_RING_POINTS;
        s->n--;
        r->npoints--;
    }
    s->pts[(s->head + s->n) % LIVE_RING_POINTS] = (struct sample){t_ms, v};
    s->n++;
    r->npoints++;
    while (s->n > 1 && s->pts[s->head].t_ms < t_ms - LIVE_RING_WINDOW_MS) {
        s->head = (s->head + 1) % LIVE_RING_POINTS;
        s->n--;
        r->npoints--;
    }
}

static bool is_stale(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b == STALE_NAN_BITS;
}

/* The series of ls, made when need be and allowed (NULL past the cap or
 * out of memory). mu held. */
static struct rseries *get_series(struct live_ring *r, uint64_t hash, const char *key, size_t len)
{
    struct rseries *s = find(r, hash, key, len);
    if (s != NULL)
        return s;
    if (r->nseries >= LIVE_RING_MAX_SERIES) {
        r->refused_series++;
        return NULL;
    }
    s = calloc(1, sizeof *s);
    char *k = s ? malloc(len) : NULL;
    if (k == NULL) {
        free(s);
        return NULL;
    }
    memcpy(k, key, len);
    s->key = k;
    s->keylen = len;
    s->hash = hash;
    s->last_stored_ms = -1;
    s->fed_ns = time_mono_ns();
    s->next = r->buckets[hash & (LIVE_RING_BUCKETS - 1)];
    r->buckets[hash & (LIVE_RING_BUCKETS - 1)] = s;
    r->nseries++;
    return s;
}

void live_ring_prime(struct live_ring *r, const struct label *ls, size_t nls,
                     int64_t last_stored_ms)
{
    char stack[KEY_STACK_BYTES];
    char *heap;
    size_t len;
    const char *key = key_of(ls, nls, stack, &len, &heap);
    if (key == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    struct rseries *s = get_series(r, labels_hash(ls, nls), key, len);
    if (s != NULL && s->last_stored_ms < last_stored_ms)
        s->last_stored_ms = last_stored_ms;
    pthread_mutex_unlock(&r->mu);
    free(heap);
}

void live_ring_offer(struct live_ring *r, const struct label *ls, size_t nls,
                     const struct sample *v, size_t n, int64_t storage_ms, int64_t slack_ms,
                     bool *store)
{
    for (size_t i = 0; i < n; i++)
        store[i] = true;
    if (n == 0)
        return;
    char stack[KEY_STACK_BYTES];
    char *heap;
    size_t len;
    const char *key = key_of(ls, nls, stack, &len, &heap);
    if (key == NULL)
        return;
    uint64_t hash = labels_hash(ls, nls);
    int64_t now = time_mono_ns();
    pthread_mutex_lock(&r->mu);
    if (now - r->swept_ns >= SWEEP_EVERY_NS)
        sweep_locked(r, now);
    struct rseries *s = get_series(r, hash, key, len);
    if (s == NULL)
        goto out;
    s->fed_ns = now;
    int64_t gap = storage_ms - slack_ms;
    for (size_t i = 0; i < n; i++) {
        if (is_stale(v[i].v) || (s->n > 0 && v[i].t_ms <= newest(s)->t_ms))
            continue; /* stored, not ringed */
        push(r, s, v[i].t_ms, v[i].v);
        r->points_total++;
        if (s->last_stored_ms < 0 || v[i].t_ms - s->last_stored_ms >= gap) {
            s->last_stored_ms = v[i].t_ms;
        } else {
            store[i] = false;
            r->thinned_total++;
        }
    }
out:
    pthread_mutex_unlock(&r->mu);
    free(heap);
}

int live_ring_overlay(void *ctx, const struct label *ls, size_t nls, int64_t mint_ms,
                      int64_t maxt_ms, struct sample **v, size_t *nv)
{
    struct live_ring *r = ctx;
    char stack[KEY_STACK_BYTES];
    char *heap;
    size_t len;
    const char *key = key_of(ls, nls, stack, &len, &heap);
    if (key == NULL)
        return -ENOMEM;
    uint64_t hash = labels_hash(ls, nls);
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    struct rseries *s = find(r, hash, key, len);
    size_t k = 0, first = 0;
    if (s != NULL) {
        for (size_t i = 0; i < s->n; i++) {
            int64_t t = s->pts[(s->head + i) % LIVE_RING_POINTS].t_ms;
            if (t < mint_ms)
                first = i + 1;
            else if (t <= maxt_ms)
                k++;
        }
    }
    if (k > 0) {
        struct sample *old = *v;
        size_t nold = *nv;
        struct sample *m = malloc((nold + k) * sizeof *m);
        if (m == NULL) {
            rc = -ENOMEM;
        } else {
            size_t a = 0, b = 0, o = 0;
            while (a < nold || b < k) {
                const struct sample *rp =
                    b < k ? &s->pts[(s->head + first + b) % LIVE_RING_POINTS] : NULL;
                if (rp != NULL && (a == nold || rp->t_ms <= old[a].t_ms)) {
                    if (a < nold && old[a].t_ms == rp->t_ms)
                        a++; /* the ring's point stands for storage's */
                    m[o++] = *rp;
                    b++;
                } else {
                    m[o++] = old[a++];
                }
            }
            free(old);
            *v = m;
            *nv = o;
        }
    }
    pthread_mutex_unlock(&r->mu);
    free(heap);
    return rc;
}

void live_ring_stats(struct live_ring *r, struct live_ring_stats *out)
{
    pthread_mutex_lock(&r->mu);
    *out = (struct live_ring_stats){
        .series = r->nseries,
        .points = r->npoints,
        .points_total = r->points_total,
        .thinned_total = r->thinned_total,
        .refused_series = r->refused_series,
    };
    pthread_mutex_unlock(&r->mu);
}
