/* block.c: immutable block files (block.h), where the head's samples land
 * after a cut and where compaction reads and writes; queriers read them.
 *
 * Layout (docs/format/block.md; fixed parts in format.h):
 *   header   16 bytes: magic, version
 *   pages    zstd frames (with content checksum), each the series_codec
 *            output of consecutive series, ~64 KiB before compression; a
 *            series is encoded as consecutive chunks of at most
 *            BLOCK_CHUNK_SAMPLES samples, each a complete codec output
 *   index    uvarint-packed: symbol table (each distinct string once), page
 *            table (offset, compressed len, uncompressed len, crc32), series
 *            (label refs, mint, maxt, nsamples, page, offset in page, length,
 *            then per chunk its time range, sample count and length)
 * Chunks let a reader decode only the part of a series a query's time range
 * needs: a 12 h query on a day block decodes about half of each series, a
 * last-10-minutes query one chunk.
 *   footer   64 bytes: index offset/len, block mint/maxt/nseries/nsamples,
 *            crc32 of the index, crc32 of the footer, magic, version
 * The reader loads and checks the whole index at open, so every later lookup
 * is bounds-checked against numbers that were verified once; a page's crc32
 * is checked each time it is read. Any damage is TIDE_ECORRUPT, never a crash.
 * A written block appears under its final name only complete and synced
 * (temp file, fsync, rename, fsync of the directory).
 */
#include "storage/block.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "core/mem.h"
#include "core/fs.h"
#include "core/hash.h"
#include "storage/format.h"

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* ---- writing ---- */

struct wseries {
    size_t ref_off;    /* first of 2*nlabels symbol refs in w->refs */
    uint32_t nlabels;
    int64_t mint, maxt;
    uint64_t nsamples;
    uint64_t page, off, len; /* where its codec bytes sit (all its chunks) */
    size_t chunk_off;  /* first of nchunks in w->chunks */
    size_t nchunks;
};

/* One chunk of a series: a complete series_codec output. */
struct wchunk {
    int64_t mint, maxt;
    uint64_t nsamples, len;
};

struct symref {
    size_t off, len; /* bytes of one symbol in block_writer.strs */
};

struct wpage {
    uint64_t off, clen, ulen;
    uint32_t crc;
};

/* Owner: the caller, from block_writer_new() to _finish()/_abort(). Thread: one. */
struct block_writer {
    char *path, *tmp;
    int fd;
    uint64_t off;           /* bytes written to the file so far */
    int level;              /* zstd level */
    ZSTD_CCtx *cctx;
    struct buf page;        /* the open page, uncompressed */
    struct buf z;           /* compression scratch */
    struct buf strs;        /* symbol bytes, back to back */
    struct symref *syms;    /* per symbol id: where its bytes sit in strs */
    size_t nsyms, cap_syms;
    uint32_t *ht;           /* open-addressing table of symbol id + 1; 0 = empty */
    size_t ht_cap;          /* power of two */
    uint32_t *refs;         /* name, value symbol ids per label */
    size_t nrefs, cap_refs;
    struct wseries *series;
    size_t nseries, cap_series;
    struct wchunk *chunks;
    size_t nchunks, cap_chunks;
    size_t chunk_samples;   /* most samples per chunk */
    struct wpage *pages;
    size_t npages, cap_pages;
    struct label *prev;     /* scratch for the order check */
    size_t cap_prev;
    int64_t mint, maxt;
    uint64_t nsamples;
};

static struct symref *sym_at(struct block_writer *w, size_t id)
{
    return &w->syms[id];
}

static struct strv sym_str(struct block_writer *w, uint32_t id)
{
    struct symref *s = sym_at(w, id);
    return (struct strv){w->strs.p + s->off, (size_t)s->len};
}

static int ht_rehash(struct block_writer *w, size_t ncap)
{
    uint32_t *nt = calloc(ncap, sizeof *nt);
    if (nt == NULL)
        return -ENOMEM;
    for (size_t id = 0; id < w->nsyms; id++) {
        struct strv s = sym_str(w, (uint32_t)id);
        size_t h = (size_t)hash_bytes(s.p, s.n) & (ncap - 1);
        while (nt[h] != 0)
            h = (h + 1) & (ncap - 1);
        nt[h] = (uint32_t)id + 1;
    }
    free(w->ht);
    w->ht = nt;
    w->ht_cap = ncap;
    return 0;
}

static int intern(struct block_writer *w, struct strv s, uint32_t *id)
{
    if ((w->nsyms + 1) * 2 > w->ht_cap) {
        int rc = ht_rehash(w, w->ht_cap ? w->ht_cap * 2 : 1024);
        if (rc != 0)
            return rc;
    }
    size_t h = (size_t)hash_bytes(s.p, s.n) & (w->ht_cap - 1);
    while (w->ht[h] != 0) {
        if (strv_eq(sym_str(w, w->ht[h] - 1), s)) {
            *id = w->ht[h] - 1;
            return 0;
        }
        h = (h + 1) & (w->ht_cap - 1);
    }
    if (w->nsyms >= UINT32_MAX - 1)
        return TIDE_ELIMIT;
    int rc = mem_grow((void **)&w->syms, &w->cap_syms, w->nsyms + 1, sizeof *w->syms);
    if (rc != 0)
        return rc;
    size_t off = w->strs.len;
    rc = buf_append(&w->strs, s.p, s.n);
    if (rc != 0)
        return rc;
    sym_at(w, w->nsyms)->off = off;
    sym_at(w, w->nsyms)->len = s.n;
    *id = (uint32_t)w->nsyms;
    w->ht[h] = (uint32_t)w->nsyms + 1;
    w->nsyms++;
    return 0;
}

