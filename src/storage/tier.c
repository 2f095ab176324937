/* tier.c: rollup tiers: computing them at compaction, their files, their
 * retention, reading them back stitched with raw data, and their stats.
 *
 * Computing (tier_run, after compaction, under maint_mu): a partition with
 * exactly one live raw block (no tombstone over it, not damaged) whose tier
 * files are missing or were computed from another block gets them (re)made:
 * each series of the block is decoded once and rolled up for every tier
 * (rollup.c), each tier into its own block file written to a temporary name,
 * fsync'ed and renamed (block_writer), then swapped in under lock(write);
 * the superseded file goes with its last reference. So out-of-order writes,
 * backfill and deletes, which all end in a new raw block at the next head
 * cut or compaction, are rolled up again, and a SIGKILL at any point leaves
 * either the old file or the new one, never half of one (a leftover *.tmp
 * is removed at open, and of two files for one partition the one from the
 * newer raw block wins).
 *
 * Reading them back is tier_read.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "storage/engine.h"
#include "storage/format.h"
#include "storage/tier.h"

static size_t ntiers(const struct storage *s)
{
    return s->o.policy ? s->o.policy->ntiers : 0;
}

static const struct storage_tier_spec *spec(const struct storage *s, int t)
{
    return &s->o.policy->tiers[t];
}

int storage_tier_find(struct storage *s, const char *name)
{
    for (size_t t = 0; t < ntiers(s); t++)
        if (strcmp(spec(s, (int)t)->name, name) == 0)
            return (int)t;
    return -1;
}

const char *storage_tier_name(struct storage *s, int tier)
{
    return tier >= 0 && (size_t)tier < ntiers(s) ? spec(s, tier)->name : "raw";
}

int64_t storage_tier_resolution(struct storage *s, int tier)
{
    return tier >= 0 && (size_t)tier < ntiers(s) ? spec(s, tier)->resolution_ms : 0;
}

int storage_tier_for(struct storage *s, const int64_t *d, size_t n)
{
    for (size_t t = ntiers(s); t-- > 0;) {
        int64_t res = spec(s, (int)t)->resolution_ms;
        size_t i = 0;
        while (i < n && (d[i] == 0 || d[i] % res == 0))
            i++;
        if (i == n)
            return (int)t;
    }
    return -1;
}

static char *tier_path(const struct storage *s, int t, int64_t partition, uint64_t seq,
                       const char *ext)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s/%" PRId64 "-%08" PRIu64 "%s", s->tiers_dir, spec(s, t)->name,
                 partition, seq, ext) < 0)
        return NULL;
    return p;
}

static int cmp_pair(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* (sid, index) pairs of b's series, sorted by sid; series unknown to the
 * registry are created when `create` (at open), else left out. */
static int map_series(struct storage *s, struct block *b, bool create, uint32_t **out,
                      uint32_t *nout)
{
    const struct block_meta *bm = block_meta(b);
    uint32_t *v = malloc((bm->nseries ? bm->nseries : 1) * 2 * sizeof *v);
    if (!v)
        return -ENOMEM;
    uint32_t k = 0;
    if (!create)
        pthread_rwlock_rdlock(&s->lock);
    for (uint64_t i = 0; i < bm->nseries; i++) {
        const struct label *ls;
        size_t n;
        block_series_labels(b, i, &ls, &n);
        uint64_t h = labels_hash(ls, n);
        uint32_t sid = series_lookup(&s->reg, h, ls, n);
        if (sid == SERIES_NONE && create) {
            int rc = series_create(s, ls, n, h, &sid);
            if (rc) {
                free(v);
                return rc;
            }
        }
        if (sid == SERIES_NONE)
            continue;
        v[2 * k] = sid;
        v[2 * k + 1] = (uint32_t)i;
        k++;
    }
    if (!create)
        pthread_rwlock_unlock(&s->lock);
    qsort(v, k, 2 * sizeof *v, cmp_pair);
    *out = v;
    *nout = k;
    return 0;
}

int64_t tier_part_find(const struct tier_state *ts, int64_t partition)
{
    size_t lo = 0, hi = ts->nparts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts->parts[mid].partition < partition)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ts->nparts && ts->parts[lo].partition == partition ? (int64_t)lo : -1;
}

static void part_release(struct tier_part *p)
{
    block_mark_deleted(p->b);
    block_unref(p->b);
    free(p->sids);
}

/* Put np in place of the tier's part for its partition (the old one, if
 * any, is handed back in *old with old->b set). Caller holds lock(write). */
