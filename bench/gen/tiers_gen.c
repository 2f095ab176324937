/* tiers_gen.c: one day of the long-history data set of bench/peer/tiers.sh,
 * as Prometheus remote-write request bodies (Tide's own encoder, so Tide and
 * VictoriaMetrics receive byte-identical requests).
 *
 * Workload: --series series (a multiple of 10), host="h<i>" (series / 10
 * hosts), job="node"; per host five gauges gauge_<k> (clamped random walks,
 * two decimals) and five counters counter_<k>_total (increments of 0..1000,
 * reset to 0 about once a week). One sample every --interval seconds for the
 * day --day (0 = the oldest) of --days days ending at --end (a UTC day
 * start). Each request holds whole series of one hour, --series/--per
 * requests per hour. The state of every series at the day's start is derived
 * from a seed per (series, day), so days can be generated in any order.
 * Output: OUT/req-DDDD-NNNNNN.bin and OUT/manifest-DDDD (written last).
 * Usage: tiers_gen --out DIR --day D [--days 90] [--series 1000]
 *                  [--interval 10] [--end UNIX_SECONDS] [--per 100]
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "ingest/remote_write.h"
#include "model/batch.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return mix(*s);
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    long day = -1, days = 90, nseries = 1000, interval = 10, per = 100;
    long long end = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--out") == 0)
            out = v;
        else if (strcmp(k, "--day") == 0)
            day = atol(v);
        else if (strcmp(k, "--days") == 0)
            days = atol(v);
        else if (strcmp(k, "--series") == 0)
            nseries = atol(v);
        else if (strcmp(k, "--interval") == 0)
            interval = atol(v);
        else if (strcmp(k, "--end") == 0)
            end = atoll(v);
        else if (strcmp(k, "--per") == 0)
            per = atol(v);
        else {
            fprintf(stderr, "tiers_gen: unknown flag %s\n", k);
            return 2;
        }
    }
    if (!out || day < 0 || day >= days || nseries < 10 || nseries % 10 || interval < 1 ||
        per < 1 || end <= 0) {
        fprintf(stderr, "usage: tiers_gen --out DIR --day D --end UNIX_DAY_START [--days 90] "
                        "[--series 1000] [--interval 10] [--per 100]\n");
        return 2;
    }
    mkdir(out, 0755);
    long long day0 = end - (long long)(days - day) * 86400;
    long hosts = nseries / 10;
    /* Per-series state at the day's start. */
    double *val = malloc((size_t)nseries * sizeof *val);
    uint64_t *rng = malloc((size_t)nseries * sizeof *rng);
    char (*host)[16] = malloc((size_t)hosts * sizeof *host);
    static char names[10][24];
    for (int k = 0; k < 10; k++)
        snprintf(names[k], sizeof names[k], k < 5 ? "gauge_%d" : "counter_%d_total", k % 5);
    for (long h = 0; h < hosts; h++)
        snprintf(host[h], sizeof host[h], "h%ld", h);
    for (long s = 0; s < nseries; s++) {
        rng[s] = mix((uint64_t)s * 1000003 + (uint64_t)day * 7919 + 17);
        val[s] = s % 10 < 5 ? (double)(next(&rng[s]) % 10000) / 100 : (double)(next(&rng[s]) % 100000);
    }
    struct batch b;
    batch_init(&b);
    unsigned long nreq = 0;
    unsigned long long nsamples = 0, bytes = 0;
    char path[4096];
    for (long hour = 0; hour < 24; hour++) {
        for (long s0 = 0; s0 < nseries; s0 += per) {
            batch_reset(&b);
            for (long s = s0; s < s0 + per && s < nseries; s++) {
                long h = s / 10, k = s % 10;
                batch_begin_series(&b);
                batch_add_label(&b, STRV_LIT(LABEL_METRIC_NAME), strv_c(names[k]));
                batch_add_label(&b, STRV_LIT("host"), strv_c(host[h]));
                batch_add_label(&b, STRV_LIT("job"), STRV_LIT("node"));
                for (long long t = day0 + hour * 3600; t < day0 + (hour + 1) * 3600; t += interval) {
                    uint64_t x = next(&rng[s]);
                    if (k < 5) {
                        val[s] += (double)((int64_t)(x % 201) - 100) / 100;
                        val[s] = val[s] < 0 ? 0 : val[s] > 100 ? 100 : val[s];
                        val[s] = (double)(int64_t)(val[s] * 100 + 0.5) / 100;
                    } else {
                        val[s] += (double)(x % 1000);
                        if (x % 60480 == 0)
                            val[s] = 0; /* a reset, about weekly at 10 s */
                    }
                    batch_add_sample(&b, t * 1000, val[s]);
                    nsamples++;
                }
                batch_end_series(&b);
            }
            struct buf body;
            buf_init(&body, 0);
            struct err e = {0};
            if (remote_write_encode(&b, &body, &e) != 0) {
                fprintf(stderr, "tiers_gen: encode: %s\n", e.msg);
                return 1;
            }
            snprintf(path, sizeof path, "%s/req-%04ld-%06lu.bin", out, day, nreq++);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(body.p, 1, body.len, f) != body.len || fclose(f) != 0) {
                fprintf(stderr, "tiers_gen: %s: %s\n", path, strerror(errno));
                return 1;
            }
            bytes += body.len;
            buf_fini(&body);
        }
    }
    snprintf(path, sizeof path, "%s/manifest-%04ld", out, day);
    FILE *m = fopen(path, "w");
    if (!m)
        return 1;
    fprintf(m, "requests=%lu\nsamples=%llu\nbytes=%llu\nstart=%lld\n", nreq, nsamples, bytes,
            day0);
    fclose(m);
    batch_fini(&b);
    free(val);
    free(rng);
    free(host);
    return 0;
}