int block_writer_new(struct block_writer **out, const char *path, struct err *e)
{
    *out = NULL;
    struct block_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return ERR_SET(e, -ENOMEM, "block writer: out of memory");
    w->fd = -1;
    w->level = BLOCK_ZSTD_LEVEL;
    w->chunk_samples = BLOCK_CHUNK_SAMPLES;
    w->mint = INT64_MAX;
    w->maxt = INT64_MIN;
    buf_init(&w->page, 0);
    buf_init(&w->z, 0);
    buf_init(&w->strs, 0);
    w->path = strdup(path);
    size_t n = strlen(path) + 5;
    w->tmp = malloc(n);
    w->cctx = ZSTD_createCCtx();
    if (w->path == NULL || w->tmp == NULL || w->cctx == NULL) {
        block_writer_abort(w);
        return ERR_SET(e, -ENOMEM, "block writer: out of memory");
    }
    snprintf(w->tmp, n, "%s.tmp", path);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int rc = -errno;
        block_writer_abort(w);
        return ERR_SET(e, rc, "block writer: open %s.tmp", path);
    }
    struct block_header_disk h;
    memset(&h, 0, sizeof h);
    put_le32(h.magic, BLOCK_MAGIC);
    put_le32(h.version, BLOCK_VERSION);
    int rc = fs_write_all(w->fd, &h, sizeof h);
    if (rc != 0) {
        block_writer_abort(w);
        return ERR_SET(e, rc, "block writer: write header");
    }
    w->off = sizeof h;
    *out = w;
    return 0;
}

int block_writer_set_level(struct block_writer *w, int level)
{
    w->level = level;
    return 0;
}

int block_writer_set_chunk_samples(struct block_writer *w, size_t n)
{
    w->chunk_samples = n > 0 ? n : 1;
    return 0;
}

static int flush_page(struct block_writer *w, struct err *e)
{
    if (w->page.len == 0)
        return 0;
    int rc = mem_grow((void **)&w->pages, &w->cap_pages, w->npages + 1, sizeof *w->pages);
    if (rc != 0)
        return ERR_SET(e, rc, "block writer: out of memory");
    size_t bound = ZSTD_compressBound(w->page.len);
    buf_reset(&w->z);
    rc = buf_reserve(&w->z, bound);
    if (rc != 0)
        return ERR_SET(e, rc, "block writer: out of memory");
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level);
    size_t c = ZSTD_compress2(w->cctx, w->z.p, bound, w->page.p, w->page.len);
    if (ZSTD_isError(c))
        return ERR_SET(e, TIDE_EINVAL, "block writer: zstd: %s", ZSTD_getErrorName(c));
    rc = fs_write_all(w->fd, w->z.p, c);
    if (rc != 0)
        return ERR_SET(e, rc, "block writer: write page");
    w->pages[w->npages++] = (struct wpage){
        .off = w->off, .clen = c, .ulen = w->page.len, .crc = hash_crc32(0, w->z.p, c)};
    w->off += c;
    buf_reset(&w->page);
    return 0;
}

int block_writer_add(struct block_writer *w, const struct label *ls, size_t nls,
                     const struct sample *v, size_t n, struct err *e)
{
    if (n == 0)
        return 0;
    if (n > SERIES_CODEC_MAX_SAMPLES)
        return ERR_LIMIT(e, "block writer: %zu samples in one series", n);
    if (w->nseries > 0) {
        const struct wseries *p = &w->series[w->nseries - 1];
        int rc = mem_grow((void **)&w->prev, &w->cap_prev, p->nlabels, sizeof *w->prev);
        if (rc != 0)
            return ERR_SET(e, rc, "block writer: out of memory");
        for (uint32_t j = 0; j < p->nlabels; j++) {
            w->prev[j].name = sym_str(w, w->refs[p->ref_off + 2 * j]);
            w->prev[j].value = sym_str(w, w->refs[p->ref_off + 2 * j + 1]);
        }
        if (labels_cmp(w->prev, p->nlabels, ls, nls) >= 0)
            return ERR_INVAL(e, "block writer: series out of label order");
    }
    /* Chunks of equal size (within one sample), none over chunk_samples. */
    size_t nch = (n + w->chunk_samples - 1) / w->chunk_samples;
    int rc = mem_grow((void **)&w->series, &w->cap_series, w->nseries + 1, sizeof *w->series);
    if (rc == 0)
        rc = mem_grow((void **)&w->refs, &w->cap_refs, w->nrefs + 2 * nls, sizeof *w->refs);
    if (rc == 0)
        rc = mem_grow((void **)&w->chunks, &w->cap_chunks, w->nchunks + nch, sizeof *w->chunks);
    if (rc != 0)
        return ERR_SET(e, rc, "block writer: out of memory");
    size_t mark = w->page.len;
    for (size_t k = 0; k < nch; k++) {
        size_t a = n * k / nch, z = n * (k + 1) / nch;
        /* The codec checks the order inside a chunk; this, across chunks. */
        if (k > 0 && v[a - 1].t_ms >= v[a].t_ms) {
            w->page.len = mark;
            return ERR_INVAL(e, "block writer: samples out of time order");
        }
        size_t cm = w->page.len;
        rc = series_codec_encode(&w->page, v + a, z - a);
        if (rc != 0) {
            w->page.len = mark;
            return ERR_SET(e, rc, "block writer: encode series");
        }
        w->chunks[w->nchunks + k] = (struct wchunk){
            .mint = v[a].t_ms, .maxt = v[z - 1].t_ms, .nsamples = z - a, .len = w->page.len - cm};
    }
    for (size_t j = 0; j < nls; j++) {
        uint32_t a, b;
        rc = intern(w, ls[j].name, &a);
        if (rc == 0)
            rc = intern(w, ls[j].value, &b);
        if (rc != 0) {
            w->page.len = mark;
            return ERR_SET(e, rc, "block writer: symbols");
        }
        w->refs[w->nrefs + 2 * j] = a;
        w->refs[w->nrefs + 2 * j + 1] = b;
    }
    w->series[w->nseries++] = (struct wseries){
        .ref_off = w->nrefs,
        .nlabels = (uint32_t)nls,
        .mint = v[0].t_ms,
        .maxt = v[n - 1].t_ms,
        .nsamples = n,
        .page = w->npages,
        .off = mark,
        .len = w->page.len - mark,
        .chunk_off = w->nchunks,
        .nchunks = nch,
    };
    w->nchunks += nch;
    w->nrefs += 2 * nls;
    w->nsamples += n;
    if (v[0].t_ms < w->mint)
        w->mint = v[0].t_ms;
    if (v[n - 1].t_ms > w->maxt)
        w->maxt = v[n - 1].t_ms;
    if (w->page.len >= BLOCK_PAGE_TARGET_BYTES)
        return flush_page(w, e);
    return 0;
}