static int part_put(struct tier_state *ts, struct tier_part np, struct tier_part *old)
{
    old->b = NULL;
    int64_t i = tier_part_find(ts, np.partition);
    if (i >= 0) {
        *old = ts->parts[i];
        ts->parts[i] = np;
        return 0;
    }
    if (ts->nparts == ts->cap) {
        size_t nc = ts->cap ? ts->cap * 2 : 16;
        struct tier_part *v = realloc(ts->parts, nc * sizeof *v);
        if (!v)
            return -ENOMEM;
        ts->parts = v;
        ts->cap = nc;
    }
    size_t at = ts->nparts;
    while (at > 0 && ts->parts[at - 1].partition > np.partition)
        at--;
    memmove(&ts->parts[at + 1], &ts->parts[at], (ts->nparts - at) * sizeof *ts->parts);
    ts->parts[at] = np;
    ts->nparts++;
    return 0;
}

/* ---- open / close ---- */

struct found {
    int64_t partition;
    uint64_t seq;
};

static int load_tier(struct storage *s, int t, struct err *e)
{
    char *dir;
    if (asprintf(&dir, "%s/%s", s->tiers_dir, spec(s, t)->name) < 0)
        return ERR_SET(e, -ENOMEM, "out of memory");
    int rc = fs_mkdir_p(dir);
    DIR *d = rc ? NULL : opendir(dir);
    if (!d) {
        rc = ERR_SET(e, rc ? rc : -errno, "opening %s: %s", dir, tide_strerror(rc ? rc : -errno));
        free(dir);
        return rc;
    }
    struct found *f = NULL;
    size_t nf = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long long part;
        unsigned long long seq;
        char tail[12];
        if (sscanf(de->d_name, "%lld-%llu%11s", &part, &seq, tail) != 3)
            continue;
        if (strcmp(tail, ".blk.tmp") == 0) {
            char *p;
            if (asprintf(&p, "%s/%s", dir, de->d_name) >= 0) {
                unlink(p); /* a writer killed before its rename */
                free(p);
            }
            continue;
        }
        if (strcmp(tail, ".blk") != 0)
            continue;
        struct found *nv = realloc(f, (nf + 1) * sizeof *nv);
        if (!nv) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        f = nv;
        f[nf++] = (struct found){part, seq};
    }
    closedir(d);
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        /* Of two files for one partition, the newer raw block's wins. */
        bool superseded = false;
        for (size_t j = 0; j < nf; j++)
            superseded |= f[j].partition == f[i].partition && f[j].seq > f[i].seq;
        char *path = tier_path(s, t, f[i].partition, f[i].seq, ".blk");
        if (!path) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        if (superseded) {
            unlink(path);
            free(path);
            continue;
        }
        struct block *b;
        struct err be = {0};
        int brc = block_open(&b, path, &be);
        if (brc == TIDE_ECORRUPT) {
            /* Recomputed from raw data where it still exists. */
            db_quarantine(s, path, be.msg);
            free(path);
            continue;
        }
        if (brc) {
            rc = ERR_SET(e, brc, "%s: %s", path, be.msg);
            free(path);
            break;
        }
        free(path);
        struct tier_part np = {.partition = f[i].partition, .src_seq = f[i].seq, .b = b};
        struct tier_part old;
        rc = map_series(s, b, true, &np.sids, &np.nsids);
        if (rc == 0)
            rc = part_put(&s->tiers[t], np, &old);
        if (rc) {
            block_unref(b);
            free(np.sids);
            ERR_SET(e, rc, "loading tier %s: %s", spec(s, t)->name, tide_strerror(rc));
        }
    }
    free(f);
    free(dir);
    return rc;
}

int tier_load(struct storage *s, struct err *e)
{
    if (ntiers(s) == 0)
        return 0;
    if (asprintf(&s->tiers_dir, "%s/tiers", s->dir) < 0)
        return ERR_SET(e, -ENOMEM, "out of memory");
    int rc = fs_mkdir_p(s->tiers_dir);
    if (rc)
        return ERR_SET(e, rc, "creating %s: %s", s->tiers_dir, tide_strerror(rc));
    for (size_t t = 0; rc == 0 && t < ntiers(s); t++)
        rc = load_tier(s, (int)t, e);
    return rc;
}

void tier_free(struct storage *s)
{
    for (size_t t = 0; t < STORAGE_MAX_TIERS; t++) {
        struct tier_state *ts = &s->tiers[t];
        for (size_t i = 0; i < ts->nparts; i++) {
            block_unref(ts->parts[i].b);
            free(ts->parts[i].sids);
        }
        free(ts->parts);
        memset(ts, 0, sizeof *ts);
    }
    free(s->tiers_dir);
    s->tiers_dir = NULL;
}

/* ---- computing ---- */

struct raw_part {
    int64_t partition;
    struct db_block db;
};

