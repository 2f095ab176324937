/* engine.h: the storage engine's internals, shared by the files of
 * src/storage/ that implement storage.h (never included outside storage/).
 *
 * Objects and their owners:
 *   struct intern    string table; owns every label byte the engine keeps
 *   struct series    one per label set, in pages of the registry (series.c)
 *   struct postings  inverted index name -> value -> series ids (postings.c)
 *   struct head_data a series' in-memory samples: Gorilla chunks + ooo buffer
 *   struct db_block  a live block of a partition, one ref held by the storage
 *   struct storage   everything above, plus the WAL and background thread
 *
 * Locks, outermost first (take them in this order, never the reverse):
 *   maint_mu   one maintenance job at a time: head cut, compaction,
 *              retention, delete. Held for the whole job.
 *   append_mu  one writer of the WAL and of the registry at a time. Holders
 *              may read the registry without `lock`, since only they add to it.
 *   lock       rwlock over registry growth, postings, the live block list,
 *              tombstones and frozen head data. Readers hold it in read mode
 *              while resolving matchers and while reading ONE series.
 *   stripe[i]  mutex over the active head data of series with id % NSTRIPES == i.
 */
#ifndef TIDE_STORAGE_ENGINE_H
#define TIDE_STORAGE_ENGINE_H

#include <pthread.h>

#include "core/loop.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/strv.h"
#include "model/batch.h"
#include "model/labels.h"
#include "model/matcher.h"
#include "storage/block.h"
#include "storage/chunk.h"
#include "storage/storage.h"
#include "storage/tier.h"
#include "storage/wal.h"

#define SERIES_NONE UINT32_MAX
#define SERIES_MEMO_LABELS 64 /* labels series_create()'s memo holds (struct storage) */

/* ---- intern.c: string interning ---- */

/* A string table: each distinct byte string is stored once, NUL-terminated,
 * and gets a dense id. Owner: struct storage. Strings live until
 * intern_fini(). Entries sit in pages that never move (as the registry's),
 * so intern_str() of an id a reader got from a series or a postings list
 * needs no lock: the entry was written before the id was published.
 * Thread: inserts need append_mu + lock(write); lookups by bytes
 * (intern_find) need lock(read) or append_mu. */
struct intern_entry {
    const char *p; /* NUL-terminated copy, in `arena` */
    uint32_t n;    /* length */
    uint32_t h;    /* low bits of the hash, to skip most compares */
};
/* A distinct label: (name, value) string ids. A series keeps one pair id
 * per label (4 bytes), and most pairs are shared by many series. */
struct intern_pair {
    uint32_t name, value;
};
#define INTERN_PAGE_BITS 12
#define INTERN_PAGE_SIZE (1u << INTERN_PAGE_BITS)
#define INTERN_MAX_PAGES 65536u
struct intern {
    struct arena arena;         /* the bytes, and the series' pair ids (series.c) */
    struct intern_entry **pages; /* INTERN_MAX_PAGES slots; published atomically */
    uint32_t nents;
    uint32_t *slots;            /* open addressing: id + 1, 0 = empty */
    uint32_t nslots;            /* power of two */
    uint64_t bytes;             /* bytes of strings held */
    /* label pairs, the same way: */
    struct intern_pair **pair_pages; /* INTERN_MAX_PAGES slots; published atomically */
    uint32_t npairs;
    uint32_t *pair_slots;       /* open addressing: pair id + 1, 0 = empty */
    uint32_t npair_slots;       /* power of two */
};
int intern_init(struct intern *in);
void intern_fini(struct intern *in);
/* The id of s, inserting a copy if new. 0, -ENOMEM or TIDE_ELIMIT. */
int intern_put(struct intern *in, struct strv s, uint32_t *id);
/* The id of s, or UINT32_MAX when s was never interned. */
uint32_t intern_find(const struct intern *in, struct strv s);
static inline const struct intern_entry *intern_ent(const struct intern *in, uint32_t id)
{
    const struct intern_entry *page =
        __atomic_load_n(&in->pages[id >> INTERN_PAGE_BITS], __ATOMIC_ACQUIRE);
    return &page[id & (INTERN_PAGE_SIZE - 1)];
}
static inline struct strv intern_str(const struct intern *in, uint32_t id)
{
    const struct intern_entry *en = intern_ent(in, id);
    return (struct strv){en->p, en->n};
}
/* The id of the pair (name, value) of string ids, adding it if new. Same
 * locking as intern_put(). 0, -ENOMEM or TIDE_ELIMIT. */
