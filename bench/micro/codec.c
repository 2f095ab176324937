/* codec.c: micro benchmark of storage's sample codecs on a TSBS cpu-only-like
 * workload (hosts x 10 cpu fields, 10 s interval, random-walk values), at
 * full float precision and rounded to 2 decimals. Prints bytes/sample and
 * ns/sample for head Gorilla chunks (chunk.c), the block column codec
 * (series_codec.c) and whole block files (series_codec + zstd pages, block.c)
 * at several zstd levels. Figures go to docs/format/chunks.md.
 *
 * Not built by default. Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc bench/micro/codec.c \
 *       src/storage/{bitstream,chunk,series_codec,block}.c src/core/{buf,err,hash,fs}.c \
 *       src/model/labels.c $(pkg-config --libs libzstd zlib libxxhash) -lpthread -lm \
 *       -o /tmp/bench_codec && /tmp/bench_codec [hosts] [samples_per_series]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "storage/block.h"
#include "storage/chunk.h"

static const char *fields[] = {"usage_user", "usage_system", "usage_idle", "usage_nice",
                               "usage_iowait", "usage_irq", "usage_softirq", "usage_steal",
                               "usage_guest", "usage_guest_nice"};
#define NFIELDS 10

static uint64_t rng = 0x853c49e6748fea9bULL;

static double unif(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* TSBS' cpu-only generator: each field a random walk clamped to [0, 100]. */
static void generate(struct sample **s, size_t nseries, size_t n, bool rounded)
{
    for (size_t i = 0; i < nseries; i++) {
        double v = unif() * 100;
        int64_t t = 1700000000000LL;
        for (size_t j = 0; j < n; j++) {
            v += (unif() - 0.5) * 2;
            v = v < 0 ? 0 : v > 100 ? 100 : v;
            s[i][j].t_ms = t;
            s[i][j].v = rounded ? round(v * 100) / 100 : v;
            t += 10000;
        }
    }
}

static void bench_chunks(struct sample **s, size_t nseries, size_t n)
{
    struct buf *bufs = calloc(nseries * (n / CHUNK_MAX_SAMPLES + 1), sizeof *bufs);
    size_t nb = 0, bytes = 0;
    double t0 = now_ns();
    for (size_t i = 0; i < nseries; i++) {
        struct chunk_enc e;
        for (size_t j = 0; j < n; j++) {
            if (j % CHUNK_MAX_SAMPLES == 0) {
                buf_init(&bufs[nb], 0);
                chunk_enc_init(&e, &bufs[nb++]);
            }
            chunk_enc_append(&e, s[i][j].t_ms, s[i][j].v);
        }
    }
    double t1 = now_ns();
    double sink = 0;
    for (size_t k = 0; k < nb; k++) {
        struct chunk_dec d;
        chunk_dec_init(&d, bufs[k].p, bufs[k].len, CHUNK_MAX_SAMPLES);
        while (chunk_dec_next(&d)) {
            int64_t t;
            double v;
            chunk_dec_at(&d, &t, &v);
            sink += v;
        }
        bytes += bufs[k].len;
    }
    double t2 = now_ns();
    double total = (double)(nseries * n);
    printf("  head chunks (%d/chunk)      %6.3f B/sample  enc %5.1f ns  dec %5.1f ns  (%g)\n",
           CHUNK_MAX_SAMPLES, (double)bytes / total, (t1 - t0) / total, (t2 - t1) / total,
           sink > 0 ? 0.0 : 1.0);
    for (size_t k = 0; k < nb; k++)
        buf_fini(&bufs[k]);
    free(bufs);
}

