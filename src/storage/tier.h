/* tier.h: rollup tiers inside storage (tier.c, tier_read.c, rollup.c), never included
 * outside storage/. Format: docs/format/tier.md.
 *
 * A tier keeps, per raw partition, one block file
 * DIR/tiers/<tier>/<partition>-<srcseq>.blk holding the rollups of every
 * series of the partition's raw block <srcseq>. It is valid while that
 * block is the partition's only live block and no tombstone applies to it,
 * or once the partition's raw blocks are gone (retention): then it is all
 * there is. Owner: struct storage (s->tiers[i]); the list changes under
 * maint_mu + lock(write) and is read under lock(read).
 */
#ifndef TIDE_STORAGE_TIER_H
#define TIDE_STORAGE_TIER_H

#include <stdint.h>

#include "storage/storage.h"

struct storage;
struct block;

enum rollup_field {
    ROLLUP_F_COUNT = 0,
    ROLLUP_F_SUM,
    ROLLUP_F_MIN,
    ROLLUP_F_MAX,
    ROLLUP_F_FIRST_DT,
    ROLLUP_F_FIRST,
    ROLLUP_F_LAST_DT,
    ROLLUP_F_LAST,
    ROLLUP_F_RESETS,
    ROLLUP_FIELDS,
};
/* Field f of window k is stored at the timestamp f * 2^40 + k + 2^39: each
 * field's values are contiguous in the series (one column each, which the
 * codec compresses well), windows in time order inside a field. */
#define ROLLUP_FIELD_SHIFT 40
#define ROLLUP_K_BIAS (INT64_C(1) << 39)
static inline int64_t rollup_ts(int f, int64_t k)
{
    return ((int64_t)f << ROLLUP_FIELD_SHIFT) + k + ROLLUP_K_BIAS;
}
static inline int64_t rollup_ts_k(int64_t ts)
{
    return (ts & ((INT64_C(1) << ROLLUP_FIELD_SHIFT) - 1)) - ROLLUP_K_BIAS;
}

/* One partition of one tier. */
struct tier_part {
    int64_t partition;
    uint64_t src_seq;  /* the raw block it was computed from */
    struct block *b;   /* one ref */
    uint32_t *sids;    /* (sid, index) pairs sorted by sid */
    uint32_t nsids;
};

struct tier_state {
    struct tier_part *parts; /* sorted by partition */
    size_t nparts, cap;
};

/* Index of the part of ts for partition, or -1. Caller holds lock. */
int64_t tier_part_find(const struct tier_state *ts, int64_t partition);
/* Window index of t: floor(t / res). */
int64_t rollup_window_of(int64_t t_ms, int64_t res_ms);
#define ROLLUP_ALL_FIELDS ((1u << ROLLUP_FIELDS) - 1)
/* Fewest windows of a series in a tier file for its fields to get chunks of
 * their own (tier.c); below it decoding them all costs less than the
 * chunks' index entries. */
#define ROLLUP_CHUNK_MIN 16
/* The ROLLUP_F_* bits holding the STORAGE_RU_* fields `ru` (count when `ru`
 * asks for none). */
unsigned rollup_fields_of(unsigned ru);
/* Rollups as block samples (rollup_ts) and back. Decoding takes the samples
 * of the fields in `fields` (ROLLUP_F_* bits), field after field, and keeps
 * the windows with index in [ka, kb]; fields left out read as 0.
 * TIDE_ELIMIT for a window index outside +-2^39, TIDE_ECORRUPT for samples
 * not in this shape. */
int rollup_encode(const struct storage_rollup *r, size_t n, int64_t res_ms, struct sample **buf,
                  size_t *cap);
int rollup_decode(const struct sample *v, size_t n, unsigned fields, int64_t res_ms, int64_t ka,
                  int64_t kb, struct storage_rollup **out, size_t *nout, size_t *cap);

/* Load DIR/tiers at storage_open() (after the raw blocks): removes *.tmp
 * leftovers and superseded files, registers series only tiers still hold. */
int tier_load(struct storage *s, struct err *e);
/* Compute the tiers of every partition with one raw block whose tier files
 * are missing or stale, but for tiers whose retention (against now_ms; 0 =
 * no clock, keep all) has passed for that partition. Caller holds maint_mu
 * (after compaction). */
int tier_run(struct storage *s, int64_t now_ms, struct err *e);
/* Drop tier partitions past the tier's longest retention. Caller holds maint_mu. */
int tier_retention(struct storage *s, int64_t now_ms, struct err *e);
void tier_free(struct storage *s);
/* Append one storage_tier_info per rollup tier to u->tiers. 0 or -ENOMEM. */
int tier_usage(struct storage *s, struct storage_usage *u);
/* Most series tier_group_rollups() reads at once. */
#define TIER_GROUP_MAX 8
/* Rollups of the series sids[0..nsids) (nsids <= TIER_GROUP_MAX) in tier t
 * for windows starting in [lo, hi] (multiples of the resolution), appended
 * to out[j] for sids[j] in time order, with the ROLLUP_F_* `fields` at
 * least (tier files are read for those only); *sources |= 2 when read from
 * a tier file, 1 when computed from raw samples. The series are read
 * together, partition after partition, taking lock(read) once per
 * partition (and again for a series whose older raw windows are read
 * first). On error out[] holds some of the rollups. */
int tier_group_rollups(struct storage *s, int t, const uint32_t *sids, size_t nsids, int64_t lo,
                       int64_t hi, unsigned fields, struct storage_rollups *out, unsigned *sources,
                       struct err *e);

#endif