int intern_pair_put(struct intern *in, uint32_t name, uint32_t value, uint32_t *id);
/* Pair `id`; no lock needed, as for intern_str(). */
static inline struct intern_pair intern_pair(const struct intern *in, uint32_t id)
{
    const struct intern_pair *page =
        __atomic_load_n(&in->pair_pages[id >> INTERN_PAGE_BITS], __ATOMIC_ACQUIRE);
    return page[id & (INTERN_PAGE_SIZE - 1)];
}

/* ---- head.c / head_append.c / head_read.c / ooo.c: head data ---- */

/* A sealed Gorilla chunk, immutable. Owned by its head_data. */
struct head_chunk {
    char *p;         /* chunk bytes (malloc'd) */
    uint32_t len, n; /* bytes, samples */
};

/* The encoder state of a head's open chunk: a struct chunk_enc without its
 * buffer pointer, packed (head_append.c rebuilds the chunk_enc per append).
 * `t` is also the head's last in-order timestamp: it is kept when a chunk
 * is sealed (a chunk's first sample does not read it). */
struct head_enc {
    int64_t t, t_delta;  /* last timestamp and last delta */
    uint64_t v_bits;     /* last value's bits */
    uint32_t n;          /* samples in the open chunk */
    uint8_t bit;         /* bits used in its last byte */
    uint8_t lead, trail; /* the last XOR window */
};

/* What few series have: sealed chunks (past CHUNK_MAX_SAMPLES in the head)
 * and out-of-order samples. Owned by its head_data. */
struct head_extra {
    struct head_chunk *sealed;     /* full chunks, time-ordered; room for 4, then for the
                                      power of two >= nsealed */
    struct sample *ooo;            /* out-of-order samples, sorted, unique t */
    uint32_t nsealed;
    uint32_t nooo, cap_ooo;
};

/* One series' samples in memory. Owner: its struct series (active) or the
 * head cut in progress (frozen). In-order samples (t > last in-order t,
 * enc.t) go to the open chunk; others to x->ooo, a sorted, unique,
 * uncompressed buffer that overrides chunk samples at equal t (it is always
 * the newer write). Packed (64 bytes): there is one per series, a million
 * at high cardinality. Its time range is not stored but derived
 * (head_data_mint/maxt): the first sample opens a chunk, so the range is
 * the first chunk's first t (or an earlier ooo t) to enc.t. */
struct head_data {
    char *open;                    /* bytes of the open chunk (malloc'd), or NULL */
    struct head_extra *x;          /* NULL until a chunk is sealed or a sample is ooo */
    uint32_t open_len, open_cap;   /* bytes in `open`, bytes allocated (past a NUL slot) */
    uint32_t nsamples;             /* chunk samples + ooo samples */
    struct head_enc enc;           /* the open chunk's encoder; enc.t: last in-order t */
};

void head_data_init(struct head_data *h);
/* A fresh encoder state (chunk_enc_init's). */
void head_enc_reset(struct head_enc *he);
void head_data_fini(struct head_data *h);
/* Move src's samples into dst (which must be fresh), leaving src empty. */
void head_data_move(struct head_data *dst, struct head_data *src);
/* Append one sample. *ooo is set when it went to the ooo buffer. 0 or -ENOMEM. */
int head_data_append(struct head_data *h, int64_t t_ms, double v, bool *ooo);
/* Append h's samples (merged, sorted, unique, newest write winning) to *v. */
int head_data_read(const struct head_data *h, struct sample **v, size_t *n, size_t *cap,
                   struct err *e);
/* Remove samples in [mint, maxt]; returns the number removed via *removed. */
int head_data_delete(struct head_data *h, int64_t mint_ms, int64_t maxt_ms, uint64_t *removed);
/* Bytes of chunks, for stats. */
uint32_t head_data_chunks(const struct head_data *h);
/* The first and last sample times; h must hold samples (nsamples > 0).
 * mint decodes the first chunk's first timestamp. */
