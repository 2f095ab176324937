/* ooo.c: out-of-order samples and the "newest write wins" merge.
 *
 * Essay. A Gorilla chunk only accepts timestamps greater than its last one,
 * so the head keeps every other sample (t <= last in-order t) in a small
 * sorted, uncompressed buffer per series. Such a sample is always written
 * after the chunk sample it may share a timestamp with (the chunk cannot
 * take that t any more), so at equal t the ooo sample wins; inside the
 * buffer an equal t replaces in place. The same rule layers the other
 * sources a read merges, oldest write first: blocks by increasing seq, the
 * frozen head of a cut in progress, the active head's chunks, its ooo
 * buffer. ooo_merge() is that layering step for two runs. A head cut
 * empties the buffer into blocks, so it never grows past one head span.
 * Invariant: buffers and merged runs are sorted by t with unique t.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

int ooo_insert(struct sample **buf, uint32_t *n, uint32_t *cap, int64_t t_ms, double v,
               bool *replaced)
{
    struct sample *b = *buf;
    uint32_t lo = 0, hi = *n;
    /* Out-of-order writes mostly land at the end: check it first. */
    if (hi > 0 && b[hi - 1].t_ms < t_ms) {
        lo = hi;
    } else {
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (b[mid].t_ms < t_ms)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < *n && b[lo].t_ms == t_ms) {
            b[lo].v = v;
            *replaced = true;
            return 0;
        }
    }
    *replaced = false;
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 8;
        struct sample *nb = realloc(b, nc * sizeof *nb);
        if (!nb)
            return -ENOMEM;
        *buf = b = nb;
        *cap = nc;
    }
    memmove(b + lo + 1, b + lo, (*n - lo) * sizeof *b);
    b[lo] = (struct sample){t_ms, v};
    (*n)++;
    return 0;
}

int ooo_merge(const struct sample *older, size_t n_old, const struct sample *newer, size_t n_new,
              struct sample **out, size_t *n, size_t *cap)
{
    size_t need = n_old + n_new;
    if (need > *cap) {
        size_t nc = *cap ? *cap : 64;
        while (nc < need)
            nc *= 2;
        struct sample *v = realloc(*out, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        *out = v;
        *cap = nc;
    }
    struct sample *o = *out;
    size_t i = 0, j = 0, k = 0;
    /* Runs from different partitions do not overlap: copy them whole. */
    if (n_old == 0 || n_new == 0 || older[n_old - 1].t_ms < newer[0].t_ms) {
        if (n_old > 0)
            memcpy(o, older, n_old * sizeof *o);
        if (n_new > 0)
            memcpy(o + n_old, newer, n_new * sizeof *o);
        *n = need;
        return 0;
    }
    /* Runs that overlap only at their edges (blocks cut while writers were
     * a little out of order): copy the older run's part before the newer
     * one starts, merge only the overlap, copy what is left. */
    size_t lo = 0, hi = n_old;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (older[mid].t_ms < newer[0].t_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        memcpy(o, older, lo * sizeof *o);
        i = k = lo;
    }
    while (i < n_old && j < n_new) {
        if (older[i].t_ms < newer[j].t_ms) {
            o[k++] = older[i++];
        } else if (newer[j].t_ms < older[i].t_ms) {
            o[k++] = newer[j++];
        } else {
            o[k++] = newer[j++];
            i++;
        }
    }
    if (i < n_old) {
        memcpy(o + k, older + i, (n_old - i) * sizeof *o);
        k += n_old - i;
    }
    if (j < n_new) {
        memcpy(o + k, newer + j, (n_new - j) * sizeof *o);
        k += n_new - j;
    }
    *n = k;
    return 0;
}
