/* storage.h: Tide's time-series engine, the only storage header other
 * folders include.
 *
 * Data flow: a `struct batch` from ingest/ or collect/ goes through
 * storage_append() into the series registry and inverted index (series.c,
 * postings.c), the write-ahead log (wal.c) and the head's compressed chunks
 * (head*.c). The head is cut into immutable blocks per time partition
 * (block.c), which compaction merges (compact.c) and retention drops whole
 * or per series (retention.c, retention_rules.c). After compaction, rollup
 * tiers are computed per partition (tier.c, rollup.c). Reads go through
 * storage_select(), which hides whether samples come from the head or from
 * blocks, or storage_select_rollups() for tier windows.
 *
 * Semantics users rely on (docs/storage.md):
 *  - a series is its sorted label set, __name__ included;
 *  - samples may arrive out of order and are merged in time order;
 *  - the same series and timestamp written twice keeps one sample, the last
 *    written;
 *  - storage_append() returning 0 means the samples are durable per the fsync
 *    policy: with STORAGE_FSYNC_ALWAYS the WAL was fsync'ed before return;
 *  - every float64 round-trips bit-exactly (NaN payloads, ±Inf, stale marker);
 *  - deleted series/ranges disappear from reads at once; compaction reclaims them.
 *
 * Thread-safety: every function may be called from any thread concurrently,
 * except storage_open()/storage_close(). Label arrays handed out live as long
 * as the object that gave them (a set, an output array): a reader that keeps
 * labels past storage_set_free() copies them or builds them in its own arena
 * (storage_set_labels_into). The strings they point to (label names and
 * values) are interned and today stay valid until storage_close(); do not
 * rely on more than the set's lifetime for new code either
 * (docs/internals/series-lifetime.md).
 */
#ifndef TIDE_STORAGE_STORAGE_H
#define TIDE_STORAGE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strv.h"
#include "model/batch.h"
#include "model/labels.h"
#include "model/matcher.h"

enum storage_fsync {
    STORAGE_FSYNC_INTERVAL = 0, /* fsync the WAL every fsync_interval_ms (default) */
    STORAGE_FSYNC_ALWAYS,       /* fsync before storage_append() returns */
    STORAGE_FSYNC_NEVER,        /* leave it to the kernel */
};

/* The background jobs whose failures are counted apart (storage_stats,
 * /metrics tide_storage_background_errors_total{job}). */
enum storage_job {
    STORAGE_JOB_WAL_FSYNC = 0, /* the fsync timer's write + fdatasync of the WAL */
    STORAGE_JOB_HEAD_CUT,      /* writing the head into blocks */
    STORAGE_JOB_COMPACTION,    /* merging a partition's blocks */
    STORAGE_JOB_RETENTION,     /* dropping old partitions */
    STORAGE_JOB_N,
};
/* "wal_fsync", "head_cut", "compaction", "retention". */
const char *storage_job_name(enum storage_job job);

/* Storage never prints. What the server should log (a failed background
 * job, WAL damage found at replay, a quarantined block) is handed to this
 * callback, from the thread that met it (the background thread,
 * storage_open() or storage_close()), one message per event. `what` is a
 * storage_job_name() or "wal_replay", "block_load", "close". `msg` is valid
 * during the call only. The callback must not call back into storage. */
typedef void storage_report_fn(void *ctx, const char *what, const char *msg);

/* ---- retention policy: rollup tiers and per-series retention ---- */

#define STORAGE_MAX_TIERS 4 /* rollup tiers besides the raw data */

/* A rollup tier (docs/storage.md#tiers). */
struct storage_tier_spec {
    char name[16];         /* "5m": how rules, stats and queries name it */
    int64_t resolution_ms; /* window width; > 0, divides partition_ms, coarser than the last */
    int64_t retention_ms;  /* 0 = forever */
};

/* A retention rule: the series whose labels satisfy every matcher keep
 * their raw samples retention_ms (0 = forever) and their rollups per tier. */
struct storage_retention_rule {
    char *bucket;                 /* buckets: the bucket name (matched as label bucket=NAME);
                                     NULL for a retention_rules: entry */
    char *selector;               /* the rule's text, for messages */
    struct matcher *m;            /* owned */
    size_t nm;
    int64_t retention_ms;         /* raw data */
    int64_t tier_retention_ms[STORAGE_MAX_TIERS]; /* -1: the tier's own retention */
};

/* Owner: whoever parsed it (storage_policy_parse); storage borrows it from
 * storage_open() to storage_close(). */
