/* retention.c: dropping whole partitions once they fall out of retention.
 *
 * A partition [start, start + partition_ms) is dropped when its end is at or
 * before now - retention_ms: its blocks leave the live list under
 * lock(write), are marked deleted and unref'ed (files go with the last ref),
 * and its directory is removed. Series keep their registry entry until the
 * next restart, but their time range is narrowed so queries skip them.
 * Invariant: runs under maint_mu; retention_ms == 0 keeps everything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/engine.h"

int retention_run(struct storage *s, int64_t now_ms, struct err *e)
{
    if (s->o.retention_ms <= 0)
        return 0;
    int64_t cutoff = now_ms - s->o.retention_ms;
    int64_t dropped_end = INT64_MIN;
    int64_t *parts = NULL;
    size_t nparts = 0;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = s->nblocks; i-- > 0;) {
        const struct db_block *db = &s->blocks[i];
        int64_t end = db->partition + s->o.partition_ms;
        if (end > cutoff)
            continue;
        if (end > dropped_end)
            dropped_end = end;
        bool seen = false;
        for (size_t j = 0; j < nparts; j++)
            seen |= parts[j] == db->partition;
        if (!seen) {
            int64_t *np = realloc(parts, (nparts + 1) * sizeof *np);
            if (np) {
                parts = np;
                parts[nparts++] = db->partition;
            }
        }
        db_block_remove_at(s, i);
    }
    if (dropped_end != INT64_MIN) {
        tombstone_prune(s);
        uint32_t n = series_count(&s->reg);
        for (uint32_t id = 0; id < n; id++) {
            struct series *sr = series_get(&s->reg, id);
            if (atomic_load(&sr->mint) >= dropped_end)
                continue;
            int64_t keep = dropped_end;
            pthread_mutex_t *mu = storage_stripe(s, id);
            pthread_mutex_lock(mu);
            if (sr->head.nsamples > 0 && sr->head.mint < keep)
                keep = sr->head.mint;
            pthread_mutex_unlock(mu);
            if (atomic_load(&sr->maxt) < keep) {
                atomic_store(&sr->mint, INT64_MAX);
                atomic_store(&sr->maxt, INT64_MIN);
            } else {
                atomic_store(&sr->mint, keep);
            }
        }
    }
    pthread_rwlock_unlock(&s->lock);
    int rc = 0;
    for (size_t j = 0; j < nparts; j++) {
        char *dir;
        if (asprintf(&dir, "%s/%" PRId64, s->blocks_dir, parts[j]) >= 0) {
            rmdir(dir);
            free(dir);
        }
    }
    atomic_fetch_add_explicit(&s->partitions_dropped, nparts, memory_order_relaxed);
    if (nparts > 0)
        rc = tombstone_save(s, e);
    free(parts);
    return rc;
}