int64_t head_data_mint(const struct head_data *h);
static inline int64_t head_data_maxt(const struct head_data *h)
{
    return h->enc.t; /* ooo samples are never after the last in-order one */
}
/* Does h hold samples, some of them possibly in [mint_ms, maxt_ms]? */
static inline bool head_data_overlaps(const struct head_data *h, int64_t mint_ms, int64_t maxt_ms)
{
    return h->nsamples > 0 && head_data_maxt(h) >= mint_ms && head_data_mint(h) <= maxt_ms;
}

/* Insert into a sorted unique buffer; equal t replaces. */
int ooo_insert(struct sample **buf, uint32_t *n, uint32_t *cap, int64_t t_ms, double v,
               bool *replaced);
/* Merge two sorted unique runs into *out (realloc'd; may not alias): at equal
 * t the sample from `newer` wins. *out gets n_old + n_new at most. */
int ooo_merge(const struct sample *older, size_t n_old, const struct sample *newer, size_t n_new,
              struct sample **out, size_t *n, size_t *cap);

/* ---- series.c: the registry ---- */

/* One series. Fields up to `wal_gen` never change after series_create(),
 * so they may be read with no lock. */
struct series {
    const uint32_t *pids;       /* nlabels label pair ids (intern_pair), sorted by name;
                                   in the intern arena (4 B a label, not the 32 of a
                                   struct label: series_labels() builds those) */
    uint32_t nlabels;
    uint32_t id;
    uint32_t hash;              /* low bits of labels_hash(): slot and quick compare */
    /* append_mu: */
    uint32_t wal_gen;           /* WAL generation its SERIES record was written in */
    /* atomic; widened only, except by retention: */
    _Atomic int64_t mint, maxt; /* over head and blocks; mint > maxt when empty */
    /* stripe lock: */
    struct head_data head;
    /* Its frozen data during a head cut is not here but in storage.frozen
     * (series_frozen()): few series ever have one at once. */
};

#define SERIES_PAGE_BITS 12
#define SERIES_PAGE_SIZE (1u << SERIES_PAGE_BITS)
#define SERIES_MAX_PAGES 65536u
/* A registry slot holds id + 1 in these bits, top hash bits above (series.c). */
#define SERIES_SLOT_ID_MASK ((1u << 28) - 1)

/* The registry: label set -> dense id. Pages never move, so a series pointer
 * stays valid until storage_close(). */
struct series_reg {
    struct series **pages;      /* SERIES_MAX_PAGES slots; published atomically */
    _Atomic uint32_t n;         /* series registered */
    uint32_t *slots;            /* open addressing: id + 1, top hash bits above */
    uint32_t nslots;
    const struct intern *in;    /* the strings of the series' label ids (borrowed) */
};

int series_reg_init(struct series_reg *r, const struct intern *in);
void series_reg_fini(struct series_reg *r);
static inline struct series *series_get(const struct series_reg *r, uint32_t id)
{
    struct series *page = __atomic_load_n(&r->pages[id >> SERIES_PAGE_BITS], __ATOMIC_ACQUIRE);
    return &page[id & (SERIES_PAGE_SIZE - 1)];
}
static inline uint32_t series_count(const struct series_reg *r)
{
    return atomic_load_explicit(&r->n, memory_order_acquire);
}
/* Id of a sorted label set, or SERIES_NONE. */
uint32_t series_lookup(const struct series_reg *r, uint64_t hash, const struct label *ls, size_t n);
/* The same by canonical key (labels_key()) and its hash (hash_bytes() of the
 * key, equal to labels_hash() of the set), the write path's lookup: the key
 * is compared with the candidate's interned labels (no key kept per series). */
uint32_t series_lookup_key(const struct series_reg *r, uint64_t hash, const char *key,
                           size_t keylen);
/* Start loading what a lookup of `hash` reads first, so a batch of lookups
 * overlaps its cache misses: stage 0 its hash slot, stage 1 (the slot loaded
 * by an earlier stage 0) the series the slot names. Changes nothing; caller
 * holds lock(read) as for the lookup. */
