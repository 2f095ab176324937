/* head.c: life cycle of a series' in-memory samples (struct head_data):
 * init, free, the move a head cut makes from active to frozen, and the
 * physical removal a delete makes.
 *
 * The head sits between the WAL (which made the samples durable) and the
 * blocks (which a head cut writes them to). head_append.c adds samples,
 * head_read.c decodes them, ooo.c holds the out-of-order ones.
 * Invariant: `enc` describes the bytes of `open` (open_len bytes, enc.n
 * samples); an empty head has no open buffer and a fresh encoder.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

void head_data_init(struct head_data *h)
{
    memset(h, 0, sizeof *h);
    head_enc_reset(&h->enc);
}

void head_enc_reset(struct head_enc *he)
{
    struct buf none;
    buf_init(&none, 0);
    struct chunk_enc e;
    chunk_enc_init(&e, &none);
    *he = (struct head_enc){.t = e.t, .t_delta = e.t_delta, .v_bits = e.v_bits, .n = e.n,
                            .bit = e.bit, .lead = e.lead, .trail = e.trail};
}

void head_data_fini(struct head_data *h)
{
    if (h->x) {
        for (uint32_t i = 0; i < h->x->nsealed; i++)
            free(h->x->sealed[i].p);
        free(h->x->sealed);
        free(h->x->ooo);
        free(h->x);
    }
    free(h->open);
    memset(h, 0, sizeof *h);
}

void head_data_move(struct head_data *dst, struct head_data *src)
{
    *dst = *src;
    head_data_init(src);
}

int64_t head_data_mint(const struct head_data *h)
{
    const char *p = h->open;
    uint32_t len = h->open_len, n = h->enc.n;
    if (h->x && h->x->nsealed > 0) {
        p = h->x->sealed[0].p;
        len = h->x->sealed[0].len;
        n = h->x->sealed[0].n;
    }
    int64_t t = h->enc.t;
    if (n > 0)
        chunk_first_t(p, len, &t);
    if (h->x && h->x->nooo > 0 && h->x->ooo[0].t_ms < t)
        t = h->x->ooo[0].t_ms;
    return t;
}

uint32_t head_data_chunks(const struct head_data *h)
{
    return (h->x ? h->x->nsealed : 0) + (h->enc.n > 0);
}

int head_data_delete(struct head_data *h, int64_t mint_ms, int64_t maxt_ms, uint64_t *removed)
{
    *removed = 0;
    if (!head_data_overlaps(h, mint_ms, maxt_ms))
        return 0;
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    int rc = head_data_read(h, &v, &n, &cap, NULL);
    if (rc) {
        free(v);
        return rc;
    }
    uint32_t before = h->nsamples;
    struct head_data fresh;
    head_data_init(&fresh);
    for (size_t i = 0; i < n; i++) {
        if (v[i].t_ms >= mint_ms && v[i].t_ms <= maxt_ms)
            continue;
        bool ooo;
        rc = head_data_append(&fresh, v[i].t_ms, v[i].v, &ooo);
        if (rc) {
            head_data_fini(&fresh);
            free(v);
            return rc;
        }
    }
    free(v);
    head_data_fini(h);
    head_data_move(h, &fresh);
    head_data_fini(&fresh);
    *removed = before - h->nsamples;
    return 0;
}
