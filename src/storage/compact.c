/* compact.c: merging a partition's blocks into one.
 *
 * Each head cut adds a block to the partitions it touched, and deletes leave
 * tombstones over blocks; compaction rewrites a partition into a single
 * block when it has more than one, or when a tombstone applies to one of its
 * blocks. Per series (labels_cmp order), the blocks' samples are layered by
 * increasing seq with ooo_merge(), so at equal t the newer write wins, and
 * tombstoned ranges are dropped as they are read. The new block gets a seq
 * above every existing one; the old blocks are then replaced under
 * lock(write), marked deleted and unref'ed (their files go with the last
 * ref), and the tombstones no live block needs are forgotten.
 * A partition that fails (a damaged block, ENOSPC) keeps its old blocks and
 * does not stop the others: compact_run() goes on, then returns the first
 * error with every failed partition named. A block found damaged (a page
 * that does not decode) is flagged, and its partition is left alone from
 * then on, so the same damage is reported once, not every minute; its
 * other series keep being served.
 * Invariant: runs under maint_mu, so no head cut adds a block to the
 * partition meanwhile and no other job removes the blocks it reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "storage/engine.h"

static int cmp_labels(const void *a, const void *b, void *ctx)
{
    const struct storage *s = ctx;
    const struct series *x = series_get(&s->reg, *(const uint32_t *)a);
    const struct series *y = series_get(&s->reg, *(const uint32_t *)b);
    return series_cmp(&s->intern, x, y);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

bool compact_has_tombstones(const struct storage *s, const struct db_block *db)
{
    for (size_t i = 0; i < s->ntombs; i++)
        if (s->tombs[i].max_seq >= db->seq && querier_block_find(db, s->tombs[i].sid) >= 0)
            return true;
    return false;
}

/* Merge blocks (sorted by seq, all of one partition), leaving out the
 * series drop[] marks (drop may be NULL). */
static int compact_partition(struct storage *s, const struct db_block *bs, size_t nb,
                             const uint8_t *drop, uint32_t ndrop, size_t *dropped,
                             const struct block **damaged, struct err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < nb; i++)
        total += bs[i].nsids;
    uint32_t *ids = malloc((total ? total : 1) * sizeof *ids);
    if (!ids)
        return ERR_SET(e, -ENOMEM, "out of memory");
    size_t nids = 0;
    for (size_t i = 0; i < nb; i++)
        for (uint32_t j = 0; j < bs[i].nsids; j++)
            ids[nids++] = bs[i].sids[2 * j];
    qsort(ids, nids, sizeof *ids, cmp_u32);
    size_t k = 0, nd = 0;
    uint32_t prev = SERIES_NONE;
    for (size_t i = 0; i < nids; i++) {
        uint32_t id = ids[i];
        if (id == prev)
            continue; /* sorted: duplicates are adjacent */
        prev = id;
        if (drop && id < ndrop && drop[id])
            nd++;
        else
            ids[k++] = id;
    }
    nids = k;
    if (dropped)
        *dropped = nd;
    qsort_r(ids, nids, sizeof *ids, cmp_labels, s);

    int64_t partition = bs[0].partition;
    uint64_t seq = s->next_seq++;
    char *path = db_block_path(s, partition, seq);
    uint32_t *pairs = malloc((nids ? nids : 1) * 2 * sizeof *pairs);
    struct block_writer *w = NULL;
    struct block *nbk = NULL;
    struct sample *acc = NULL, *tmp = NULL, *mrg = NULL;
    size_t nacc = 0, capacc = 0, ntmp = 0, captmp = 0, nmrg = 0, capmrg = 0;
    struct label *lbuf = NULL; /* the current series' labels */
    size_t lcap = 0;
    uint32_t npairs = 0;
    int rc = 0;
    if (!path || !pairs) {
        rc = ERR_SET(e, -ENOMEM, "out of memory");
        goto out;
    }
    rc = block_writer_new(&w, path, e);
    if (rc)
        goto out;
    for (size_t i = 0; i < nids && rc == 0; i++) {
        nacc = 0;
        for (size_t b = 0; b < nb && rc == 0; b++) {
            ntmp = 0;
            pthread_rwlock_rdlock(&s->lock); /* tombstones */
            rc = querier_block_samples(s, &bs[b], ids[i], &tmp, &ntmp, &captmp, e);
            pthread_rwlock_unlock(&s->lock);
            if (rc == TIDE_ECORRUPT)
                *damaged = bs[b].b;
            if (rc || ntmp == 0)
                continue;
            rc = ooo_merge(acc, nacc, tmp, ntmp, &mrg, &nmrg, &capmrg);
            if (rc == 0) {
                struct sample *sw = acc;
                size_t cw = capacc;
                acc = mrg;
                capacc = capmrg;
                nacc = nmrg;
                mrg = sw;
                capmrg = cw;
            }
        }
        if (rc == 0 && nacc > 0) {
            const struct series *sr = series_get(&s->reg, ids[i]);
            rc = series_labels_buf(&s->intern, sr, &lbuf, &lcap);
            if (rc)
                rc = ERR_SET(e, rc, "out of memory");
            else
                rc = block_writer_add(w, lbuf, sr->nlabels, acc, nacc, e);
            pairs[2 * npairs] = ids[i];
            pairs[2 * npairs + 1] = npairs;
            npairs++;
        }
    }
    if (rc == 0 && npairs > 0) {
        rc = block_writer_finish(w, e);
        w = NULL;
        if (rc == 0)
            rc = block_open(&nbk, path, e);
    }
    if (rc)
        goto out;
    qsort(pairs, npairs, 2 * sizeof *pairs, cmp_u32);

    pthread_rwlock_wrlock(&s->lock);
    if (nbk) {
        rc = db_block_add(s, nbk, partition, seq, pairs, npairs);
        if (rc == 0) {
            nbk = NULL;
            pairs = NULL;
        }
    }
    if (rc == 0) {
        for (size_t b = 0; b < nb; b++)
            for (size_t i = 0; i < s->nblocks; i++)
                if (s->blocks[i].b == bs[b].b) {
                    db_block_remove_at(s, i);
                    break;
                }
        tombstone_prune(s);
    }
    pthread_rwlock_unlock(&s->lock);
    if (rc == 0)
        rc = tombstone_save(s, e);
    if (rc == 0)
        atomic_fetch_add_explicit(&s->compactions, 1, memory_order_relaxed);