static inline void series_prefetch(const struct series_reg *r, uint64_t hash, int stage)
{
    if (r->nslots == 0)
        return;
    const uint32_t *slot = &r->slots[(uint32_t)hash & (r->nslots - 1)];
    if (stage == 0) {
        __builtin_prefetch(slot);
    } else if (*slot != 0 &&
               (*slot & ~SERIES_SLOT_ID_MASK) == ((uint32_t)hash & ~SERIES_SLOT_ID_MASK)) {
        __builtin_prefetch(series_get(r, (*slot & SERIES_SLOT_ID_MASK) - 1));
    }
}
/* Widen the series' time range. */
void series_widen(struct series *sr, int64_t mint_ms, int64_t maxt_ms);
/* Narrow the series' time range after [mint_ms, maxt_ms] was deleted: a delete
 * covering all of it leaves the range empty (the series is no longer listed),
 * one covering its start or end trims that side. Caller holds append_mu or
 * is storage_open(), so no append widens it meanwhile. */
void series_narrow(struct series *sr, int64_t mint_ms, int64_t maxt_ms);
/* Label i of sr, its strings interned (valid until storage_close()). */
static inline struct label series_label(const struct intern *in, const struct series *sr,
                                        uint32_t i)
{
    struct intern_pair lp = intern_pair(in, sr->pids[i]);
    return (struct label){intern_str(in, lp.name), intern_str(in, lp.value)};
}
/* sr's labels into out[0..sr->nlabels). */
void series_labels(const struct intern *in, const struct series *sr, struct label *out);
/* sr's labels into *buf (realloc'd to fit; *cap in labels), for internal
 * readers that need a struct label array: block and WAL writers, matchers.
 * 0 or -ENOMEM. */
int series_labels_buf(const struct intern *in, const struct series *sr, struct label **buf,
                      size_t *cap);
/* The value of label `name_id` (an intern id) of sr, or {NULL, 0}. */
struct strv series_value_of(const struct intern *in, const struct series *sr, uint32_t name_id);
/* Describe a label set as {a="b", ...} into out (truncated), for messages. */
void series_format(char *out, size_t cap, const struct label *ls, size_t n);

/* ---- postings_list.c: one list of series ids ---- */

/* Lists longer than this are packed (postings_list.c). */
#define POSTINGS_PACK_IDS 4096u
/* The head of a packed list's mapping; the gaps follow (postings_list.c). */
struct postings_packed {
    uint32_t len;  /* bytes of gaps in b */
    uint32_t last; /* the last id */
    uint8_t b[];   /* uvarint gaps between consecutive ids, the first from 0 */
};
/* The sorted, unique ids of the series with one label value. Owner: its
 * struct postings_value. Thread: as struct postings. */
struct postings_list {
    union {
        uint32_t *ids;              /* plain (n <= POSTINGS_PACK_IDS): malloc'd */
        struct postings_packed *pk; /* packed (n > POSTINGS_PACK_IDS): a mapping */
    };
    uint32_t n;   /* ids */
    uint32_t cap; /* plain: ids allocated; packed: bytes mapped */
};
static inline bool postings_list_packed(const struct postings_list *l)
{
    return l->n > POSTINGS_PACK_IDS;
}
/* Append id, greater than every id in l. 0, -ENOMEM or TIDE_ELIMIT; l is
 * unchanged on failure. */
int postings_list_push(struct postings_list *l, uint32_t id);
void postings_list_free(struct postings_list *l);
/* The ids of l in order: postings_cursor_next() returns false at the end,
 * else sets c->id. Valid while l is not pushed to (lock(read)). */
struct postings_cursor {
    const uint32_t *ids; /* a plain list's ids, or NULL */
    const uint8_t *p;    /* a packed list's next gap */
    uint32_t i, n;       /* ids read, ids in the list */
    uint32_t id;         /* the current id */
};
void postings_cursor_init(struct postings_cursor *c, const struct postings_list *l);
bool postings_cursor_next(struct postings_cursor *c);
/* The ids of l as an array: *ids borrows a plain list's own array (valid
 * under lock(read)); a packed list is decoded into a malloc'd array that
 * *owned also points to (the caller frees *owned, NULL when borrowed).
 * 0 or -ENOMEM. */