static int build_index(struct block_writer *w, struct buf *ix)
{
    int rc = buf_put_uvarint(ix, w->nsyms);
    for (size_t i = 0; i < w->nsyms && rc == 0; i++) {
        struct strv s = sym_str(w, (uint32_t)i);
        rc = buf_put_bytes(ix, s.p, s.n);
    }
    if (rc == 0)
        rc = buf_put_uvarint(ix, w->npages);
    for (size_t i = 0; i < w->npages && rc == 0; i++) {
        const struct wpage *p = &w->pages[i];
        rc = buf_put_uvarint(ix, p->off);
        if (rc == 0)
            rc = buf_put_uvarint(ix, p->clen);
        if (rc == 0)
            rc = buf_put_uvarint(ix, p->ulen);
        if (rc == 0)
            rc = buf_put_u32le(ix, p->crc);
    }
    if (rc == 0)
        rc = buf_put_uvarint(ix, w->nseries);
    for (size_t i = 0; i < w->nseries && rc == 0; i++) {
        const struct wseries *s = &w->series[i];
        rc = buf_put_uvarint(ix, s->nlabels);
        for (uint32_t j = 0; j < 2 * s->nlabels && rc == 0; j++)
            rc = buf_put_uvarint(ix, w->refs[s->ref_off + j]);
        if (rc == 0)
            rc = buf_put_varint(ix, s->mint);
        if (rc == 0)
            rc = buf_put_uvarint(ix, (uint64_t)s->maxt - (uint64_t)s->mint);
        if (rc == 0)
            rc = buf_put_uvarint(ix, s->nsamples);
        if (rc == 0)
            rc = buf_put_uvarint(ix, s->page);
        if (rc == 0)
            rc = buf_put_uvarint(ix, s->off);
        if (rc == 0)
            rc = buf_put_uvarint(ix, s->len);
        if (rc == 0)
            rc = buf_put_uvarint(ix, s->nchunks);
        int64_t prev = s->mint;
        for (size_t k = 0; k < s->nchunks && rc == 0; k++) {
            const struct wchunk *c = &w->chunks[s->chunk_off + k];
            rc = buf_put_uvarint(ix, (uint64_t)c->mint - (uint64_t)prev);
            if (rc == 0)
                rc = buf_put_uvarint(ix, (uint64_t)c->maxt - (uint64_t)c->mint);
            if (rc == 0)
                rc = buf_put_uvarint(ix, c->nsamples);
            if (rc == 0)
                rc = buf_put_uvarint(ix, c->len);
            prev = c->maxt;
        }
    }
    return rc;
}

int block_writer_finish(struct block_writer *w, struct err *e)
{
    struct buf ix;
    buf_init(&ix, 0);
    char *dir = NULL;
    int rc = flush_page(w, e);
    if (rc != 0)
        goto fail;
    rc = build_index(w, &ix);
    if (rc != 0) {
        ERR_SET(e, rc, "block writer: index");
        goto fail;
    }
    struct block_footer_disk f;
    memset(&f, 0, sizeof f);
    put_le64(f.index_off, w->off);
    put_le64(f.index_len, ix.len);
    put_le64(f.mint_ms, (uint64_t)w->mint);
    put_le64(f.maxt_ms, (uint64_t)w->maxt);
    put_le64(f.nseries, w->nseries);
    put_le64(f.nsamples, w->nsamples);
    put_le32(f.index_crc, hash_crc32(0, ix.p, ix.len));
    put_le32(f.footer_crc, hash_crc32(0, &f, offsetof(struct block_footer_disk, footer_crc)));
    put_le32(f.magic, BLOCK_MAGIC);
    put_le32(f.version, BLOCK_VERSION);
    rc = buf_append(&ix, &f, sizeof f);
    if (rc == 0)
        rc = fs_write_all(w->fd, ix.p, ix.len);
    if (rc == 0)
        rc = fs_fsync(w->fd);
    if (rc != 0) {
        ERR_SET(e, rc, "block writer: write %s", w->tmp);
        goto fail;
    }
    rc = close(w->fd) == 0 ? 0 : -errno;
    w->fd = -1;
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = -errno;
    if (rc != 0) {
        ERR_SET(e, rc, "block writer: close/rename %s", w->tmp);
        goto fail;
    }
    dir = dir_of(w->path);
    rc = dir ? fs_fsync_dir(dir) : -ENOMEM;
    if (rc != 0) {
        /* The file is in place; only the directory sync failed. Report it. */
        ERR_SET(e, rc, "block writer: fsync dir of %s", w->path);
    }
    free(dir);
    buf_fini(&ix);
    free(w->tmp);
    w->tmp = NULL; /* nothing left to remove */
    block_writer_abort(w);
    return rc;
fail:
    free(dir);
    buf_fini(&ix);
    block_writer_abort(w);
    return rc;
}

void block_writer_abort(struct block_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    ZSTD_freeCCtx(w->cctx);
    buf_fini(&w->page);
    buf_fini(&w->z);
    buf_fini(&w->strs);
    free(w->syms);
    free(w->ht);
    free(w->refs);
    free(w->series);
    free(w->chunks);
    free(w->pages);
    free(w->prev);
    free(w);
}

/* ---- reading ---- */

struct rseries {
    size_t label_off; /* first label in b->labels */
    uint32_t nlabels;
    int64_t mint, maxt;
    uint64_t nsamples;
    uint64_t page, off, len;
    size_t chunk_off; /* first of nchunks in b->chunks, in time order */
    size_t nchunks;
};

/* One chunk of a series; off is its byte offset in the uncompressed page. */
struct rchunk {
    int64_t mint, maxt;
    uint64_t nsamples, off, len;
};

struct rpage {
    uint64_t off, clen, ulen;
    uint32_t crc;
    bool crc_ok; /* the CRC matched once; guarded by the block's mu */
};

