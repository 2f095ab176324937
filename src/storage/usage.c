/* usage.c: storage_usage() and storage_count(), where the disk goes (per
 * job/instance and per tier) and what a cleanup would delete.
 *
 * storage_usage() walks the registry and every live block's index under
 * lock(read); it decodes nothing. A block's file size is split over its
 * series by their share of the compressed pages (block_series_info), the
 * WAL's size over the series by their head samples (evenly when the head
 * is empty), so the groups' bytes
 * add up to bytes_on_disk: an estimate, documented as such. Series are
 * grouped by the interned pointers of their job and instance values (equal
 * strings share one pointer). Rollup tiers add their own rows (tier.c).
 * storage_count() reads the samples through storage_select().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "storage/engine.h"
#include "storage/tier.h"

struct group_map {
    uint32_t *slots; /* group index + 1, 0 empty */
    uint32_t nslots; /* power of two */
};

/* The value of label name_id (an intern id, UINT32_MAX when the name was
 * never interned) of sr, or "". */
static struct strv label_of(const struct storage *s, const struct series *sr, uint32_t name_id)
{
    struct strv v = series_value_of(&s->intern, sr, name_id);
    return v.p ? v : (struct strv){"", 0};
}

static uint32_t ptr_hash(const void *a, const void *b)
{
    uint64_t x = (uint64_t)(uintptr_t)a * 0x9e3779b97f4a7c15ull;
    x ^= (uint64_t)(uintptr_t)b * 0xc2b2ae3d27d4eb4full;
    return (uint32_t)(x >> 32);
}

/* Index of the group of (job, instance), adding it. -1 on ENOMEM. */
static int64_t group_find(struct group_map *m, struct storage_usage *u, size_t *cap,
                          struct strv job, struct strv inst)
{
    if ((u->ngroups + 1) * 2 > m->nslots) {
        uint32_t ns = m->nslots ? m->nslots * 2 : 64;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return -1;
        for (size_t g = 0; g < u->ngroups; g++) {
            uint32_t h = ptr_hash(u->groups[g].job.p, u->groups[g].instance.p) & (ns - 1);
            while (sl[h])
                h = (h + 1) & (ns - 1);
            sl[h] = (uint32_t)g + 1;
        }
        free(m->slots);
        m->slots = sl;
        m->nslots = ns;
    }
    uint32_t h = ptr_hash(job.p, inst.p) & (m->nslots - 1);
    while (m->slots[h]) {
        struct storage_group_info *g = &u->groups[m->slots[h] - 1];
        if (g->job.p == job.p && g->instance.p == inst.p)
            return m->slots[h] - 1;
        h = (h + 1) & (m->nslots - 1);
    }
    if (u->ngroups == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct storage_group_info *v = realloc(u->groups, nc * sizeof *v);
        if (!v)
            return -1;
        u->groups = v;
        *cap = nc;
    }
    u->groups[u->ngroups] = (struct storage_group_info){
        .job = job, .instance = inst, .mint_ms = INT64_MAX, .maxt_ms = INT64_MIN};
    m->slots[h] = (uint32_t)u->ngroups + 1;
    return (int64_t)u->ngroups++;
}

static int cmp_group(const void *a, const void *b)
{
    const struct storage_group_info *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    int c = strv_cmp(x->job, y->job);
    return c ? c : strv_cmp(x->instance, y->instance);
}