int postings_list_ids(const struct postings_list *l, const uint32_t **ids, uint32_t **owned);

/* ---- postings.c: the inverted index ---- */
struct postings_value {
    uint32_t value;            /* intern id */
    struct postings_list list;
};
/* Values of one label name, with a small hash from value id to index. */
struct postings_name {
    uint32_t name;             /* intern id */
    struct postings_value *values;
    uint32_t nvalues, cap_values;
    uint32_t *slots;           /* value id -> index + 1 */
    uint32_t nslots;
    uint64_t series;           /* series carrying this name */
    uint32_t last;             /* index of the value indexed last (a hint) */
    /* order_mu: value indices sorted by value string, over the first norder
     * values; built by the first label-values request, extended after. */
    uint32_t *order;
    uint32_t norder;
};
/* Owner: struct storage. Thread: writes under lock(write), reads lock(read). */
struct postings {
    struct postings_name **by_intern; /* intern id -> name, NULL if not a name */
    uint32_t cap_by_intern;
    uint32_t *names;                  /* intern ids of label names, in insertion order */
    uint32_t nnames, cap_names;
    pthread_mutex_t order_mu;         /* the names' `order` caches (taken under lock(read)) */
};

void postings_init(struct postings *p);
void postings_fini(struct postings *p);
/* Index a new series; its id is greater than every id indexed before. */
int postings_add(struct postings *p, uint32_t id, const uint32_t *name_ids,
                 const uint32_t *value_ids, size_t n);
const struct postings_name *postings_name_get(const struct postings *p, uint32_t name_id);
const struct postings_list *postings_get(const struct postings *p, uint32_t name_id,
                                         uint32_t value_id);
/* The value indices of pn sorted by value bytes (strv_cmp), all pn->nvalues
 * of them, into *order. Caller holds lock(read) and p->order_mu, and reads
 * *order only while it holds both. 0 or -ENOMEM. */
int postings_value_order(struct postings *p, const struct intern *in, uint32_t name_id,
                         const uint32_t **order);

/* Sorted set operations; results are malloc'd into *out (caller frees). */
int postings_intersect(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                       size_t *n);
int postings_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                   size_t *n);
int postings_subtract(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, uint32_t **out,
                      size_t *n);

/* Series ids (sorted) matching every matcher, among ids 0..nseries-1.
 * Caller holds lock(read). *out malloc'd. */
int postings_select(const struct postings *p, const struct intern *in, uint32_t nseries,
                    const struct matcher *m, size_t nm, uint32_t **out, size_t *n, struct err *e);

/* ---- wal_record.c: record encodings ---- */

enum wal_record_type {
    WAL_REC_SERIES = 1,    /* per series: uvarint id, uvarint nlabels, (bytes name, bytes value)* */
    WAL_REC_SAMPLES = 2,   /* per group: uvarint id, uvarint n, varint t0, f64 v0, (varint dt, f64 v)* */
    WAL_REC_TOMBSTONE = 3, /* varint mint, varint maxt, then uvarint id per series */
};
/* Each record is [u8 type] and entries up to its end. */
int wal_record_series_begin(struct buf *b);
int wal_record_series_add(struct buf *b, uint32_t id, const struct label *ls, size_t n);
/* The same for a registered series (id and labels from sr). */
int wal_record_series_add_series(struct buf *b, const struct intern *in, const struct series *sr);
int wal_record_samples_begin(struct buf *b);
int wal_record_samples_add(struct buf *b, uint32_t id, const struct sample *v, size_t n);
int wal_record_tombstone(struct buf *b, const uint32_t *ids, size_t n, int64_t mint_ms,
                         int64_t maxt_ms);

/* Decoding: the visitor gets each item; a non-zero return stops the walk. */
struct wal_record_visitor {
    void *ctx;
    /* hash: labels_hash(ls, n) (taken from the record's bytes, which are
     * labels_key(ls) when written by wal_record_series_add). */
    int (*series)(void *ctx, uint32_t id, const struct label *ls, size_t n, uint64_t hash);
    /* Optional: the hash of a series() call to come, a few entries ahead. */
    void (*series_hint)(void *ctx, uint64_t hash);
    int (*sample)(void *ctx, uint32_t id, int64_t t_ms, double v);
    int (*tombstone)(void *ctx, uint32_t id, int64_t mint_ms, int64_t maxt_ms);
};
/* Decode one record. TIDE_ECORRUPT on a malformed record. */
int wal_record_decode(const void *rec, size_t n, const struct wal_record_visitor *vis,
                      struct err *e);

