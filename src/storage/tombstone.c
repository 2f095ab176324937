/* tombstone.c: storage_delete() and the tombstones it leaves for blocks.
 *
 * A delete removes the matching samples from the head at once (the head is
 * rewritten without them) and, for the blocks that hold some, records a
 * tombstone {series, [mint, maxt], max_seq}: it hides those samples from
 * every read of blocks with seq <= max_seq, i.e. of the blocks written
 * before the delete, so samples written after it stay visible. Compaction
 * rewrites the blocks without them and tombstone_prune() then forgets the
 * tombstones no live block needs.
 * Durability: a TOMBSTONE record in the WAL (fsync'ed before the call
 * returns) orders the delete among the appends for replay, and the file
 * DIR/blocks/tombstones (rewritten atomically) keeps block tombstones
 * across head cuts and restarts. Its layout:
 *   u32le magic "TDTS", u32le version 1,
 *   { uvarint nlabels, { bytes name, bytes value } x nlabels,
 *     varint mint, varint maxt, uvarint max_seq }*, u32le crc32 of all before.
 * Series are named by labels there, since ids are per process.
 * Invariant: s->tombs is sorted by sid; it changes under maint_mu + lock(write).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/hash.h"
#include "storage/engine.h"

#define TOMBSTONE_MAGIC 0x53544454u /* "TDTS" */
#define TOMBSTONE_VERSION 1u

static int cmp_tomb(const void *a, const void *b)
{
    const struct tombstone *x = a, *y = b;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->mint_ms < y->mint_ms ? -1 : x->mint_ms > y->mint_ms;
}

/* Does any live block with seq <= max_seq hold sid with samples in range? */
static bool needed(const struct storage *s, uint32_t sid, int64_t mint_ms, int64_t maxt_ms,
                   uint64_t max_seq)
{
    for (size_t i = 0; i < s->nblocks; i++) {
        const struct db_block *db = &s->blocks[i];
        if (db->seq > max_seq)
            break;
        const struct block_meta *bm = block_meta(db->b);
        if (bm->maxt_ms < mint_ms || bm->mint_ms > maxt_ms)
            continue;
        int64_t idx = querier_block_find(db, sid);
        if (idx < 0)
            continue;
        int64_t smin, smax;
        block_series_range(db->b, (uint64_t)idx, &smin, &smax);
        if (smax >= mint_ms && smin <= maxt_ms)
            return true;
    }
    return false;
}

static int push(struct storage *s, struct tombstone t)
{
    if (s->ntombs == s->cap_tombs) {
        size_t cap = s->cap_tombs ? s->cap_tombs * 2 : 16;
        struct tombstone *v = realloc(s->tombs, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        s->tombs = v;
        s->cap_tombs = cap;
    }
    s->tombs[s->ntombs++] = t;
    return 0;
}

/* Add a tombstone for the current blocks if some need it: 1 if added, 0 if
 * not needed, or an error. Caller holds lock(write) or is storage_open(). */
int tombstone_add(struct storage *s, uint32_t sid, int64_t mint_ms, int64_t maxt_ms)
{
    uint64_t max_seq = s->next_seq - 1;
    if (!needed(s, sid, mint_ms, maxt_ms, max_seq))
        return 0;
    int rc = push(s, (struct tombstone){sid, mint_ms, maxt_ms, max_seq});
    if (rc)
        return rc;
    qsort(s->tombs, s->ntombs, sizeof *s->tombs, cmp_tomb);
    return 1;
}

void tombstone_prune(struct storage *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->ntombs; i++) {
        const struct tombstone *t = &s->tombs[i];
        if (needed(s, t->sid, t->mint_ms, t->maxt_ms, t->max_seq))
            s->tombs[k++] = *t;
    }
    s->ntombs = k;
}

void tombstone_filter(const struct storage *s, uint32_t sid, uint64_t seq, struct sample *v,
                      size_t *n)
{
    size_t lo = 0, hi = s->ntombs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->tombs[mid].sid < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->ntombs && s->tombs[i].sid == sid; i++) {
        const struct tombstone *t = &s->tombs[i];
        if (seq > t->max_seq)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < *n; j++)
            if (v[j].t_ms < t->mint_ms || v[j].t_ms > t->maxt_ms)
                v[k++] = v[j];
        *n = k;
    }
}

