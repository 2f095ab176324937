/* prom_matrix.c: the series of a query answer (prom_matrix.h), between the
 * engine's result (query/query.h) and the response body prom_query.c
 * sends.
 *
 * A 90-day chart at a 1 h step over 100 series is 216 100 points, about
 * 7 MB of JSON and a third of the query's CPU (the shortest digits of every
 * value). On a machine with a second core a big matrix is written by two
 * threads at once, in chunks of whole series claimed from both ends: the
 * calling thread writes chunks from the front straight into the response,
 * a helper thread (core/assist.h) chunks from the back into a buffer of its
 * own (a pooled body allocation, body_pool.h, so its pages are already
 * there), which the response sends after the caller's (http.h's splice:
 * no copy). A helper that has not started leaves everything to the
 * calling thread, and one that was preempted delays the answer by the
 * chunk it holds, not by half the answer: a loaded machine never waits
 * long for a thread. Every series is written by the same code
 * either way, so the bytes are the same as on one thread; only where they
 * are first written differs.
 */
#include "api/prom_matrix.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/body_pool.h"
#include "api/http.h"
#include "api/json.h"
#include "core/assist.h"

int prom_metric_append(struct buf *b, const struct query_series *s)
{
    int rc = buf_puts(b, "{\"metric\":{");
    for (size_t i = 0; i < s->nlabels && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == 0)
            rc = json_quote(b, s->labels[i].name.p, s->labels[i].name.n);
        if (rc == 0)
            rc = buf_putc(b, ':');
        if (rc == 0)
            rc = json_quote(b, s->labels[i].value.p, s->labels[i].value.n);
    }
    if (rc == 0)
        rc = buf_puts(b, "},");
    return rc;
}

/* Series s[a..z) of a matrix, each after a comma but the answer's first. */
static int series_range(struct buf *b, const struct query_series *s, size_t a, size_t z,
                        const struct prom_times *pt)
{
    int rc = 0;
    for (size_t i = a; i < z && rc == 0; i++) {
        if (i > 0)
            rc = buf_putc(b, ',');
        if (rc == 0)
            rc = prom_metric_append(b, &s[i]);
        if (rc == 0)
            rc = buf_puts(b, "\"values\":[");
        if (rc == 0)
            rc = prom_points_append(b, s[i].samples, s[i].nsamples, pt);
        if (rc == 0)
            rc = buf_puts(b, "]}");
    }
    return rc;
}

/* A big matrix is cut into chunks of whole series, about
 * PROM_MATRIX_CHUNK_POINTS points each. The calling thread claims chunks
 * from the front and writes them straight into the response, the helper
 * from the back into a buffer of its own (last chunk first); both claim
 * from one atomic word (front in the low half, back in the high), so no
 * chunk is taken twice, and they meet wherever the work put them. A helper
 * that never starts leaves every chunk to the caller; one that is
 * preempted holds up the answer by one chunk at most, not by half of it. */
#define PROM_MATRIX_CHUNK_POINTS 4096

struct chunks {
    const struct query_series *s;
    const struct prom_times *pt;
    size_t *first;          /* chunk c is series first[c] .. first[c + 1] - 1 */
    size_t n;               /* chunks */
    _Atomic uint64_t claim; /* chunks [0, front) and [back, n) taken: front | back << 32 */
};

/* Take the next chunk from the front (the caller) or the back (the
 * helper): its index, or SIZE_MAX when none is left. */
static size_t claim(struct chunks *ch, bool from_back)
{
    uint64_t w = atomic_load(&ch->claim);
    for (;;) {
        uint64_t front = w & UINT32_MAX, back = w >> 32;
        if (front >= back)
            return SIZE_MAX;
        uint64_t nw = from_back ? front | (back - 1) << 32 : (front + 1) | back << 32;
        if (atomic_compare_exchange_weak(&ch->claim, &w, nw))
            return (size_t)(from_back ? back - 1 : front);
    }
}

/* The helper's share: chunks from the back, each written into out after
 * the one before it (so in reverse order); off[c], len[c] say where. */
struct helper {
    struct chunks *ch;
    struct buf out;
    size_t *off, *len;
    size_t lowest; /* the first chunk it wrote (ch->n when none) */
    int rc;
};

static void helper_main(void *arg)
{
    struct helper *h = arg;
    struct chunks *ch = h->ch;
    size_t c;
    while (h->rc == 0 && (c = claim(ch, true)) != SIZE_MAX) {
        h->off[c] = h->out.len;
        h->rc = series_range(&h->out, ch->s, ch->first[c], ch->first[c + 1], ch->pt);
        h->len[c] = h->out.len - h->off[c];
        h->lowest = c;
    }
}