struct storage_policy {
    struct storage_tier_spec tiers[STORAGE_MAX_TIERS]; /* finest first */
    size_t ntiers;
    struct storage_retention_rule *rules; /* buckets first, then retention_rules; first match
                                             wins, storage_opts.retention_ms last */
    size_t nrules;
};

struct yaml_node;
struct storage;
/* Build a policy from the config sections `tiers:` (a list of {resolution,
 * retention, name}; absent: 5m kept 1y and 1h kept 5y; `[]`: none),
 * `retention_rules:` (a list of {match: SELECTOR, retention: DURATION,
 * tiers: {NAME: DURATION}}) and `buckets:` (a mapping NAME: DURATION or NAME:
 * {retention, tiers}). Any node may be NULL (absent). Errors name the node
 * (e->line, e->col). On failure *out is empty. */
int storage_policy_parse(const struct yaml_node *tiers, const struct yaml_node *rules,
                         const struct yaml_node *buckets, int64_t partition_ms,
                         struct storage_policy *out, struct err *e);
/* The default policy of storage_policy_parse() with every node absent. */
void storage_policy_default(struct storage_policy *out);
void storage_policy_fini(struct storage_policy *p);
/* The policy storage was opened with (storage_opts.policy), or NULL. */
const struct storage_policy *storage_get_policy(struct storage *s);
/* The bucket named name (NUL-terminated), or NULL. */
const struct storage_retention_rule *storage_policy_bucket(const struct storage_policy *p,
                                                           const char *name);

struct storage_opts {
    const char *dir;                  /* data directory, created if missing */
    int64_t retention_ms;             /* drop partitions older than this; 0 = keep forever */
    enum storage_fsync fsync;         /* WAL fsync policy */
    int64_t fsync_interval_ms;        /* for STORAGE_FSYNC_INTERVAL; default 1000 */
    int64_t partition_ms;             /* width of a time partition; default 1 day */
    int64_t head_max_age_ms;          /* cut the head into blocks when it spans more; default 2h */
    size_t max_series;                /* 0 = unlimited */
    size_t max_labels_per_series;     /* default 64 (incl. __name__) */
    size_t max_label_name_len;        /* default 256 bytes */
    size_t max_label_value_len;       /* default 4096 bytes */
    bool no_background;               /* tests: no threads; call storage_maintain() */
    bool no_cut_on_close;             /* close syncs the WAL but leaves the head in it, as
                                         after a crash; the next open replays it (tide
                                         serve's default: `head_cut_on_stop: false`) */
    int replay_workers;               /* threads that append the WAL replay's samples beside
                                         the one decoding it: 0 = one per CPU but one, at
                                         most 3; -1 = none (tests, one CPU) */
    const struct storage_policy *policy; /* tiers and retention rules; NULL: none (raw only,
                                         retention_ms for every series); borrowed */
    storage_report_fn *report;        /* NULL: events are only counted (storage_stats) */
    void *report_ctx;                 /* its first argument */
};

/* Fill the defaults above into the zero fields of o. */
void storage_opts_defaults(struct storage_opts *o);

struct storage;

/* Open (or create) the data directory, replay the WAL (a torn last record is
 * dropped and logged in the returned stats, never fatal), load blocks and
 * start the background jobs (fsync timer, head cut, compaction, retention).
 * On failure *out is NULL. */
int storage_open(struct storage **out, const struct storage_opts *o, struct err *e);
/* Stop background jobs, sync the WAL, cut the head into blocks, free all.
 * Returns the error of syncing the WAL (then the last acknowledged writes
 * may be lost); a head cut that fails (ENOSPC) is reported through
 * opts.report and is not an error: the WAL is kept whole and the next open
 * replays it. The object is freed anyway. */
int storage_close(struct storage *s);

struct storage_append_result {
    size_t samples_added;    /* samples written (incl. out-of-order ones) */
    size_t samples_rejected; /* samples of series refused by a limit */
    size_t series_created;   /* new series registered by this call */
};

/* Append every series of the batch. Series refused by a limit (labels per
 * series, label length, total series) are skipped and counted; the first such
 * refusal is described in `e` and the call returns TIDE_ELIMIT after appending
 * the others. I/O errors (e.g. ENOSPC on the WAL) return -errno and nothing of
 * the batch is acknowledged. The batch is only read. `r` may be NULL. */
int storage_append(struct storage *s, const struct batch *b, struct storage_append_result *r,
                   struct err *e);

/* Run the background work once, now: WAL fsync, head cut (all of the head
 * when `force_cut`), compaction, retention against `now_ms`. Used by tests
 * and by shutdown. */
int storage_maintain(struct storage *s, bool force_cut, int64_t now_ms, struct err *e);