/* Decompressed pages are cached per block, every block drawing on one
 * process-wide budget: a block may add a slot while the budget allows (or
 * while it has none). Past it, the least recently used page of all blocks
 * goes: another block's when it is older than the block's own (use times
 * come from one clock), found through the list of open blocks. A block
 * reusing only its own slots would thrash once others filled the budget:
 * after a few raw 90-day charts, each tier file kept one page and every
 * year-long tier chart decompressed its pages again (a sixth of its CPU). */
#define BLOCK_CACHE_MAX_BYTES ((size_t)128 << 20)
static _Atomic size_t block_cache_bytes; /* decompressed bytes cached by all blocks */
static _Atomic size_t block_cache_max = BLOCK_CACHE_MAX_BYTES;
static _Atomic uint64_t block_cache_clock; /* use times of cached pages */
static _Atomic uint64_t block_cache_loads; /* pages read and decompressed */
/* The open blocks, for eviction across them. Lock order: a block's mu, then
 * this; other blocks' mu only by trylock while holding it. */
static pthread_mutex_t block_list_mu = PTHREAD_MUTEX_INITIALIZER;
static struct block *block_list; /* guarded by block_list_mu */

/* One decompressed page held by a block's cache. */
struct page_slot {
    uint64_t page;    /* page number, UINT64_MAX when empty */
    uint64_t used;    /* block_cache_clock at the last use (0: empty); the smallest goes */
    uint32_t pins;    /* readers decoding from `bytes` right now: never replaced then */
    struct buf bytes; /* the page, decompressed; bytes.p is stable while pinned */
};

/* A sealed, immutable block on disk.
 * Owner: db.c holds one ref while the block is live; each reader one while
 * reading. The last block_unref() closes the file, frees the index and, if
 * block_mark_deleted() was called, unlinks the file.
 * Thread: everything but the page cache is immutable after block_open();
 * refs/deleted are atomic; `mu` guards dctx, cache*, zbuf. */
struct block {
    atomic_uint refs;
    atomic_bool deleted;
    char *path;
    int fd;
    struct block_meta meta;
    uint8_t *index;         /* the index section; symbols point into it */
    struct strv *syms;
    size_t nsyms;
    struct label *labels;
    struct rseries *series;
    struct rchunk *chunks;
    size_t nchunks;
    struct rpage *pages;
    size_t npages;
    pthread_mutex_t mu;
    ZSTD_DCtx *dctx;        /* guarded by mu */
    struct page_slot *slots; /* cached decompressed pages; guarded by mu */
    size_t nslots;          /* guarded by mu */
    int32_t *slot_of;       /* per page: index in slots, -1 when not cached; guarded by mu */
    size_t cached_bytes;    /* this block's share of block_cache_bytes; guarded by mu */
    struct buf zbuf;        /* compressed bytes scratch; guarded by mu */
    struct block *list_prev, *list_next; /* in block_list; guarded by block_list_mu */
    bool listed;            /* in block_list (a complete open) */
};

size_t block_cache_set_max(size_t bytes)
{
    return atomic_exchange(&block_cache_max, bytes);
}

void block_cache_stats(size_t *bytes, uint64_t *loads)
{
    *bytes = atomic_load(&block_cache_bytes);
    *loads = atomic_load(&block_cache_loads);
}

static void list_add(struct block *b)
{
    pthread_mutex_lock(&block_list_mu);
    b->list_prev = NULL;
    b->list_next = block_list;
    if (block_list != NULL)
        block_list->list_prev = b;
    block_list = b;
    b->listed = true;
    pthread_mutex_unlock(&block_list_mu);
}

static void list_remove(struct block *b)
{
    if (!b->listed)
        return;
    pthread_mutex_lock(&block_list_mu);
    if (b->list_prev != NULL)
        b->list_prev->list_next = b->list_next;
    else
        block_list = b->list_next;
    if (b->list_next != NULL)
        b->list_next->list_prev = b->list_prev;
    b->listed = false;
    pthread_mutex_unlock(&block_list_mu);
}

/* A use time for a page used now: later than every earlier one. */
static uint64_t cache_tick(void)
{
    return atomic_fetch_add(&block_cache_clock, 1) + 1;
}

static bool over_budget(size_t more)
{
    return atomic_load(&block_cache_bytes) + more > atomic_load(&block_cache_max);
}

/* b's least recently used unpinned page (a slot holding one), or NULL.
 * Caller holds b->mu. */
static struct page_slot *oldest_page(struct block *b)
{
    struct page_slot *victim = NULL;
    for (size_t k = 0; k < b->nslots; k++) {
        struct page_slot *sl = &b->slots[k];
        if (sl->pins == 0 && sl->page != UINT64_MAX && (victim == NULL || sl->used < victim->used))
            victim = sl;
    }
    return victim;
}

/* b's first unpinned slot holding no page, or NULL. Caller holds b->mu. */
static struct page_slot *free_slot(struct block *b)
{
    for (size_t k = 0; k < b->nslots; k++)
        if (b->slots[k].pins == 0 && b->slots[k].page == UINT64_MAX)
            return &b->slots[k];
    return NULL;
}

/* Slot sl of b forgets its page, whose bytes leave the budget; the memory
 * stays with the slot, for the next page. Caller holds b->mu. */
static void forget_page(struct block *b, struct page_slot *sl)
{
    if (sl->page != UINT64_MAX)
        b->slot_of[sl->page] = -1;
    atomic_fetch_sub(&block_cache_bytes, sl->bytes.len);
    b->cached_bytes -= sl->bytes.len;
    sl->page = UINT64_MAX;
    buf_reset(&sl->bytes);
}

/* Make slot sl of b empty: forget its page and free its memory. Caller
 * holds b->mu. */
static void drop_slot(struct block *b, struct page_slot *sl)
{
    forget_page(b, sl);
    buf_fini(&sl->bytes);
    sl->used = 0;
}

/* Drop the least recently used unpinned page of the blocks other than b,
 * if it was used before `than`. Blocks busy right now are passed over; the
 * best block so far stays locked (by trylock, so never waited for) until a
 * better one replaces it, and its page goes at the end of one walk.
 * True when a page went. Caller holds b->mu. */