/* ---- blocks and tombstones ---- */

/* A live block. Owner: storage->blocks holds one ref on `b`. */
struct db_block {
    struct block *b;
    int64_t partition;  /* partition start, ms */
    uint64_t seq;       /* global, increasing: a higher seq holds newer writes */
    uint32_t *sids;     /* (sid, index) pairs sorted by sid: the series it holds */
    uint32_t nsids;
    bool damaged;       /* a read met TIDE_ECORRUPT: compaction leaves its partition
                           alone (maint_mu) */
};

/* Deleted range of a series in blocks with seq <= max_seq (blocks written
 * before the delete). Head data is deleted at once instead. */
struct tombstone {
    uint32_t sid;
    int64_t mint_ms, maxt_ms;
    uint64_t max_seq;
};

/* ---- the storage ---- */

#define STORAGE_NSTRIPES 256

struct storage {
    struct storage_opts o;
    char *dir, *wal_dir, *blocks_dir, *tiers_dir;
    int lock_fd;                  /* DIR/LOCK, flock'ed */

    pthread_mutex_t maint_mu;
    pthread_mutex_t append_mu;
    pthread_rwlock_t lock;
    pthread_mutex_t stripes[STORAGE_NSTRIPES];

    /* lock: */
    struct intern intern;
    struct series_reg reg;
    struct postings postings;
    bool postings_deferred;       /* replay_wal() runs: series_create_ids() leaves a new
                                     series' postings to replay_apply_index() */
    struct db_block *blocks;      /* sorted by seq */
    size_t nblocks, cap_blocks;
    struct tombstone *tombs;
    size_t ntombs, cap_tombs;
    struct tier_state tiers[STORAGE_MAX_TIERS]; /* per policy tier (tier.h) */
    bool cutting;                 /* series' frozen data exists */
    /* Set under append_mu + lock(write), read under lock(read): during a head
     * cut, series id -> its frozen data or NULL, over the nfrozen series
     * registered at the freeze (&head itself in the cut of storage_close(),
     * which moves nothing); NULL when no cut is in progress. A mapping
     * (core/pagemem.h), frozen_cap bytes. */
    struct head_data **frozen;
    uint32_t nfrozen;
    size_t frozen_cap;
    bool closing;                 /* storage_close() runs: nothing reads any more */

    /* append_mu: */
    struct wal *wal;
    uint32_t wal_gen;             /* bumped at each WAL cut */
    struct buf rec_series, rec_samples; /* scratch records */
    uint64_t next_seq;            /* next block seq (maint_mu) */
    int64_t head_mint, head_maxt; /* over the active head; mint > maxt when empty */
    /* The last series series_create_ids() made (also at open, single
     * threaded): consecutive new series share most labels (one host's
     * metrics), so series_create() finds most strings by comparing bytes with
     * these and series_create_ids() most pairs by comparing ids, instead of
     * a hash lookup each. */
    struct {
        uint32_t n; /* labels, 0 when none or more than SERIES_MEMO_LABELS */
        uint32_t name_ids[SERIES_MEMO_LABELS], value_ids[SERIES_MEMO_LABELS];
        uint32_t pids[SERIES_MEMO_LABELS];
    } memo;

    /* fsync group commit: */
    pthread_mutex_t sync_mu;
    _Atomic uint64_t written_seq, synced_seq;

    /* background (db.c): the loop, and its jobs' next due times (loop thread only) */
    struct loop bg;
    int64_t bg_next_sync_ms, bg_next_cut_ms, bg_next_maint_ms; /* monotonic */

    /* counters (relaxed atomics): */
    _Atomic uint64_t samples_appended, samples_ooo, samples_rejected, series_created;
    _Atomic uint64_t head_samples, head_cuts, compactions, partitions_dropped;
    _Atomic uint64_t background_errors;
    _Atomic uint64_t job_errors[STORAGE_JOB_N];
    uint64_t wal_torn;
    uint64_t wal_corrupt, wal_corrupt_bytes; /* mid-segment damage skipped at replay */
    _Atomic uint64_t blocks_quarantined;