static char *tomb_path(const struct storage *s)
{
    char *p = NULL;
    if (asprintf(&p, "%s/tombstones", s->blocks_dir) < 0)
        return NULL;
    return p;
}

/* Caller holds maint_mu (tombs cannot change) or is storage_open(). */
int tombstone_save(struct storage *s, struct err *e)
{
    char *path = tomb_path(s);
    if (!path)
        return ERR_SET(e, -ENOMEM, "out of memory");
    int rc = 0;
    if (s->ntombs == 0) {
        if (unlink(path) != 0 && errno != ENOENT)
            rc = ERR_SET(e, -errno, "removing %s: %s", path, strerror(errno));
        else
            rc = fs_fsync_dir(s->blocks_dir);
        free(path);
        return rc;
    }
    struct buf b;
    buf_init(&b, 0);
    rc = buf_put_u32le(&b, TOMBSTONE_MAGIC);
    rc = rc ? rc : buf_put_u32le(&b, TOMBSTONE_VERSION);
    for (size_t i = 0; i < s->ntombs && rc == 0; i++) {
        const struct tombstone *t = &s->tombs[i];
        const struct series *sr = series_get(&s->reg, t->sid);
        rc = buf_put_uvarint(&b, sr->nlabels);
        for (uint32_t j = 0; j < sr->nlabels && rc == 0; j++) {
            struct label l = series_label(&s->intern, sr, j);
            rc = buf_put_bytes(&b, l.name.p, l.name.n);
            rc = rc ? rc : buf_put_bytes(&b, l.value.p, l.value.n);
        }
        rc = rc ? rc : buf_put_varint(&b, t->mint_ms);
        rc = rc ? rc : buf_put_varint(&b, t->maxt_ms);
        rc = rc ? rc : buf_put_uvarint(&b, t->max_seq);
    }
    rc = rc ? rc : buf_put_u32le(&b, hash_crc32(0, b.p, b.len));
    if (rc == 0)
        rc = fs_write_file_atomic(path, b.p, b.len);
    if (rc)
        ERR_SET(e, rc, "writing %s: %s", path, tide_strerror(rc));
    buf_fini(&b);
    free(path);
    return rc;
}

/* Does a block written after the delete (seq > max_seq) hold series sid? Its
 * samples are not covered by the tombstone, so the range must stay. */
static bool in_newer_block(const struct storage *s, uint32_t sid, uint64_t max_seq)
{
    for (size_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].seq > max_seq && querier_block_find(&s->blocks[i], sid) >= 0)
            return true;
    return false;
}

int tombstone_load(struct storage *s, struct err *e)
{
    char *path = tomb_path(s);
    if (!path)
        return ERR_SET(e, -ENOMEM, "out of memory");
    char *data;
    size_t len;
    int rc = fs_read_file(path, &data, &len);
    if (rc == -ENOENT) {
        free(path);
        return 0;
    }
    if (rc) {
        ERR_SET(e, rc, "reading %s: %s", path, tide_strerror(rc));
        free(path);
        return rc;
    }
    struct rd r;
    rd_init(&r, data, len >= 4 ? len - 4 : 0);
    if (len < 12 || le32(data + len - 4) != hash_crc32(0, data, len - 4) ||
        rd_u32le(&r) != TOMBSTONE_MAGIC || rd_u32le(&r) != TOMBSTONE_VERSION) {
        rc = ERR_CORRUPT(e, "%s: bad magic, version or checksum", path);
        goto out;
    }
    while (rc == 0 && rd_left(&r) > 0) {
        uint64_t n = rd_uvarint(&r);
        if (r.bad || n > rd_left(&r) || n > 4096) {
            rc = ERR_CORRUPT(e, "%s: bad entry", path);
            break;
        }
        struct label *ls = malloc((n ? n : 1) * sizeof *ls);
        if (!ls) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            break;
        }
        for (uint64_t i = 0; i < n; i++) {
            size_t nn, vn;
            const void *np = rd_bytes(&r, &nn);
            const void *vp = rd_bytes(&r, &vn);
            ls[i] = (struct label){{np, nn}, {vp, vn}};
        }
        struct tombstone t;
        t.mint_ms = rd_varint(&r);
        t.maxt_ms = rd_varint(&r);
        t.max_seq = rd_uvarint(&r);
        if (r.bad) {
            free(ls);
            rc = ERR_CORRUPT(e, "%s: truncated entry", path);
            break;
        }
        t.sid = series_lookup(&s->reg, labels_hash(ls, n), ls, n);
        free(ls);
        if (t.sid != SERIES_NONE)
            rc = push(s, t);
        if (t.sid != SERIES_NONE && rc == 0 && !in_newer_block(s, t.sid, t.max_seq))
            series_narrow(series_get(&s->reg, t.sid), t.mint_ms, t.maxt_ms);
    }
    if (s->ntombs > 0)
        qsort(s->tombs, s->ntombs, sizeof *s->tombs, cmp_tomb);