static bool drop_older_elsewhere(struct block *b, uint64_t than)
{
    pthread_mutex_lock(&block_list_mu);
    struct block *best = NULL;
    struct page_slot *victim = NULL;
    for (struct block *c = block_list; c != NULL; c = c->list_next) {
        if (c == b || pthread_mutex_trylock(&c->mu) != 0)
            continue;
        struct page_slot *sl = oldest_page(c);
        if (sl != NULL && sl->used < (victim != NULL ? victim->used : than)) {
            if (best != NULL)
                pthread_mutex_unlock(&best->mu);
            best = c;
            victim = sl;
        } else {
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (best != NULL) {
        drop_slot(best, victim);
        pthread_mutex_unlock(&best->mu);
    }
    pthread_mutex_unlock(&block_list_mu);
    return best != NULL;
}

static void block_free(struct block *b)
{
    list_remove(b);
    for (size_t k = 0; k < b->nslots; k++)
        buf_fini(&b->slots[k].bytes);
    free(b->slots);
    free(b->slot_of);
    atomic_fetch_sub(&block_cache_bytes, b->cached_bytes);
    if (b->fd >= 0)
        close(b->fd);
    if (atomic_load(&b->deleted) && b->path)
        unlink(b->path);
    pthread_mutex_destroy(&b->mu);
    ZSTD_freeDCtx(b->dctx);
    buf_fini(&b->zbuf);
    free(b->path);
    free(b->index);
    free(b->syms);
    free(b->labels);
    free(b->series);
    free(b->chunks);
    free(b->pages);
    free(b);
}

/* Series s's chunk list, checked to tile the series exactly: time ranges
 * strictly increasing from s->mint to s->maxt, counts summing to
 * s->nsamples, lengths to s->len. */
static int parse_chunks(struct block *b, struct rd *r, struct rseries *s, size_t *cap,
                        struct err *e)
{
    uint64_t nch = rd_uvarint(r);
    if (r->bad || nch == 0 || nch > s->nsamples || nch > rd_left(r) / 4)
        return ERR_CORRUPT(e, "block index: chunk count");
    if (mem_grow((void **)&b->chunks, cap, b->nchunks + (size_t)nch, sizeof *b->chunks) != 0)
        return ERR_SET(e, -ENOMEM, "block index: out of memory");
    s->chunk_off = b->nchunks;
    s->nchunks = (size_t)nch;
    int64_t prev = s->mint;
    uint64_t off = s->off, end = s->off + s->len, total = 0;
    for (uint64_t k = 0; k < nch; k++) {
        uint64_t gap = rd_uvarint(r), span = rd_uvarint(r);
        uint64_t n = rd_uvarint(r), len = rd_uvarint(r);
        /* Differences below are exact mod 2^64 and non-negative by the checks. */
        if (r->bad || (k == 0) != (gap == 0) || gap > (uint64_t)s->maxt - (uint64_t)prev)
            return ERR_CORRUPT(e, "block index: chunk %llu start", (unsigned long long)k);
        int64_t mint = (int64_t)((uint64_t)prev + gap);
        if (span > (uint64_t)s->maxt - (uint64_t)mint || n == 0 || n - 1 > span ||
            n > s->nsamples - total || len == 0 || len > end - off)
            return ERR_CORRUPT(e, "block index: chunk %llu bounds", (unsigned long long)k);
        struct rchunk *c = &b->chunks[b->nchunks++];
        *c = (struct rchunk){.mint = mint, .maxt = (int64_t)((uint64_t)mint + span),
                             .nsamples = n, .off = off, .len = len};
        prev = c->maxt;
        off += len;
        total += n;
    }
    if (prev != s->maxt || off != end || total != s->nsamples)
        return ERR_CORRUPT(e, "block index: chunks do not tile the series");
    return 0;
}

static int parse_index(struct block *b, size_t len, uint64_t index_off, struct err *e)
{
    struct rd r;
    rd_init(&r, b->index, len);
    uint64_t nsyms = rd_uvarint(&r);
    if (r.bad || nsyms > rd_left(&r))
        return ERR_CORRUPT(e, "block index: symbol count");
    b->syms = malloc((size_t)(nsyms ? nsyms : 1) * sizeof *b->syms);
    if (b->syms == NULL)
        return ERR_SET(e, -ENOMEM, "block index: out of memory");
    for (uint64_t i = 0; i < nsyms; i++) {
        size_t n;
        const void *p = rd_bytes(&r, &n);
        if (r.bad)
            return ERR_CORRUPT(e, "block index: symbol %llu", (unsigned long long)i);
        b->syms[i] = (struct strv){p, n};
    }
    b->nsyms = (size_t)nsyms;

    uint64_t npages = rd_uvarint(&r);
    if (r.bad || npages > rd_left(&r) / 7)
        return ERR_CORRUPT(e, "block index: page count");
    b->pages = malloc((size_t)(npages ? npages : 1) * sizeof *b->pages);
    if (b->pages == NULL)
        return ERR_SET(e, -ENOMEM, "block index: out of memory");
    for (uint64_t i = 0; i < npages; i++) {
        struct rpage *p = &b->pages[i];
        p->off = rd_uvarint(&r);
        p->clen = rd_uvarint(&r);
        p->ulen = rd_uvarint(&r);
        p->crc = rd_u32le(&r);
        p->crc_ok = false;
        if (r.bad || p->off < BLOCK_HEADER_BYTES || p->off > index_off ||
            p->clen > index_off - p->off || p->ulen > BLOCK_PAGE_MAX_BYTES || p->clen == 0)
            return ERR_CORRUPT(e, "block index: page %llu", (unsigned long long)i);
    }
    b->npages = (size_t)npages;
    b->slot_of = malloc((size_t)(npages ? npages : 1) * sizeof *b->slot_of);
    if (b->slot_of == NULL)
        return ERR_SET(e, -ENOMEM, "block index: out of memory");
    for (uint64_t i = 0; i < npages; i++)
        b->slot_of[i] = -1;

    uint64_t nseries = rd_uvarint(&r);
    if (r.bad || nseries > rd_left(&r) / 7 || nseries != b->meta.nseries)
        return ERR_CORRUPT(e, "block index: series count");
    b->series = malloc((size_t)(nseries ? nseries : 1) * sizeof *b->series);
    /* Every label takes at least 2 index bytes: bounds the label array. */
    size_t max_labels = rd_left(&r) / 2;
    b->labels = malloc((max_labels ? max_labels : 1) * sizeof *b->labels);
    if (b->series == NULL || b->labels == NULL)
        return ERR_SET(e, -ENOMEM, "block index: out of memory");
    size_t nl = 0, cap_chunks = 0;
    uint64_t total = 0;
    for (uint64_t i = 0; i < nseries; i++) {
        struct rseries *s = &b->series[i];
        uint64_t nlabels = rd_uvarint(&r);
        if (r.bad || nlabels > max_labels - nl)
            return ERR_CORRUPT(e, "block index: series %llu labels", (unsigned long long)i);
        s->label_off = nl;
        s->nlabels = (uint32_t)nlabels;
        for (uint64_t j = 0; j < nlabels; j++) {
            uint64_t a = rd_uvarint(&r);
            uint64_t v = rd_uvarint(&r);
            if (r.bad || a >= nsyms || v >= nsyms)
                return ERR_CORRUPT(e, "block index: series %llu label ref", (unsigned long long)i);
            b->labels[nl].name = b->syms[a];
            b->labels[nl].value = b->syms[v];
            nl++;
        }
        s->mint = rd_varint(&r);
        uint64_t span = rd_uvarint(&r);
        s->nsamples = rd_uvarint(&r);
        s->page = rd_uvarint(&r);
        s->off = rd_uvarint(&r);
        s->len = rd_uvarint(&r);
        /* mint + span must not pass INT64_MAX; the subtraction is exact mod 2^64. */
        if (r.bad || span > (uint64_t)INT64_MAX - (uint64_t)s->mint)
            return ERR_CORRUPT(e, "block index: series %llu", (unsigned long long)i);
        s->maxt = (int64_t)((uint64_t)s->mint + span);
        if (s->maxt < s->mint || s->mint < b->meta.mint_ms || s->maxt > b->meta.maxt_ms ||
            s->nsamples == 0 || s->nsamples > SERIES_CODEC_MAX_SAMPLES ||
            s->nsamples - 1 > span || s->page >= npages || s->off > b->pages[s->page].ulen ||
            s->len > b->pages[s->page].ulen - s->off || s->len == 0)
            return ERR_CORRUPT(e, "block index: series %llu bounds", (unsigned long long)i);
        int rc = parse_chunks(b, &r, s, &cap_chunks, e);
        if (rc != 0)
            return rc;
        if (i > 0) {
            const struct rseries *p = &b->series[i - 1];
            if (labels_cmp(b->labels + p->label_off, p->nlabels, b->labels + s->label_off,
                           s->nlabels) >= 0)
                return ERR_CORRUPT(e, "block index: series %llu out of order",
                                   (unsigned long long)i);
        }
        total += s->nsamples;
    }
    if (rd_left(&r) != 0)
        return ERR_CORRUPT(e, "block index: %zu trailing bytes", rd_left(&r));
    if (total != b->meta.nsamples)
        return ERR_CORRUPT(e, "block index: sample count");
    return 0;
}

int block_open(struct block **out, const char *path, struct err *e)
{
    *out = NULL;
    struct block *b = calloc(1, sizeof *b);
    if (b == NULL)
        return ERR_SET(e, -ENOMEM, "block: out of memory");
    atomic_init(&b->refs, 1);
    atomic_init(&b->deleted, false);
    b->fd = -1;
    buf_init(&b->zbuf, 0);
    pthread_mutex_init(&b->mu, NULL);
    int rc;
    b->path = strdup(path);
    b->dctx = ZSTD_createDCtx();
    if (b->path == NULL || b->dctx == NULL) {
        rc = ERR_SET(e, -ENOMEM, "block: out of memory");
        goto fail;
    }
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0) {
        rc = ERR_SET(e, -errno, "block: open %s", path);
        goto fail;
    }
    struct stat st;
    if (fstat(b->fd, &st) != 0) {
        rc = ERR_SET(e, -errno, "block: stat %s", path);
        goto fail;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size < BLOCK_HEADER_BYTES + BLOCK_FOOTER_BYTES) {
        rc = ERR_CORRUPT(e, "block %s: %llu bytes is too short", path, (unsigned long long)size);
        goto fail;
    }
    struct block_header_disk h;
    struct block_footer_disk f;
    rc = fs_pread_all(b->fd, &h, sizeof h, 0);
    if (rc == 0)
        rc = fs_pread_all(b->fd, &f, sizeof f, (off_t)(size - sizeof f));
    if (rc != 0) {
        rc = ERR_SET(e, rc, "block %s: read", path);
        goto fail;
    }
    if (le32(h.magic) != BLOCK_MAGIC || le32(f.magic) != BLOCK_MAGIC) {
        rc = ERR_CORRUPT(e, "block %s: bad magic", path);
        goto fail;
    }
    if (le32(h.version) != BLOCK_VERSION || le32(f.version) != BLOCK_VERSION ||
        le32(h.flags) != 0 || le32(h.reserved) != 0) {
        rc = ERR_CORRUPT(e, "block %s: version %u", path, le32(h.version));
        goto fail;
    }
    if (le32(f.footer_crc) != hash_crc32(0, &f, offsetof(struct block_footer_disk, footer_crc))) {
        rc = ERR_CORRUPT(e, "block %s: footer checksum", path);
        goto fail;
    }
    uint64_t index_off = le64(f.index_off), index_len = le64(f.index_len);
    if (index_off < BLOCK_HEADER_BYTES || index_len > BLOCK_INDEX_MAX_BYTES ||
        index_off > size - BLOCK_FOOTER_BYTES ||
        index_len != size - BLOCK_FOOTER_BYTES - index_off) {
        rc = ERR_CORRUPT(e, "block %s: index bounds", path);
        goto fail;
    }
    b->meta = (struct block_meta){
        .mint_ms = (int64_t)le64(f.mint_ms),
        .maxt_ms = (int64_t)le64(f.maxt_ms),
        .nseries = le64(f.nseries),
        .nsamples = le64(f.nsamples),
        .bytes = size,
    };
    b->index = malloc(index_len ? index_len : 1);
    if (b->index == NULL) {
        rc = ERR_SET(e, -ENOMEM, "block: out of memory");
        goto fail;
    }
    rc = fs_pread_all(b->fd, b->index, index_len, (off_t)index_off);
    if (rc != 0) {
        rc = ERR_SET(e, rc, "block %s: read index", path);
        goto fail;
    }
    if (hash_crc32(0, b->index, index_len) != le32(f.index_crc)) {
        rc = ERR_CORRUPT(e, "block %s: index checksum", path);
        goto fail;
    }
    rc = parse_index(b, (size_t)index_len, index_off, e);
    if (rc != 0)
        goto fail;
    list_add(b);
    *out = b;
    return 0;
fail:
    block_free(b);
    return rc;
}

void block_ref(struct block *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void block_unref(struct block *b)
{
    if (b != NULL && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        block_free(b);
}

void block_mark_deleted(struct block *b)
{
    atomic_store(&b->deleted, true);
}

const struct block_meta *block_meta(const struct block *b)
{
    return &b->meta;
}

const char *block_path(const struct block *b)
{
    return b->path;
}

void block_series_labels(const struct block *b, uint64_t i, const struct label **ls, size_t *n)
{
    if (i >= b->meta.nseries) {
        *ls = NULL;
        *n = 0;
        return;
    }
    *ls = b->labels + b->series[i].label_off;
    *n = b->series[i].nlabels;
}

void block_series_range(const struct block *b, uint64_t i, int64_t *mint_ms, int64_t *maxt_ms)
{
    if (i >= b->meta.nseries) {
        *mint_ms = INT64_MAX;
        *maxt_ms = INT64_MIN;
        return;
    }
    *mint_ms = b->series[i].mint;
    *maxt_ms = b->series[i].maxt;
}

void block_series_info(const struct block *b, uint64_t i, uint64_t *nsamples, uint64_t *bytes)
{
    *nsamples = 0;
    *bytes = 0;
    if (i >= b->meta.nseries)
        return;
    const struct rseries *rs = &b->series[i];
    *nsamples = rs->nsamples;
    const struct rpage *pg = rs->page < b->npages ? &b->pages[rs->page] : NULL;
    if (pg && pg->ulen > 0)
        *bytes = (uint64_t)((double)rs->len * (double)pg->clen / (double)pg->ulen);
}

/* Page `pg` decompressed in slot *slot, pinned: from the cache or read,
 * checked and decompressed into a new slot (within the process-wide budget,
 * or when every slot is pinned) or this block's least recently used unpinned
 * one. Queries read a few series of many pages (e.g. eight hosts' ten
 * metrics) again and again, and decompressing them was a third of such a
 * query. Called with b->mu held; the caller unpins (pins--, under b->mu)
 * when done with the bytes, which stay put until then. */
static int load_page(struct block *b, uint64_t pg, size_t *slot, struct err *e)
{
    if (b->slot_of[pg] >= 0) {
        struct page_slot *sl = &b->slots[b->slot_of[pg]];
        sl->used = cache_tick();
        sl->pins++;
        *slot = (size_t)b->slot_of[pg];
        return 0;
    }
    size_t ulen = (size_t)b->pages[pg].ulen;
    struct page_slot *own = oldest_page(b);
    /* Past the budget, pages of other blocks used before this block's
     * oldest go first (a few at most: pages are of similar size). */
    for (int k = 0; k < 8 && over_budget(ulen) &&
                    drop_older_elsewhere(b, own != NULL ? own->used : UINT64_MAX);
         k++)
        ;
    struct page_slot *victim = own;
    if (!over_budget(ulen) || own == NULL)
        victim = free_slot(b); /* room (or every page pinned): a free slot or a new one */
    if (victim == NULL) {
        struct page_slot *ns = realloc(b->slots, (b->nslots + 1) * sizeof *ns);
        if (ns == NULL)
            return ERR_SET(e, -ENOMEM, "block: out of memory");
        b->slots = ns;
        victim = &b->slots[b->nslots++];
        victim->page = UINT64_MAX;
        victim->used = 0;
        victim->pins = 0;
        buf_init(&victim->bytes, 0);
    }
    forget_page(b, victim);
    struct rpage *p = &b->pages[pg];
    buf_reset(&b->zbuf);
    int rc = buf_reserve(&b->zbuf, (size_t)p->clen);
    if (rc == 0)
        rc = buf_reserve(&victim->bytes, (size_t)p->ulen);
    if (rc != 0)
        return ERR_SET(e, rc, "block: out of memory");
    rc = fs_pread_all(b->fd, b->zbuf.p, (size_t)p->clen, (off_t)p->off);
    if (rc != 0)
        return ERR_SET(e, rc, "block %s: read page %llu", b->path, (unsigned long long)pg);
    /* The CRC is checked the first time a page is read; later reads of an
     * evicted page still get zstd's own content checksum. */
    if (!p->crc_ok && hash_crc32(0, b->zbuf.p, (size_t)p->clen) != p->crc)
        return ERR_CORRUPT(e, "block %s: page %llu checksum", b->path, (unsigned long long)pg);
    p->crc_ok = true;
    unsigned long long want = ZSTD_getFrameContentSize(b->zbuf.p, (size_t)p->clen);
    if (want != p->ulen)
        return ERR_CORRUPT(e, "block %s: page %llu size", b->path, (unsigned long long)pg);
    size_t got = ZSTD_decompressDCtx(b->dctx, victim->bytes.p, (size_t)p->ulen, b->zbuf.p,
                                     (size_t)p->clen);
    if (ZSTD_isError(got) || got != p->ulen)
        return ERR_CORRUPT(e, "block %s: page %llu: zstd", b->path, (unsigned long long)pg);
    victim->bytes.len = got;
    victim->page = pg;
    victim->used = cache_tick();
    atomic_fetch_add(&block_cache_loads, 1);
    b->slot_of[pg] = (int32_t)(victim - b->slots);
    atomic_fetch_add(&block_cache_bytes, got);
    b->cached_bytes += got;
    victim->pins = 1;
    *slot = (size_t)(victim - b->slots);
    return 0;
}

/* Decode the chunks of series s (index i) of b meeting [mint_ms, maxt_ms]
 * from its pinned page, appending the samples in the range to *v. The
 * chunks are looked for from *from (the series' first when NULL), which is
 * left at the first one not ending before mint_ms: where a later range
 * (starting after mint_ms) may start looking. */
static int decode_range(struct block *b, uint64_t i, const struct rseries *s, const char *page,
                        int64_t mint_ms, int64_t maxt_ms, const struct rchunk **from,
                        struct sample **v, size_t *n, size_t *cap, bool *maybe_nan,
                        struct err *e)
{
    if (mint_ms > maxt_ms || s->maxt < mint_ms || s->mint > maxt_ms)
        return 0;
    const struct rchunk *c = b->chunks + s->chunk_off, *end = c + s->nchunks;
    if (*from != NULL)
        c = *from; /* chunks before it end before an earlier range's start */
    while (c < end && c->maxt < mint_ms)
        c++;
    *from = c;
    /* Room for every chunk that overlaps, reserved once: growing while
     * decoding would copy what earlier chunks gave, chunk after chunk. */
    size_t n0 = *n, need = n0;
    for (const struct rchunk *x = c; x < end && x->mint <= maxt_ms; x++)
        need += x->nsamples;
    if (need > *cap) {
        /* Nothing to keep when the array is empty: no realloc copy. */
        struct sample *nv = n0 ? realloc(*v, need * sizeof *nv) : malloc(need * sizeof *nv);
        if (nv == NULL)
            return ERR_SET(e, -ENOMEM, "block: out of memory");
        if (n0 == 0)
            free(*v);
        *v = nv;
        *cap = need;
    }
    int rc = 0;
    for (; c < end && c->mint <= maxt_ms; c++) {
        size_t c0 = *n;
        rc = series_codec_decode(page + c->off, (size_t)c->len, v, n, cap, e);
        if (rc == 0 && (*n - c0 != c->nsamples || (*v)[c0].t_ms != c->mint ||
                        (*v)[*n - 1].t_ms != c->maxt))
            rc = ERR_CORRUPT(e, "block %s: series %llu disagrees with the index", b->path,
                             (unsigned long long)i);
        if (rc != 0)
            break;
        if (maybe_nan) {
            int mode = series_codec_mode(page + c->off, (size_t)c->len);
            if (mode == SERIES_CODEC_XOR || (mode == SERIES_CODEC_CONST && isnan((*v)[c0].v)))
                *maybe_nan = true;
        }
        /* Trim while the chunk is still the last one decoded: the first
         * chunk's head (a memmove of at most one chunk), the last's tail. */
        if (c->mint < mint_ms) {
            size_t lo = c0;
            while (lo < *n && (*v)[lo].t_ms < mint_ms)
                lo++;
            memmove(*v + c0, *v + lo, (*n - lo) * sizeof **v);
            *n -= lo - c0;
        }
        while (*n > c0 && (*v)[*n - 1].t_ms > maxt_ms)
            (*n)--;
    }
    if (rc != 0)
        *n = n0;
    return rc;
}

void block_pin_release(struct block_pin *p)
{
    if (p->b != NULL) {
        pthread_mutex_lock(&p->b->mu);
        p->b->slots[p->slot].pins--;
        pthread_mutex_unlock(&p->b->mu);
    }
    *p = (struct block_pin){0};
}

int block_series_samples_ranges_pin(struct block *b, uint64_t i, const int64_t (*ranges)[2],
                                    size_t nranges, struct sample **v, size_t *n, size_t *cap,
                                    bool *maybe_nan, struct block_pin *pin, struct err *e)
{
    if (i >= b->meta.nseries)
        return ERR_INVAL(e, "block: series %llu of %llu", (unsigned long long)i,
                         (unsigned long long)b->meta.nseries);
    const struct rseries *s = &b->series[i];
    bool any = false;
    for (size_t r = 0; r < nranges && !any; r++)
        any = ranges[r][0] <= ranges[r][1] && s->maxt >= ranges[r][0] && s->mint <= ranges[r][1];
    if (!any)
        return 0;
    /* The mutex covers the cache, not the decoding: the page is pinned so
     * concurrent readers decode in parallel while nobody replaces it. One
     * pin serves every range, and every series of the page while the
     * caller holds it. */
    if (pin->b != b || pin->page != s->page) {
        block_pin_release(pin);
        size_t slot = 0;
        pthread_mutex_lock(&b->mu);
        int rc = load_page(b, s->page, &slot, e);
        const char *bytes = rc == 0 ? b->slots[slot].bytes.p : NULL;
        pthread_mutex_unlock(&b->mu);
        if (rc != 0)
            return rc;
        *pin = (struct block_pin){.b = b, .page = s->page, .slot = slot, .bytes = bytes};
    }
    size_t n0 = *n;
    int rc = 0;
    const struct rchunk *from = NULL;
    for (size_t r = 0; r < nranges && rc == 0; r++) {
        if (r > 0 && ranges[r][0] <= ranges[r - 1][0])
            from = NULL; /* not ascending: look from the series' first chunk */
        rc = decode_range(b, i, s, pin->bytes, ranges[r][0], ranges[r][1], &from, v, n, cap,
                          maybe_nan, e);
    }
    if (rc != 0)
        *n = n0;
    return rc;
}

int block_series_samples_ranges(struct block *b, uint64_t i, const int64_t (*ranges)[2],
                                size_t nranges, struct sample **v, size_t *n, size_t *cap,
                                bool *maybe_nan, struct err *e)
{
    struct block_pin pin = {0};
    int rc = block_series_samples_ranges_pin(b, i, ranges, nranges, v, n, cap, maybe_nan, &pin, e);
    block_pin_release(&pin);
    return rc;
}

int block_series_samples_range(struct block *b, uint64_t i, int64_t mint_ms, int64_t maxt_ms,
                               struct sample **v, size_t *n, size_t *cap, bool *maybe_nan,
                               struct err *e)
{
    const int64_t range[1][2] = {{mint_ms, maxt_ms}};
    return block_series_samples_ranges(b, i, range, 1, v, n, cap, maybe_nan, e);
}

int block_series_samples(struct block *b, uint64_t i, struct sample **v, size_t *n, size_t *cap,
                         struct err *e)
{
    return block_series_samples_range(b, i, INT64_MIN, INT64_MAX, v, n, cap, NULL, e);
}