/* Delete the samples in [mint_ms, maxt_ms] of every series matching all
 * matchers. Reads stop seeing them at once; blocks are rewritten by the next
 * compaction. *n_series gets the number of series touched (may be NULL). */
int storage_delete(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                   int64_t maxt_ms, size_t *n_series, struct err *e);

/* ---- reading ---- */

/* A snapshot of the series matching all matchers that have samples in
 * [mint_ms, maxt_ms], in label-set order. Owned by the caller:
 * storage_set_free(). Iterate with storage_set_next(). */
struct storage_set;

int storage_select(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                   int64_t maxt_ms, struct storage_set **out, struct err *e);
/* Advance to the next series; false at the end. */
bool storage_set_next(struct storage_set *set);
/* Labels of the current series, sorted. The array is built in the set (a
 * series stores intern ids, not struct label) and stays valid until
 * storage_set_free(); calling it again for the same series gives the same
 * array. Out of memory, or with no current series, gives 0 labels. */
void storage_set_labels(struct storage_set *set, const struct label **ls, size_t *n);
/* The same, built in the caller's arena `a` (valid as long as it is): for
 * readers that keep the labels of many series past the set, such as the
 * query engine. 0, -ENOMEM, TIDE_ELIMIT (a's cap) or TIDE_EINVAL (no
 * current series). */
struct arena;
int storage_set_labels_into(struct storage_set *set, struct arena *a, const struct label **ls,
                            size_t *n);
/* Samples of the current series within [mint_ms, maxt_ms], time-ordered,
 * deduplicated, deletions applied. *v is valid until the next
 * storage_set_next() or storage_set_free(). May return 0 samples. */
int storage_set_samples(struct storage_set *set, const struct sample **v, size_t *n,
                        struct err *e);
/* The same, but the caller takes the array: *v is malloc'd (possibly NULL
 * when *n is 0) and the caller free()s it. No copy for readers that keep
 * every series' samples, like the query engine. */
int storage_set_take_samples(struct storage_set *set, struct sample **v, size_t *n,
                             struct err *e);
/* After storage_set_(take_)samples(): false when none of the samples is
 * NaN (no stale marker either), so readers need not look; true when some
 * may be. */
bool storage_set_maybe_nan(const struct storage_set *set);
/* ---- rollups (docs/storage.md#tiers) ---- */

/* One window of one series in a rollup tier: the samples with t in
 * [t_ms, t_ms + resolution), stale markers left out. A window without such
 * samples has no rollup. NaN values count (as in range vectors). */
struct storage_rollup {
    int64_t t_ms;           /* window start, a multiple of the resolution */
    double count;           /* samples */
    double sum;             /* Kahan-compensated sum */
    double min, max;        /* as min_over_time/max_over_time: NaN only when all are */
    int64_t first_t, last_t;
    double first, last;
    double resets;          /* counter resets inside the window: the sum of the value before
                               each drop, so increase = last - first + resets */
};

/* Append the rollups of samples v[0..n) (time-sorted, unique) for windows of
 * res_ms to *out (realloc'd; *n and *cap updated). 0 or -ENOMEM. */
int storage_rollup_compute(const struct sample *v, size_t n, int64_t res_ms,
                           struct storage_rollup **out, size_t *nout, size_t *cap);

/* Tier index (into policy->tiers) named `name`, or -1. */
int storage_tier_find(struct storage *s, const char *name);
/* The coarsest tier whose resolution divides every one of the given
 * durations (the step, the window, the offset, the first evaluation time),
 * or -1 (raw). Zero durations are ignored. */
int storage_tier_for(struct storage *s, const int64_t *durations, size_t n);
/* Does tier `tier` hold rolled-up partitions meeting [mint_ms, maxt_ms]?
 * (Else rollups would all be computed from raw samples: no gain.) */
bool storage_tier_has_data(struct storage *s, int tier, int64_t mint_ms, int64_t maxt_ms);
/* Name and resolution of tier i. */
const char *storage_tier_name(struct storage *s, int tier);
int64_t storage_tier_resolution(struct storage *s, int tier);

/* A selection read as rollups of tier `tier`: windows starting in
 * [mint_ms, maxt_ms] (rounded out to the resolution). Where the tier holds a
 * partition computed from the raw blocks still live, its rollups are read;
 * elsewhere (the head, partitions not rolled up yet or changed since) they
 * are computed from the raw samples, so the answer equals raw data wherever
 * it exists; where raw data was dropped, the tier is all there is. Series
 * come in label order; read them by index with storage_set_read_rollups()
 * and name them with storage_set_labels_at() (or storage_set_next()/labels()). */
