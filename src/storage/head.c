/* head.c: life cycle of a series' in-memory samples (struct head_data):
 * init, free, the move a head cut makes from active to frozen, and the
 * physical removal a delete makes.
 *
 * The head sits between the WAL (which made the samples durable) and the
 * blocks (which a head cut writes them to). head_append.c adds samples,
 * head_read.c decodes them, ooo.c holds the out-of-order ones.
 * Invariant: enc.dst always points at this struct's own `open` buffer, so a
 * head_data is never copied with plain assignment (head_data_move fixes it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"

void head_data_init(struct head_data *h)
{
    memset(h, 0, sizeof *h);
    buf_init(&h->open, 0);
    chunk_enc_init(&h->enc, &h->open);
}

void head_data_fini(struct head_data *h)
{
    for (uint32_t i = 0; i < h->nsealed; i++)
        free(h->sealed[i].p);
    free(h->sealed);
    buf_fini(&h->open);
    free(h->ooo);
    memset(h, 0, sizeof *h);
}

void head_data_move(struct head_data *dst, struct head_data *src)
{
    *dst = *src;
    dst->enc.dst = &dst->open;
    memset(src, 0, sizeof *src);
    head_data_init(src);
}

uint32_t head_data_chunks(const struct head_data *h)
{
    return h->nsealed + (h->enc.n > 0);
}

int head_data_delete(struct head_data *h, int64_t mint_ms, int64_t maxt_ms, uint64_t *removed)
{
    *removed = 0;
    if (h->nsamples == 0 || maxt_ms < h->mint || mint_ms > h->maxt)
        return 0;
    struct sample *v = NULL;
    size_t n = 0, cap = 0;
    int rc = head_data_read(h, &v, &n, &cap, NULL);
    if (rc) {
        free(v);
        return rc;
    }
    uint64_t before = h->nsamples;
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