/* Roll up one raw block into every tier that lacks it. */
static int roll_partition(struct storage *s, const struct raw_part *rp, const bool *need,
                          struct err *e)
{
    size_t nt = ntiers(s);
    struct block_writer *w[STORAGE_MAX_TIERS] = {0};
    char *path[STORAGE_MAX_TIERS] = {0};
    struct sample *raw = NULL, *enc = NULL;
    struct storage_rollup *ru = NULL;
    size_t nraw = 0, capraw = 0, capenc = 0, nru = 0, capru = 0;
    int rc = 0;
    for (size_t t = 0; t < nt && rc == 0; t++) {
        if (!need[t])
            continue;
        path[t] = tier_path(s, (int)t, rp->partition, rp->db.seq, ".blk");
        rc = path[t] ? block_writer_new(&w[t], path[t], e) : ERR_SET(e, -ENOMEM, "out of memory");
    }
    const struct block_meta *bm = block_meta(rp->db.b);
    for (uint64_t i = 0; i < bm->nseries && rc == 0; i++) {
        nraw = 0;
        rc = block_series_samples(rp->db.b, i, &raw, &nraw, &capraw, e);
        const struct label *ls;
        size_t nls;
        block_series_labels(rp->db.b, i, &ls, &nls);
        for (size_t t = 0; t < nt && rc == 0; t++) {
            if (!need[t])
                continue;
            nru = 0;
            int64_t res = spec(s, (int)t)->resolution_ms;
            rc = storage_rollup_compute(raw, nraw, res, &ru, &nru, &capru);
            rc = rc ? rc : rollup_encode(ru, nru, res, &enc, &capenc);
            if (rc == -ENOMEM)
                ERR_SET(e, rc, "out of memory");
            else if (rc == TIDE_ELIMIT)
                ERR_SET(e, rc, "samples too far from 1970 for a rollup tier");
            /* One chunk per field (equal chunks of nru samples: field
             * after field), so readers decode only the fields they need;
             * a series with few windows (or more than a chunk holds) keeps
             * the default chunks, which range reads serve too. */
            if (rc == 0 && nru > 0) {
                bool own = nru >= ROLLUP_CHUNK_MIN && nru <= BLOCK_CHUNK_SAMPLES;
                block_writer_set_chunk_samples(w[t], own ? nru : BLOCK_CHUNK_SAMPLES);
                rc = block_writer_add(w[t], ls, nls, enc, nru * ROLLUP_FIELDS, e);
            }
        }
    }
    struct tier_part np[STORAGE_MAX_TIERS] = {0};
    for (size_t t = 0; t < nt; t++) {
        if (!w[t])
            continue;
        if (rc == 0) {
            rc = block_writer_finish(w[t], e);
            w[t] = NULL;
            if (rc == 0)
                rc = block_open(&np[t].b, path[t], e);
            if (rc == 0) {
                np[t].partition = rp->partition;
                np[t].src_seq = rp->db.seq;
                rc = map_series(s, np[t].b, false, &np[t].sids, &np[t].nsids);
                if (rc == -ENOMEM)
                    ERR_SET(e, rc, "out of memory");
            }
        } else {
            block_writer_abort(w[t]);
            w[t] = NULL;
        }
    }
    if (rc == 0) {
        struct tier_part old[STORAGE_MAX_TIERS] = {0};
        pthread_rwlock_wrlock(&s->lock);
        for (size_t t = 0; t < nt && rc == 0; t++)
            if (np[t].b) {
                rc = part_put(&s->tiers[t], np[t], &old[t]);
                if (rc == 0)
                    np[t].b = NULL;
            }
        pthread_rwlock_unlock(&s->lock);
        for (size_t t = 0; t < nt; t++)
            if (old[t].b)
                part_release(&old[t]);
    }
    for (size_t t = 0; t < nt; t++) {
        if (np[t].b)
            part_release(&np[t]);
        free(path[t]);
    }
    free(raw);
    free(enc);
    free(ru);
    return rc;
}

/* Is tier t's retention past partition p at now_ms (so it is not rolled up)? */
static bool expired(struct storage *s, int t, int64_t p, int64_t now_ms)
{
    int64_t maxr = policy_max_retention(s, t);
    return now_ms > 0 && maxr > 0 && p + s->o.partition_ms <= now_ms - maxr;
}