int storage_select_rollups(struct storage *s, const struct matcher *m, size_t nm, int tier,
                           int64_t mint_ms, int64_t maxt_ms, struct storage_set **out,
                           struct err *e);
/* The fields of storage_rollup a reader of a rollup set needs, as bits:
 * FIRST is first and first_t, LAST last alone, LAST_T last_t. Tier files
 * keep each field in chunks of its own, so a reader that asks for fewer
 * decodes less; fields not asked for read as 0, count included (a reader
 * that skips it knows only that each rollup holds a sample at least).
 * Asking for none reads count (some column must give the windows).
 * Default: all. */
enum {
    STORAGE_RU_SUM = 1u << 0,
    STORAGE_RU_MIN = 1u << 1,
    STORAGE_RU_MAX = 1u << 2,
    STORAGE_RU_FIRST = 1u << 3,
    STORAGE_RU_LAST = 1u << 4,
    STORAGE_RU_RESETS = 1u << 5,
    STORAGE_RU_COUNT = 1u << 6,
    STORAGE_RU_LAST_T = 1u << 7,
    STORAGE_RU_ALL = (1u << 8) - 1,
};
void storage_set_rollup_fields(struct storage_set *set, unsigned fields);

/* One series' rollups, as storage_set_read_rollups() fills them. Owner: the
 * caller, who frees v (reused from call to call: n is reset, cap kept). */
struct storage_rollups {
    struct storage_rollup *v;
    size_t n, cap;
};
/* Most series one storage_set_read_rollups() call reads. */
#define STORAGE_ROLLUP_BATCH 8
/* The rollups of series [first, first + n) of rollup set `set` (indices in
 * its label order; n <= STORAGE_ROLLUP_BATCH) into out[0..n), read together
 * partition after partition, on the calling thread. This is how a rollup
 * set is read. It neither moves nor changes the set: several threads may
 * call it on one set at once, each for other series and with out[] of its
 * own, while nothing else uses the set (storage_set_rollup_fields()
 * before, not during). *sources |= where these series' rollups came from:
 * bit 1 when some were read from tier files, bit 0 when some were computed
 * from raw samples. 0, or an error with e filled (out[] then holds some of
 * the rollups). */
int storage_set_read_rollups(const struct storage_set *set, size_t first, size_t n,
                             struct storage_rollups *out, unsigned *sources, struct err *e);
/* Labels of series i of the set (label order), built in arena a like
 * storage_set_labels_into() (which builds the current series'). 0,
 * TIDE_EINVAL (no such series), TIDE_ELIMIT (a's cap) or -ENOMEM. */
int storage_set_labels_at(struct storage_set *set, size_t i, struct arena *a,
                          const struct label **ls, size_t *n);

/* Number of series in the set. */
size_t storage_set_count(const struct storage_set *set);
void storage_set_free(struct storage_set *set);

/* Append Prometheus' XOR chunk of v[0..n) to dst, as remote read's
 * STREAMED_XOR_CHUNKS carries it: a 2-byte big-endian sample count, then
 * the Gorilla bit stream of the head chunks (docs/format/chunks.md; the
 * same bits Prometheus' chunkenc writes). Timestamps must strictly
 * increase (storage_set_samples() gives them so); 1 <= n <= 65535.
 * 0, TIDE_EINVAL, TIDE_ELIMIT (dst's cap) or -ENOMEM; dst unchanged on failure. */
int storage_xor_chunk(struct buf *dst, const struct sample *v, size_t n);

/* Sorted, distinct label names (or values of label `name`) over the series
 * matching all matchers (nm may be 0 = all series) with samples in the range.
 * *out is a malloc'd array the caller frees; the strings are interned. */
int storage_label_names(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                        int64_t maxt_ms, struct strv **out, size_t *n, struct err *e);
int storage_label_values(struct storage *s, struct strv name, const struct matcher *m, size_t nm,
                         int64_t mint_ms, int64_t maxt_ms, struct strv **out, size_t *n,
                         struct err *e);

/* ---- status ---- */

struct storage_partition_info {
    int64_t mint_ms, maxt_ms; /* the partition's time range [mint, maxt) */
    uint32_t blocks;          /* immutable blocks in it */
    uint64_t bytes;           /* bytes on disk */
    uint64_t samples;         /* samples stored */
    uint64_t series;          /* series with samples in it (summed over blocks) */
};