out:
    free(data);
    free(path);
    return rc;
}

int storage_delete(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                   int64_t maxt_ms, size_t *n_series, struct err *e)
{
    if (n_series)
        *n_series = 0;
    if (mint_ms > maxt_ms)
        return ERR_INVAL(e, "delete range ends before it starts");
    uint32_t *ids;
    size_t nids;
    int rc = querier_resolve(s, m, nm, mint_ms, maxt_ms, false, &ids, &nids, e);
    if (rc)
        return rc;
    if (nids == 0) {
        free(ids);
        return 0;
    }
    /* maint_mu: no head cut in progress, so no frozen data to delete from. */
    pthread_mutex_lock(&s->maint_mu);
    pthread_mutex_lock(&s->append_mu);
    struct buf *rs = &s->rec_series, *rt = &s->rec_samples;
    buf_reset(rs);
    buf_reset(rt);
    size_t nnew = 0;
    rc = wal_record_series_begin(rs);
    for (size_t i = 0; i < nids && rc == 0; i++) {
        struct series *sr = series_get(&s->reg, ids[i]);
        if (sr->wal_gen == s->wal_gen)
            continue;
        rc = wal_record_series_add_series(rs, &s->intern, sr);
        sr->wal_gen = s->wal_gen;
        nnew++;
    }
    rc = rc ? rc : wal_record_tombstone(rt, ids, nids, mint_ms, maxt_ms);
    if (rc == 0 && nnew > 0)
        rc = wal_append(s->wal, rs->p, rs->len);
    rc = rc ? rc : wal_append(s->wal, rt->p, rt->len);
    rc = rc ? rc : wal_flush(s->wal);
    if (rc == 0) {
        pthread_mutex_lock(&s->sync_mu);
        rc = wal_sync(s->wal);
        pthread_mutex_unlock(&s->sync_mu);
    }
    if (rc) {
        for (size_t i = 0; i < nids; i++)
            series_get(&s->reg, ids[i])->wal_gen = 0;
        pthread_mutex_unlock(&s->append_mu);
        pthread_mutex_unlock(&s->maint_mu);
        free(ids);
        return ERR_SET(e, rc, "writing the delete to the WAL: %s", tide_strerror(rc));
    }
    bool added = false;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < nids && rc == 0; i++) {
        struct series *sr = series_get(&s->reg, ids[i]);
        uint64_t removed = 0;
        rc = head_data_delete(&sr->head, mint_ms, maxt_ms, &removed);
        atomic_fetch_sub_explicit(&s->head_samples, removed, memory_order_relaxed);
        series_narrow(sr, mint_ms, maxt_ms);
        if (rc == 0) {
            rc = tombstone_add(s, ids[i], mint_ms, maxt_ms);
            if (rc > 0) {
                added = true;
                rc = 0;
            }
        }
    }
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->append_mu);
    if (rc == 0 && added)
        rc = tombstone_save(s, e);
    else if (rc)
        ERR_SET(e, rc, "deleting: %s", tide_strerror(rc));
    pthread_mutex_unlock(&s->maint_mu);
    free(ids);
    if (rc == 0 && n_series)
        *n_series = nids;
    return rc;
}