/* Cut s[0..n) into chunks (ch->first, ch->n): 0, or 1 when the matrix is
 * too small to split, or -ENOMEM. */
static int cut(struct chunks *ch, const struct query_series *s, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s[i].nsamples;
    if (n < 2 || total < PROM_MATRIX_SPLIT_POINTS)
        return 1;
    size_t max = total / PROM_MATRIX_CHUNK_POINTS + 2;
    if (max > n + 1)
        max = n + 1;
    if (max >= UINT32_MAX)
        max = UINT32_MAX - 1; /* chunk indices fit the claim word's halves */
    ch->first = malloc((max + 1) * sizeof *ch->first);
    if (ch->first == NULL)
        return -ENOMEM;
    size_t nc = 0, acc = 0;
    ch->first[0] = 0;
    for (size_t i = 0; i < n; i++) {
        acc += s[i].nsamples;
        if (acc >= PROM_MATRIX_CHUNK_POINTS && i + 1 < n && nc + 2 < max) {
            ch->first[++nc] = i + 1;
            acc = 0;
        }
    }
    ch->first[++nc] = n;
    ch->n = nc;
    if (nc < 2) {
        free(ch->first);
        ch->first = NULL;
        return 1;
    }
    return 0;
}

/* The helper's chunks [h->lowest, n), in order, handed over as sp's
 * pieces at b's end (nothing when it wrote none). */
static int splice_helper(struct buf *b, struct helper *h, size_t n, struct http_splice *sp)
{
    if (h->lowest >= n)
        return 0;
    size_t bytes = 0;
    for (size_t c = h->lowest; c < n; c++)
        bytes += h->len[c];
    if (b->max != 0 && (bytes > b->max || b->len > b->max - bytes))
        return TIDE_ELIMIT; /* as buf_append() of the whole would */
    struct http_piece *pc = malloc((n - h->lowest) * sizeof *pc);
    if (pc == NULL)
        return -ENOMEM;
    for (size_t c = h->lowest; c < n; c++)
        pc[c - h->lowest] = (struct http_piece){h->off[c], h->len[c]};
    size_t len;
    *sp = (struct http_splice){.buf = buf_take(&h->out, &len), .pieces = pc,
                               .npieces = n - h->lowest, .at = b->len};
    if (b->max != 0)
        b->max -= bytes; /* what follows in b counts them */
    return 0;
}

int prom_matrix_append(struct buf *b, const struct query_series *s, size_t n,
                       const struct prom_times *pt, struct http_splice *sp)
{
    int rc = buf_putc(b, '[');
    if (rc != 0)
        return rc;
    struct chunks ch = {.s = s, .pt = pt};
    int cr = cut(&ch, s, n);
    if (cr != 0) {
        /* Small (or no memory to cut it): all here. */
        rc = series_range(b, s, 0, n, pt);
        return rc == 0 ? buf_putc(b, ']') : rc;
    }
    atomic_init(&ch.claim, (uint64_t)ch.n << 32);
    struct helper h = {.ch = &ch, .lowest = ch.n};
    struct assist *as = NULL;
    h.off = malloc(2 * ch.n * sizeof *h.off);
    if (h.off != NULL) {
        h.len = h.off + ch.n;
        buf_init(&h.out, b->max);
        body_pool_take(&h.out);
        (void)assist_start(&as, helper_main, &h); /* NULL: all here */
    }
    size_t c;
    while (rc == 0 && (c = claim(&ch, false)) != SIZE_MAX)
        rc = series_range(b, s, ch.first[c], ch.first[c + 1], pt);
    if (as != NULL) {
        (void)assist_take(as); /* a helper that never started: nothing is left for it */
        assist_finish(as);     /* else wait for the chunk it is on */
    }
    if (rc == 0 && h.rc != 0)
        rc = h.rc;
    /* The caller wrote chunks [0, lowest) in place; the helper's follow. */
    if (rc == 0)
        rc = splice_helper(b, &h, ch.n, sp);
    if (h.out.p != NULL) {
        size_t len;
        body_pool_release(buf_take(&h.out, &len));
    }
    free(h.off);
    free(ch.first);
    if (rc == 0)
        rc = buf_putc(b, ']');
    if (rc != 0)
        http_splice_release(sp);
    return rc;
}
