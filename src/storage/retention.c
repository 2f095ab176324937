/* retention.c: dropping data once it falls out of retention.
 *
 * A partition [start, start + partition_ms) is dropped whole when its end
 * is at or before now - R, R the longest retention any series has (the
 * global retention_ms and every retention rule's): its blocks leave the
 * live list under lock(write), are marked deleted and unref'ed (files go
 * with the last ref), and its directory is removed. With retention rules
 * (retention_rules.c), a partition whose end is past the retention of some
 * of its series is rewritten without them (compact_rewrite: the new block
 * is in place before the old ones go, so a crash loses nothing; at worst
 * the dropped series come back until the next run). Series keep their
 * registry entry until the next restart, but their time range is narrowed
 * so queries skip them. Rollup tiers expire in tier.c.
 * Invariant: runs under maint_mu; a retention of 0 keeps everything.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "storage/engine.h"

/* Narrow series sr after its data before `keep` was dropped. Caller holds
 * lock(write). */
static void narrow_to(struct storage *s, uint32_t id, int64_t keep)
{
    struct series *sr = series_get(&s->reg, id);
    if (atomic_load(&sr->mint) >= keep)
        return;
    pthread_mutex_t *mu = storage_stripe(s, id);
    pthread_mutex_lock(mu);
    if (sr->head.nsamples > 0 && head_data_mint(&sr->head) < keep)
        keep = head_data_mint(&sr->head);
    pthread_mutex_unlock(mu);
    if (atomic_load(&sr->maxt) < keep) {
        atomic_store(&sr->mint, INT64_MAX);
        atomic_store(&sr->maxt, INT64_MIN);
    } else {
        atomic_store(&sr->mint, keep);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Rewrite the partitions holding series whose own rule has expired them. */
static int drop_by_rule(struct storage *s, int64_t now_ms, struct err *e)
{
    int64_t minr = policy_min_retention(s, -1);
    if (minr <= 0)
        return 0;
    int64_t cutoff = now_ms - minr;
    uint32_t n = series_count(&s->reg);
    int64_t *parts = NULL;
    size_t nparts = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct db_block *db = &s->blocks[i];
        if (db->partition + s->o.partition_ms > cutoff)
            continue;
        bool seen = false;
        for (size_t j = 0; j < nparts; j++)
            seen |= parts[j] == db->partition;
        if (!seen) {
            int64_t *np = realloc(parts, (nparts + 1) * sizeof *np);
            if (!np)
                break;
            parts = np;
            parts[nparts++] = db->partition;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    if (nparts == 0) {
        free(parts);
        return 0;
    }
    qsort(parts, nparts, sizeof *parts, cmp_i64);
    uint8_t *drop = malloc(n ? n : 1);
    int32_t *rule = malloc((n ? n : 1) * sizeof *rule);
    if (!drop || !rule) {
        free(drop);
        free(rule);
        free(parts);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    for (uint32_t id = 0; id < n; id++)
        rule[id] = -2; /* not looked up yet */
    int rc = 0;
    size_t failed = 0;
    for (size_t p = 0; p < nparts; p++) {
        int64_t end = parts[p] + s->o.partition_ms;
        memset(drop, 0, n ? n : 1);
        bool any = false;
        pthread_rwlock_rdlock(&s->lock);
        for (size_t i = 0; i < s->nblocks; i++) {
            const struct db_block *db = &s->blocks[i];
            if (db->partition != parts[p])
                continue;
            for (uint32_t j = 0; j < db->nsids; j++) {
                uint32_t sid = db->sids[2 * j];
                if (sid >= n || drop[sid])
                    continue;
                if (rule[sid] == -2)
                    rule[sid] = (int32_t)policy_rule_of(s, series_get(&s->reg, sid));
                int64_t ret = policy_retention(s, rule[sid], -1);
                if (ret > 0 && end <= now_ms - ret) {
                    drop[sid] = 1;
                    any = true;
                }
            }
        }
        pthread_rwlock_unlock(&s->lock);
        if (!any)
            continue;
        struct err pe = {0};
        int prc = compact_rewrite(s, parts[p], drop, n, NULL, &pe);
        if (prc) {
            if (failed++ == 0)
                rc = ERR_SET(e, prc, "partition %" PRId64 ": %s", parts[p], pe.msg);
            continue;
        }
        pthread_rwlock_wrlock(&s->lock);
        for (uint32_t id = 0; id < n; id++)
            if (drop[id])
                narrow_to(s, id, end);
        tombstone_prune(s);
        pthread_rwlock_unlock(&s->lock);
    }
    free(drop);
    free(rule);
    free(parts);
    return rc;
}

static int drop_partitions(struct storage *s, int64_t now_ms, struct err *e)
{
    int64_t maxr = s->o.policy ? policy_max_retention(s, -1) : s->o.retention_ms;
    if (maxr <= 0)
        return 0;
    int64_t cutoff = now_ms - maxr;
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
        for (uint32_t id = 0; id < n; id++)
            narrow_to(s, id, dropped_end);
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

int retention_run(struct storage *s, int64_t now_ms, struct err *e)
{
    int rc = drop_partitions(s, now_ms, e);
    if (s->o.policy && s->o.policy->nrules > 0) {
        struct err re = {0};
        int rrc = drop_by_rule(s, now_ms, &re);
        if (rc == 0 && rrc != 0) {
            rc = rrc;
            if (e)
                *e = re;
        }
    }
    return rc;
}