struct storage_stats {
    uint64_t series;                 /* series in the registry */
    uint64_t head_series;            /* series with samples in the head */
    uint64_t head_samples;           /* samples in the head */
    uint64_t head_chunks;            /* compressed chunks in the head */
    int64_t mint_ms, maxt_ms;        /* overall time range; 0,0 when empty */
    uint64_t samples_appended_total; /* since start */
    uint64_t samples_out_of_order_total;
    uint64_t samples_rejected_total;
    uint64_t series_created_total;
    uint64_t wal_fsyncs_total;
    uint64_t wal_bytes_total;        /* bytes written to the WAL since start */
    uint64_t wal_torn_records_total; /* torn/corrupt tail records dropped at replay */
    uint64_t head_cuts_total;
    uint64_t compactions_total;
    uint64_t partitions_dropped_total;
    uint64_t bytes_on_disk;          /* WAL + blocks */
    uint64_t wal_bytes;              /* current WAL size on disk */
    uint64_t block_samples;          /* samples in blocks */
    uint64_t background_errors_total; /* failed background jobs, all kinds */
    uint64_t job_errors_total[STORAGE_JOB_N]; /* the same by storage_job */
    char last_error[256];            /* the last failure's message, "" if none */
    const char *last_error_job;      /* its storage_job_name(), NULL if none */
    int64_t last_error_ms;           /* when, Unix ms; 0 if none */
    uint64_t wal_corrupt_records_total; /* damaged regions inside WAL segments skipped at
                                           replay (records after them were recovered) */
    uint64_t wal_corrupt_bytes_total; /* bytes those regions spanned */
    uint64_t blocks_quarantined_total; /* damaged or stray .blk files moved to DIR/quarantine */
    uint64_t blocks_damaged;         /* live blocks found damaged at read time (not compacted) */
    uint64_t tombstones;             /* deleted ranges waiting for compaction */
    size_t npartitions;
    struct storage_partition_info *partitions; /* malloc'd; storage_stats_fini() */
};

int storage_stats(struct storage *s, struct storage_stats *out);
void storage_stats_fini(struct storage_stats *st);

/* Where the data goes, by job/instance and by tier, for
 * /api/v1/status/storage. Computed on demand by walking every series and
 * block index (no sample is decoded): use it for status pages, not for
 * /metrics. */
struct storage_group_info {
    struct strv job, instance; /* interned; "" when the series has no such label */
    uint64_t series;           /* series with data */
    uint64_t samples;          /* in blocks and head */
    uint64_t bytes;            /* estimate: each block file's size split over its series by
                                  their share of its compressed pages, the WAL's size by
                                  head samples; sums to bytes_on_disk */
    int64_t mint_ms, maxt_ms;  /* 0,0 when empty */
};

struct storage_tier_info {
    const char *name;              /* "raw", "5m", ... */
    int64_t resolution_ms;         /* 0 for raw */
    int64_t retention_ms;          /* 0 = forever */
    uint64_t series, samples, bytes; /* for rollup tiers a sample is one rollup point */
    int64_t mint_ms, maxt_ms;      /* 0,0 when empty */
};

struct storage_usage {
    struct storage_group_info *groups; /* sorted by bytes, descending; malloc'd */
    size_t ngroups;
    struct storage_tier_info *tiers;   /* finest first; malloc'd */
    size_t ntiers;
};

int storage_usage(struct storage *s, struct storage_usage *out);
void storage_usage_fini(struct storage_usage *u);

/* What storage_delete() with the same arguments would remove now: the
 * series with samples in [mint_ms, maxt_ms] and those samples (decoded and
 * counted, tombstones applied). For dry runs and cleanup reports. */
int storage_count(struct storage *s, const struct matcher *m, size_t nm, int64_t mint_ms,
                  int64_t maxt_ms, uint64_t *n_series, uint64_t *n_samples, struct err *e);

/* What Prometheus' /api/v1/status/tsdb shows. */
struct storage_count {
    struct strv name; /* metric name, label name or "name=value"; malloc'd for pairs */
    uint64_t value;
};

struct storage_tsdb_status {
    uint64_t num_series, num_label_pairs;
    int64_t mint_ms, maxt_ms;
    struct storage_count *by_metric;     /* series count per metric name, top N */
    size_t nby_metric;
    struct storage_count *by_label_pair; /* series count per label pair, top N */
    size_t nby_label_pair;
    struct storage_count *values_by_name; /* distinct values per label name, top N */
    size_t nvalues_by_name;
    struct storage_count *memory_by_name; /* bytes of values per label name, top N */
    size_t nmemory_by_name;
};

int storage_tsdb_status(struct storage *s, size_t topn, struct storage_tsdb_status *out);
void storage_tsdb_status_fini(struct storage_tsdb_status *st);

#endif