    /* the last failure reported (db_report), under err_mu: */
    pthread_mutex_t err_mu;
    char last_error[256];
    const char *last_error_job;
    int64_t last_error_ms;
};

static inline pthread_mutex_t *storage_stripe(struct storage *s, uint32_t sid)
{
    return &s->stripes[sid % STORAGE_NSTRIPES];
}

/* series.c */
int series_create(struct storage *s, const struct label *ls, size_t n, uint64_t hash,
                  uint32_t *id);
/* The same with the names and values already interned (ids in s->intern). */
int series_create_ids(struct storage *s, size_t n, uint64_t hash, const uint32_t *name_ids,
                      const uint32_t *value_ids, uint32_t *id);
/* labels_cmp() order of two series, faster: their strings are interned. */
int series_cmp(const struct intern *in, const struct series *x, const struct series *y);
int series_check_limits(const struct storage *s, const struct label *ls, size_t n,
                        bool creating, struct err *e);

/* head_append.c: apply samples to a series' active head (caller holds its
 * stripe lock and append_mu). */
int head_append(struct storage *s, struct series *sr, const struct sample *v, size_t n);
/* What a replay worker adds to the storage once it is done: samples the
 * head gained (less what WAL tombstones removed), out-of-order ones among
 * them, and the time range of the samples applied. */
struct replay_totals {
    int64_t added;
    uint64_t nooo;
    int64_t mint, maxt;
};
/* The same for one sample of the WAL replay, applied by the one thread that
 * owns series sr during the replay (replay_apply.c): no atomic
 * read-modify-write per sample, the storage's counters untouched; *tot
 * gathers them. 0 or head_data_append()'s error. */
int head_append_replay(struct series *sr, int64_t t_ms, double v, struct replay_totals *tot);
/* wal_sync() covering every record written so far; group commit aware. */
int head_append_sync(struct storage *s);

/* querier.c: series ids matching, time-restricted, sorted by labels.
 * Takes lock(read). */
int querier_resolve(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                    int64_t maxt_ms, bool sort_labels, uint32_t **out, size_t *n, struct err *e);
/* All samples of series sid in [mint, maxt]: blocks, frozen and active head
 * merged newest-write-wins, tombstones applied. Takes lock(read). *maybe_nan
 * (if not NULL) is set when some of them may be NaN: block chunks not in a
 * decimal mode, or any head data; false means none is. */
int querier_series_samples(struct storage *s, uint32_t sid, int64_t mint_ms, int64_t maxt_ms,
                           struct sample **v, size_t *n, size_t *cap, bool *maybe_nan,
                           struct err *e);
/* Every series matching, whatever its time range, sorted by labels. */
int querier_resolve_all(struct storage *s, const struct matcher *m, size_t nm, uint32_t **out,
                        size_t *n, struct err *e);
/* Samples of series sid from block db (with tombstones applied) appended to *v. */
int querier_block_samples(struct storage *s, const struct db_block *db, uint32_t sid,
                          struct sample **v, size_t *n, size_t *cap, struct err *e);
/* The same for the samples in [mint, maxt] only, decoding just the block
 * chunks that meet it (block_series_samples_range). */
int querier_block_samples_range(struct storage *s, const struct db_block *db, uint32_t sid,
                                int64_t mint_ms, int64_t maxt_ms, struct sample **v, size_t *n,
                                size_t *cap, bool *maybe_nan, struct err *e);
/* Index of series sid in db, or -1. */
int64_t querier_block_find(const struct db_block *db, uint32_t sid);

/* db.c */
/* Hand an event to opts.report (the server logs it). With job >= 0 it is a
 * failed background job: counted in job_errors[job] and kept as the last
 * error. `what` names the event when job < 0 ("wal_replay", "block_load"). */
