/* ingest_parse.c: micro benchmark of the line parsers (influx.c, expfmt.c)
 * on Telegraf-style input: 3 tags, 4 fields per line, 200 hosts. Prints
 * MB/s and samples/s (CPU time, best of 7 runs into one reused batch), so the cost of a change to
 * the parse path (e.g. labels_validate() on every series) can be measured. Figures go to
 * docs/api/write.md.
 *
 * Not built by default. Build and run from the repository root:
 *   gcc -std=gnu11 -O2 -D_GNU_SOURCE -Isrc bench/micro/ingest_parse.c \
 *       src/ingest/{influx,expfmt,jsontok,report}.c src/model/{batch,labels}.c \
 *       src/core/{arena,buf,err,hash,fmtfloat,fmtfloat_sf}.c $(pkg-config --libs libxxhash zlib) -lm \
 *       -o /tmp/bench_ingest && /tmp/bench_ingest [lines]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "ingest/expfmt.h"
#include "ingest/ingest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine may be shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int parse_fn(const char *p, size_t n, struct batch *b, struct ingest_report *r);

static int run_influx(const char *p, size_t n, struct batch *b, struct ingest_report *r)
{
    struct influx_opts o = {INFLUX_NS, 0};
    return influx_parse(p, n, &o, b, r);
}

static int run_expfmt(const char *p, size_t n, struct batch *b, struct ingest_report *r)
{
    struct expfmt_opts o = {0};
    return expfmt_parse(p, n, &o, b, r);
}

static void bench(const char *what, parse_fn *fn, const struct buf *in)
{
    double best = 1e9;
    size_t samples = 0;
    struct batch b;
    batch_init(&b);
    for (int k = 0; k < 7; k++) { /* the first run grows the batch; the best is kept */
        struct ingest_report r;
        batch_reset(&b);
        ingest_report_init(&r);
        double t0 = now_s();
        if (fn(in->p, in->len, &b, &r) != 0 || r.lines_bad != 0) {
            fprintf(stderr, "%s: parse failed (%zu bad lines)\n", what, r.lines_bad);
            exit(1);
        }
        double dt = now_s() - t0;
        samples = b.nsamples;
        if (dt < best)
            best = dt;
    }
    batch_fini(&b);
    printf("%-8s %8.1f MB/s %8.2f M samples/s (%zu bytes, %zu samples)\n", what,
           (double)in->len / best / 1e6, (double)samples / best / 1e6, in->len, samples);
}

int main(int argc, char **argv)
{
    size_t lines = argc > 1 ? (size_t)atol(argv[1]) : 200000;
    struct buf lp, prom;
    buf_init(&lp, 0);
    buf_init(&prom, 0);
    static const char *const fields[] = {"usage_user", "usage_system", "usage_idle",
                                         "usage_iowait"};
    for (size_t i = 0; i < lines; i++) {
        long long t = 1700000000000LL + (long long)(i / 200) * 10000;
        buf_printf(&lp, "cpu,host=host_%zu,region=eu-west-1,cpu=cpu-total ", i % 200);
        for (int f = 0; f < 4; f++)
            buf_printf(&lp, "%s%s=%.2f", f ? "," : "", fields[f], (double)(i % 997) / 7.0 + f);
        buf_printf(&lp, " %lld000000\n", t);
        for (int f = 0; f < 4; f++)
            buf_printf(
                &prom,
                "cpu_%s{cpu=\"cpu-total\",host=\"host_%zu\",region=\"eu-west-1\"} %.2f %lld\n",
                fields[f], i % 200, (double)(i % 997) / 7.0 + f, t);
    }
    bench("influx", run_influx, &lp);
    bench("expfmt", run_expfmt, &prom);
    buf_fini(&lp);
    buf_fini(&prom);
    return 0;
}
