/* head_read.c: decoding a series' head samples for queries and head cuts.
 *
 * Decodes the sealed chunks and the open chunk (strictly increasing t), then
 * layers the ooo buffer over them with ooo_merge(): at equal t the ooo
 * sample wins, being the newer write (see ooo.c).
 * Invariant: the output is sorted with unique timestamps. The caller holds
 * whatever lock protects `h` (its stripe for active data, lock(read) for
 * frozen data) for the whole call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

static int reserve(struct sample **v, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    struct sample *nv = realloc(*v, nc * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

static int decode(const void *p, size_t len, uint32_t n, struct sample *out, size_t *k,
                  struct err *e)
{
    struct chunk_dec d;
    chunk_dec_init(&d, p, len, n);
    while (chunk_dec_next(&d)) {
        chunk_dec_at(&d, &out[*k].t_ms, &out[*k].v);
        (*k)++;
    }
    int rc = chunk_dec_err(&d);
    if (rc)
        return ERR_CORRUPT(e, "head chunk failed to decode");
    return 0;
}

int head_data_read(const struct head_data *h, struct sample **v, size_t *n, size_t *cap,
                   struct err *e)
{
    if (h->nsamples == 0)
        return 0;
    static const struct head_extra none;
    const struct head_extra *x = h->x ? h->x : &none;
    size_t nchunk = h->enc.n;
    for (uint32_t i = 0; i < x->nsealed; i++)
        nchunk += x->sealed[i].n;
    /* Chunk samples go after the ooo copy, so both fit one allocation. */
    size_t base = *n;
    int rc = reserve(v, cap, base + 2 * (nchunk + x->nooo));
    if (rc)
        return rc;
    struct sample *tmp = *v + base + nchunk + x->nooo;
    size_t k = 0;
    for (uint32_t i = 0; i < x->nsealed; i++) {
        rc = decode(x->sealed[i].p, x->sealed[i].len, x->sealed[i].n, tmp, &k, e);
        if (rc)
            return rc;
    }
    if (h->enc.n > 0) {
        rc = decode(h->open, h->open_len, h->enc.n, tmp, &k, e);
        if (rc)
            return rc;
    }
    if (x->nooo == 0) {
        memmove(*v + base, tmp, k * sizeof *tmp);
        *n = base + k;
        return 0;
    }
    /* Merge chunk samples (tmp) with ooo into v[base..]; the destination
     * never overtakes tmp since it writes at most k + nooo entries before it. */
    struct sample *o = *v + base;
    const struct sample *a = tmp, *b = x->ooo;
    size_t i = 0, j = 0, w = 0, na = k, nb = x->nooo;
    while (i < na && j < nb) {
        if (a[i].t_ms < b[j].t_ms) {
            o[w++] = a[i++];
        } else if (b[j].t_ms < a[i].t_ms) {
            o[w++] = b[j++];
        } else {
            o[w++] = b[j++];
            i++;
        }
    }
    while (i < na)
        o[w++] = a[i++];
    while (j < nb)
        o[w++] = b[j++];
    *n = base + w;
    return 0;
}
