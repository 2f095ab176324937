/* body_pool.c: the memory of big response bodies, kept for the next ones
 * (body_pool.h), between http.c's handlers and MHD, which frees a body
 * once it is sent.
 *
 * Why: a 90-day chart's answer is about 7 MB. Allocated afresh, each of
 * its 1 700 pages faults in when first written (a tenth of the query's CPU
 * in a profile), and growing it by doubling copies it again. A freed body
 * of 1 MiB to 16 MiB is kept instead, up to BODY_POOL_MAX of them, pages
 * resident, and the next query answer writes into memory that is already
 * there. The cost is the resident memory: at most BODY_POOL_MAX x 16 MiB
 * while idle.
 *
 * Bodies are plain malloc() blocks: anything the pool does not keep is
 * free()d, and a pooled block's capacity is malloc_usable_size() (glibc).
 */
#include "api/body_pool.h"

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#define BODY_POOL_MAX 2
#define BODY_POOL_MIN_BYTES ((size_t)1 << 20)
#define BODY_POOL_BIG_BYTES ((size_t)16 << 20)

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static void *kept[BODY_POOL_MAX]; /* guarded by mu */
static size_t nkept;              /* guarded by mu */

void body_pool_take(struct buf *b)
{
    if (b->p != NULL)
        return;
    pthread_mutex_lock(&mu);
    void *p = nkept > 0 ? kept[--nkept] : NULL;
    pthread_mutex_unlock(&mu);
    if (p == NULL)
        return;
    size_t cap = malloc_usable_size(p) - 1; /* the NUL slot */
    if (b->max != 0 && cap > b->max)
        cap = b->max;
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->p[0] = 0;
}

void body_pool_release(void *p)
{
    if (p == NULL)
        return;
    size_t n = malloc_usable_size(p);
    /* A buffer that doubled to 16 MiB holds 16 MiB + 1 bytes (buf.h's
     * NUL), which malloc rounds up: kept too. */
    if (n >= BODY_POOL_MIN_BYTES && n <= BODY_POOL_BIG_BYTES + 4096) {
        pthread_mutex_lock(&mu);
        bool keep = nkept < BODY_POOL_MAX;
        if (keep)
            kept[nkept++] = p;
        pthread_mutex_unlock(&mu);
        if (keep)
            return;
    }
    free(p);
}

void body_pool_drain(void)
{
    pthread_mutex_lock(&mu);
    while (nkept > 0)
        free(kept[--nkept]);
    pthread_mutex_unlock(&mu);
}