static void bench_series_codec(struct sample **s, size_t nseries, size_t n)
{
    struct buf b;
    buf_init(&b, 0);
    size_t *off = malloc((nseries + 1) * sizeof *off);
    size_t modes[5] = {0};
    double t0 = now_ns();
    for (size_t i = 0; i < nseries; i++) {
        off[i] = b.len;
        series_codec_encode(&b, s[i], n);
    }
    off[nseries] = b.len;
    double t1 = now_ns();
    struct sample *v = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < nseries; i++) {
        size_t got = 0;
        series_codec_decode(b.p + off[i], off[i + 1] - off[i], &v, &got, &cap, NULL);
    }
    double t2 = now_ns();
    for (size_t i = 0; i < nseries; i++)
        modes[series_codec_mode(b.p + off[i], off[i + 1] - off[i])]++;
    double total = (double)(nseries * n);
    printf("  series_codec                %6.3f B/sample  enc %5.1f ns  dec %5.1f ns  "
           "(modes: const %zu, dec-delta %zu, dec-dod %zu, xor %zu)\n",
           (double)b.len / total, (t1 - t0) / total, (t2 - t1) / total, modes[1], modes[2],
           modes[3], modes[4]);
    free(v);
    free(off);
    buf_fini(&b);
}

static void bench_block(struct sample **s, size_t nseries, size_t n, int level)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/tide-bench-codec-%d.blk", (int)getpid());
    struct block_writer *w;
    block_writer_new(&w, path, NULL);
    block_writer_set_level(w, level);
    char host[32];
    double t0 = now_ns();
    /* Label order: __name__ "cpu", field, host. Sort fields once by name. */
    size_t order[NFIELDS];
    for (size_t f = 0; f < NFIELDS; f++)
        order[f] = f;
    for (size_t a = 0; a < NFIELDS; a++)
        for (size_t c = a + 1; c < NFIELDS; c++)
            if (strcmp(fields[order[c]], fields[order[a]]) < 0) {
                size_t x = order[a];
                order[a] = order[c];
                order[c] = x;
            }
    size_t hosts = nseries / NFIELDS;
    for (size_t fi = 0; fi < NFIELDS; fi++)
        for (size_t h = 0; h < hosts; h++) {
            snprintf(host, sizeof host, "host_%06zu", h);
            struct label ls[3] = {{STRV_LIT("__name__"), STRV_LIT("cpu")},
                                  {STRV_LIT("field"), strv_c(fields[order[fi]])},
                                  {STRV_LIT("hostname"), strv_c(host)}};
            size_t i = h * NFIELDS + order[fi];
            block_writer_add(w, ls, 3, s[i], n, NULL);
        }
    struct err e = {0};
    if (block_writer_finish(w, &e) != 0) {
        printf("block write failed: %s\n", e.msg);
        return;
    }
    double t1 = now_ns();
    struct block *b;
    if (block_open(&b, path, &e) != 0) {
        printf("block open failed: %s\n", e.msg);
        return;
    }
    struct sample *v = NULL;
    size_t cap = 0;
    for (uint64_t i = 0; i < block_meta(b)->nseries; i++) {
        size_t got = 0;
        block_series_samples(b, i, &v, &got, &cap, NULL);
    }
    double t2 = now_ns();
    double total = (double)(nseries * n);
    printf("  block file, zstd level %2d   %6.3f B/sample  write %5.1f ns  read %5.1f ns  "
           "(%llu bytes incl. index)\n",
           level, (double)block_meta(b)->bytes / total, (t1 - t0) / total, (t2 - t1) / total,
           (unsigned long long)block_meta(b)->bytes);
    free(v);
    block_mark_deleted(b);
    block_unref(b);
}

int main(int argc, char **argv)
{
    size_t hosts = argc > 1 ? strtoul(argv[1], NULL, 10) : 100;
    size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 720;
    size_t nseries = hosts * NFIELDS;
    struct sample **s = malloc(nseries * sizeof *s);
    for (size_t i = 0; i < nseries; i++)
        s[i] = malloc(n * sizeof **s);
    printf("TSBS cpu-only-like: %zu hosts x %d fields = %zu series x %zu samples, 10 s interval\n",
           hosts, NFIELDS, nseries, n);
    for (int rounded = 0; rounded < 2; rounded++) {
        generate(s, nseries, n, rounded);
        printf("%s values (raw: 16 B/sample)\n", rounded ? "2-decimal" : "full-precision");
        bench_chunks(s, nseries, n);
        bench_series_codec(s, nseries, n);
        static const int levels[] = {1, 3, 9, 19};
        for (size_t l = 0; l < sizeof levels / sizeof levels[0]; l++)
            bench_block(s, nseries, n, levels[l]);
    }
    for (size_t i = 0; i < nseries; i++)
        free(s[i]);
    free(s);
    return 0;
}