void db_report(struct storage *s, int job, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Move a damaged or stray block file to DIR/quarantine/, count and report
 * it. 0 or -errno. */
int db_quarantine(struct storage *s, const char *path, const char *why);
int db_block_add(struct storage *s, struct block *b, int64_t partition, uint64_t seq,
                 uint32_t *sids, uint32_t nsids);
void db_block_remove_at(struct storage *s, size_t i);
char *db_block_path(const struct storage *s, int64_t partition, uint64_t seq);
int64_t db_partition_of(const struct storage *s, int64_t t_ms);

/* replay.c */
int replay_wal(struct storage *s, struct err *e);

/* replay_apply.c: the replay's head appends, on nworkers threads (0: on the
 * caller's). Every operation on one series must come from the same caller
 * thread, in WAL order; the series must exist before its first operation.
 * The sample and delete calls return a worker's error once one failed (the
 * replay should stop), else 0. finish() applies what is queued, joins the
 * workers, frees a, sums their totals into *tot and returns the first
 * error. */
struct replay_apply;
int replay_apply_start(struct replay_apply **out, struct storage *s, unsigned nworkers);
int replay_apply_sample(struct replay_apply *a, uint32_t sid, int64_t t_ms, double v);
int replay_apply_delete(struct replay_apply *a, uint32_t sid, int64_t mint_ms, int64_t maxt_ms);
/* Add series sid, just created, to the postings (s->postings_deferred).
 * All of them are added by one thread, in the order of these calls, so
 * call it in id order. */
int replay_apply_index(struct replay_apply *a, uint32_t sid);
int replay_apply_finish(struct replay_apply *a, struct replay_totals *tot);

/* head_cut.c */
int head_cut(struct storage *s, bool force, struct err *e);
/* Free every series' frozen data and the table (storage_close()). */
void head_cut_free_frozen(struct storage *s);
/* The frozen data of series id during a head cut, or NULL. Caller holds
 * lock(read) (or maint_mu, which the cut itself holds). */
static inline struct head_data *series_frozen(const struct storage *s, uint32_t id)
{
    return s->frozen && id < s->nfrozen ? s->frozen[id] : NULL;
}

/* compact.c */
int compact_run(struct storage *s, struct err *e);
/* Rewrite the blocks of one partition into one block without the series
 * whose drop[sid] is set (drop indexed by series id, nseries long; sids
 * past it are kept). The new block is in place (fsync'ed, renamed) before
 * the old ones are removed, so a crash in between leaves both, never
 * neither. *dropped (may be NULL) gets the series left out. Caller holds
 * maint_mu. */
int compact_rewrite(struct storage *s, int64_t partition, const uint8_t *drop, uint32_t nseries,
                    size_t *dropped, struct err *e);

/* retention.c */
int retention_run(struct storage *s, int64_t now_ms, struct err *e);

/* retention_rules.c: the policy (s->o.policy, may be NULL) as it applies.
 * Index of the first rule series sr satisfies, or -1 (the defaults). */
int64_t policy_rule_of(const struct storage *s, const struct series *sr);
/* Retention of the raw data (tier -1) or of rollup tier `tier` under rule
 * (-1 = no rule); 0 = forever. */
int64_t policy_retention(const struct storage *s, int64_t rule, int tier);
/* The longest (0 if some keep forever) and shortest (0 if all do) retention
 * any series can have in the raw data (tier -1) or a tier. */
int64_t policy_max_retention(const struct storage *s, int tier);
int64_t policy_min_retention(const struct storage *s, int tier);

/* compact.c: does a tombstone apply to block db? Caller holds lock. */
bool compact_has_tombstones(const struct storage *s, const struct db_block *db);

/* tombstone.c */
int tombstone_load(struct storage *s, struct err *e);
int tombstone_save(struct storage *s, struct err *e);
/* Add a tombstone over the current blocks if one of them holds samples of
 * sid in range: 1 added, 0 not needed, or an error. Caller holds lock(write). */
int tombstone_add(struct storage *s, uint32_t sid, int64_t mint_ms, int64_t maxt_ms);
/* Drop tombstones no live block needs any more. Caller holds lock(write). */
void tombstone_prune(struct storage *s);
/* Remove samples of tombstones covering block seq from v (sorted). */
void tombstone_filter(const struct storage *s, uint32_t sid, uint64_t seq, struct sample *v,
                      size_t *n);

#endif