out:
    if (w)
        block_writer_abort(w);
    if (nbk) {
        block_mark_deleted(nbk);
        block_unref(nbk);
    }
    free(acc);
    free(lbuf);
    free(tmp);
    free(mrg);
    free(pairs);
    free(path);
    free(ids);
    return rc;
}

/* Flag block b damaged in the live list. Caller holds maint_mu. */
static void flag_damaged(struct storage *s, const struct block *b)
{
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].b == b)
            s->blocks[i].damaged = true;
    pthread_rwlock_unlock(&s->lock);
}

int compact_run(struct storage *s, struct err *e)
{
    /* Pick the partitions under lock(read), then work without it: the block
     * list only changes under maint_mu, which the caller holds. */
    pthread_rwlock_rdlock(&s->lock);
    size_t nb = s->nblocks;
    struct db_block *copy = malloc((nb ? nb : 1) * sizeof *copy);
    if (!copy) {
        pthread_rwlock_unlock(&s->lock);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    if (nb > 0)
        memcpy(copy, s->blocks, nb * sizeof *copy);
    bool *tomb = calloc(nb ? nb : 1, sizeof *tomb);
    for (size_t i = 0; tomb && i < nb; i++)
        tomb[i] = compact_has_tombstones(s, &copy[i]);
    pthread_rwlock_unlock(&s->lock);
    if (!tomb) {
        free(copy);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    int rc = 0;
    size_t failed = 0;
    bool *done = calloc(nb ? nb : 1, sizeof *done);
    struct db_block *group = malloc((nb ? nb : 1) * sizeof *group);
    if (!done || !group)
        rc = ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < nb && rc != -ENOMEM; i++) {
        if (done[i])
            continue;
        size_t ng = 0;
        bool any_tomb = false, any_damaged = false;
        for (size_t j = i; j < nb; j++) {
            if (copy[j].partition != copy[i].partition)
                continue;
            done[j] = true;
            any_tomb |= tomb[j];
            any_damaged |= copy[j].damaged;
            group[ng++] = copy[j]; /* seq order kept */
        }
        if ((ng <= 1 && !any_tomb) || any_damaged)
            continue;
        const struct block *damaged = NULL;
        struct err pe = {0};
        int prc = compact_partition(s, group, ng, NULL, 0, NULL, &damaged, &pe);
        if (prc == 0)
            continue;
        if (damaged)
            flag_damaged(s, damaged);
        failed++;
        if (rc == 0) {
            rc = prc;
            if (damaged)
                ERR_SET(e, prc,
                        "partition %" PRId64 ": block %s is damaged (%s); this partition is no "
                        "longer compacted, its readable series are still served",
                        copy[i].partition, block_path(damaged), pe.msg);
            else
                ERR_SET(e, prc, "partition %" PRId64 ": %s", copy[i].partition,
                        pe.msg[0] ? pe.msg : tide_strerror(prc));
        }
    }
    if (failed > 1 && e)
        snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
                 " (and %zu more partitions failed)", failed - 1);
    free(done);
    free(group);
    free(tomb);
    free(copy);
    return rc;
}

int compact_rewrite(struct storage *s, int64_t partition, const uint8_t *drop, uint32_t nseries,
                    size_t *dropped, struct err *e)
{
    if (dropped)
        *dropped = 0;
    pthread_rwlock_rdlock(&s->lock);
    size_t ng = 0;
    struct db_block *group = malloc((s->nblocks ? s->nblocks : 1) * sizeof *group);
    bool damaged_any = false;
    for (size_t i = 0; group && i < s->nblocks; i++)
        if (s->blocks[i].partition == partition) {
            group[ng++] = s->blocks[i];
            damaged_any |= s->blocks[i].damaged;
        }
    pthread_rwlock_unlock(&s->lock);
    if (!group)
        return ERR_SET(e, -ENOMEM, "out of memory");
    int rc = 0;
    if (ng > 0 && !damaged_any) {
        const struct block *damaged = NULL;
        rc = compact_partition(s, group, ng, drop, nseries, dropped, &damaged, e);
        if (damaged)
            flag_damaged(s, damaged);
    }
    free(group);
    return rc;
}