int storage_usage(struct storage *s, struct storage_usage *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->append_mu);
    uint64_t wal_bytes = wal_size_bytes(s->wal);
    pthread_mutex_unlock(&s->append_mu);

    struct group_map m = {0};
    size_t cap = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    uint32_t n = series_count(&s->reg);
    uint32_t *group_of = malloc((n ? n : 1) * sizeof *group_of);
    uint64_t *head = calloc(n ? n : 1, sizeof *head);
    if (!group_of || !head) {
        rc = -ENOMEM;
        goto unlock;
    }
    struct storage_tier_info raw = {.name = "raw",
                                    .retention_ms = s->o.policy ? policy_max_retention(s, -1)
                                                                : s->o.retention_ms,
                                    .mint_ms = INT64_MAX, .maxt_ms = INT64_MIN};
    uint64_t head_total = 0;
    const uint32_t job_id = intern_find(&s->intern, STRV_LIT("job"));
    const uint32_t inst_id = intern_find(&s->intern, STRV_LIT("instance"));
    for (uint32_t id = 0; id < n; id++) {
        struct series *sr = series_get(&s->reg, id);
        int64_t a = atomic_load_explicit(&sr->mint, memory_order_relaxed);
        int64_t b = atomic_load_explicit(&sr->maxt, memory_order_relaxed);
        int64_t g = group_find(&m, out, &cap, label_of(s, sr, job_id),
                               label_of(s, sr, inst_id));
        if (g < 0) {
            rc = -ENOMEM;
            goto unlock;
        }
        group_of[id] = (uint32_t)g;
        pthread_mutex_t *mu = storage_stripe(s, id);
        pthread_mutex_lock(mu);
        uint64_t hs = sr->head.nsamples;
        pthread_mutex_unlock(mu);
        const struct head_data *frozen = series_frozen(s, id);
        if (frozen)
            hs += frozen->nsamples;
        head[id] = hs;
        head_total += hs;
        struct storage_group_info *gi = &out->groups[g];
        gi->samples += hs;
        if (a <= b) {
            gi->series++;
            raw.series++;
            gi->mint_ms = a < gi->mint_ms ? a : gi->mint_ms;
            gi->maxt_ms = b > gi->maxt_ms ? b : gi->maxt_ms;
            raw.mint_ms = a < raw.mint_ms ? a : raw.mint_ms;
            raw.maxt_ms = b > raw.maxt_ms ? b : raw.maxt_ms;
        }
    }
    raw.samples = head_total;
    raw.bytes = wal_bytes;
    /* The WAL by head samples; with an empty head it holds series records
     * only, split evenly over the series with data. */
    for (uint32_t id = 0; id < n && head_total > 0; id++)
        out->groups[group_of[id]].bytes +=
            (uint64_t)((double)wal_bytes * (double)head[id] / (double)head_total);
    for (size_t g = 0; g < out->ngroups && head_total == 0 && raw.series > 0; g++)
        out->groups[g].bytes +=
            (uint64_t)((double)wal_bytes * (double)out->groups[g].series / (double)raw.series);
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct db_block *db = &s->blocks[i];
        const struct block_meta *bm = block_meta(db->b);
        uint64_t est_total = 0;
        for (uint32_t j = 0; j < db->nsids; j++) {
            uint64_t ns, by;
            block_series_info(db->b, db->sids[2 * j + 1], &ns, &by);
            est_total += by;
        }
        for (uint32_t j = 0; j < db->nsids; j++) {
            uint64_t ns, by;
            block_series_info(db->b, db->sids[2 * j + 1], &ns, &by);
            struct storage_group_info *gi = &out->groups[group_of[db->sids[2 * j]]];
            gi->samples += ns;
            if (est_total > 0)
                gi->bytes += (uint64_t)((double)bm->bytes * (double)by / (double)est_total);
        }
        raw.samples += bm->nsamples;
        raw.bytes += bm->bytes;
    }
    if (raw.mint_ms > raw.maxt_ms)
        raw.mint_ms = raw.maxt_ms = 0;
unlock:
    pthread_rwlock_unlock(&s->lock);
    free(group_of);
    free(head);
    free(m.slots);
    if (rc == 0) {
        out->tiers = malloc(sizeof *out->tiers);
        if (!out->tiers)
            rc = -ENOMEM;
        else
            out->tiers[out->ntiers++] = raw;
    }
    if (rc == 0)
        rc = tier_usage(s, out);
    if (rc) {
        storage_usage_fini(out);
        return rc;
    }
    size_t k = 0;
    for (size_t g = 0; g < out->ngroups; g++) {
        struct storage_group_info *gi = &out->groups[g];
        if (gi->series == 0 && gi->samples == 0)
            continue;
        if (gi->mint_ms > gi->maxt_ms)
            gi->mint_ms = gi->maxt_ms = 0;
        out->groups[k++] = *gi;
    }
    out->ngroups = k;
    if (out->ngroups > 1)
        qsort(out->groups, out->ngroups, sizeof *out->groups, cmp_group);
    return 0;
}

void storage_usage_fini(struct storage_usage *u)
{
    free(u->groups);
    free(u->tiers);
    memset(u, 0, sizeof *u);
}

int storage_count(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                  int64_t maxt_ms, uint64_t *n_series, uint64_t *n_samples, struct err *e)
{
    *n_series = 0;
    *n_samples = 0;
    if (mint_ms > maxt_ms)
        return 0;
    struct storage_set *set;
    int rc = storage_select(s, m, nm, mint_ms, maxt_ms, &set, e);
    if (rc)
        return rc;
    while (rc == 0 && storage_set_next(set)) {
        const struct sample *v;
        size_t nv;
        rc = storage_set_samples(set, &v, &nv, e);
        if (rc == 0 && nv > 0) {
            (*n_series)++;
            *n_samples += nv;
        }
    }
    storage_set_free(set);
    return rc;
}