int tier_run(struct storage *s, int64_t now_ms, struct err *e)
{
    size_t nt = ntiers(s);
    if (nt == 0)
        return 0;
    /* The partitions with one clean raw block, each block ref'd. */
    struct raw_part *rp = NULL;
    size_t nrp = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&s->lock);
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct db_block *db = &s->blocks[i];
        size_t same = 0;
        for (size_t j = 0; j < s->nblocks; j++)
            same += s->blocks[j].partition == db->partition;
        if (same != 1 || db->damaged || compact_has_tombstones(s, db))
            continue;
        bool stale = false;
        for (size_t t = 0; t < nt; t++) {
            int64_t k = tier_part_find(&s->tiers[t], db->partition);
            stale |= (k < 0 || s->tiers[t].parts[k].src_seq != db->seq) &&
                     !expired(s, (int)t, db->partition, now_ms);
        }
        if (!stale)
            continue;
        struct raw_part *v = realloc(rp, (nrp + 1) * sizeof *v);
        if (!v) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        rp = v;
        block_ref(db->b);
        rp[nrp++] = (struct raw_part){db->partition, *db};
    }
    pthread_rwlock_unlock(&s->lock);
    size_t failed = 0;
    for (size_t i = 0; i < nrp; i++) {
        bool need[STORAGE_MAX_TIERS] = {0};
        pthread_rwlock_rdlock(&s->lock);
        for (size_t t = 0; t < nt; t++) {
            int64_t k = tier_part_find(&s->tiers[t], rp[i].partition);
            need[t] = (k < 0 || s->tiers[t].parts[k].src_seq != rp[i].db.seq) &&
                      !expired(s, (int)t, rp[i].partition, now_ms);
        }
        pthread_rwlock_unlock(&s->lock);
        struct err pe = {0};
        int prc = rc == 0 ? roll_partition(s, &rp[i], need, &pe) : 0;
        if (prc && failed++ == 0)
            rc = ERR_SET(e, prc, "rolling up partition %" PRId64 ": %s", rp[i].partition,
                         pe.msg[0] ? pe.msg : tide_strerror(prc));
        block_unref(rp[i].db.b);
    }
    free(rp);
    return rc;
}

int tier_retention(struct storage *s, int64_t now_ms, struct err *e)
{
    (void)e;
    for (size_t t = 0; t < ntiers(s); t++) {
        int64_t maxr = policy_max_retention(s, (int)t);
        if (maxr <= 0)
            continue;
        int64_t cutoff = now_ms - maxr;
        struct tier_state *ts = &s->tiers[t];
        struct tier_part *gone = NULL;
        size_t ngone = 0;
        pthread_rwlock_wrlock(&s->lock);
        size_t k = 0;
        for (size_t i = 0; i < ts->nparts; i++) {
            if (ts->parts[i].partition + s->o.partition_ms <= cutoff) {
                struct tier_part *v = realloc(gone, (ngone + 1) * sizeof *v);
                if (v) {
                    gone = v;
                    gone[ngone++] = ts->parts[i];
                    continue;
                }
            }
            ts->parts[k++] = ts->parts[i];
        }
        ts->nparts = k;
        pthread_rwlock_unlock(&s->lock);
        for (size_t i = 0; i < ngone; i++)
            part_release(&gone[i]);
        free(gone);
    }
    return 0;
}

/* ---- stats ---- */

int tier_usage(struct storage *s, struct storage_usage *u)
{
    size_t nt = ntiers(s);
    if (nt == 0)
        return 0;
    struct storage_tier_info *v = realloc(u->tiers, (u->ntiers + nt) * sizeof *v);
    if (!v)
        return -ENOMEM;
    u->tiers = v;
    pthread_rwlock_rdlock(&s->lock);
    uint32_t nser = series_count(&s->reg);
    uint8_t *seen = calloc(nser ? nser : 1, 1);
    for (size_t t = 0; t < nt; t++) {
        const struct storage_tier_spec *sp = spec(s, (int)t);
        struct storage_tier_info ti = {.name = sp->name, .resolution_ms = sp->resolution_ms,
                                       .retention_ms = policy_max_retention(s, (int)t),
                                       .mint_ms = INT64_MAX, .maxt_ms = INT64_MIN};
        if (seen)
            memset(seen, 0, nser ? nser : 1);
        const struct tier_state *ts = &s->tiers[t];
        for (size_t i = 0; i < ts->nparts; i++) {
            const struct tier_part *tp = &ts->parts[i];
            const struct block_meta *bm = block_meta(tp->b);
            ti.samples += bm->nsamples / ROLLUP_FIELDS;
            ti.bytes += bm->bytes;
            if (bm->nsamples > 0) {
                int64_t a = rollup_ts_k(bm->mint_ms) * sp->resolution_ms;
                int64_t b = rollup_ts_k(bm->maxt_ms) * sp->resolution_ms +
                            sp->resolution_ms - 1;
                ti.mint_ms = a < ti.mint_ms ? a : ti.mint_ms;
                ti.maxt_ms = b > ti.maxt_ms ? b : ti.maxt_ms;
            }
            for (uint32_t j = 0; seen && j < tp->nsids; j++) {
                uint32_t sid = tp->sids[2 * j];
                if (sid < nser && !seen[sid]) {
                    seen[sid] = 1;
                    ti.series++;
                }
            }
        }
        if (ti.mint_ms > ti.maxt_ms)
            ti.mint_ms = ti.maxt_ms = 0;
        u->tiers[u->ntiers++] = ti;
    }
    pthread_rwlock_unlock(&s->lock);
    free(seen);
    return 0;
}
