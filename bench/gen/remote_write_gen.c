/* remote_write_gen.c: Prometheus remote-write request bodies for
 * bench/peer/remote_write.sh, built once with Tide's own encoder
 * (remote_write_encode(): protobuf WriteRequest + snappy block) so Tide and
 * VictoriaMetrics receive byte-identical requests.
 *
 * Workload: tsbs_cpu.c's TSBS cpu-only-like series (N hosts x 10 cpu fields,
 * TSBS's host tags as labels, clamped random walks, one seeded PRNG: same
 * flags, same bytes), shaped as Prometheus sends them: one sample per
 * TimeSeries, --samples of them per request, in time order.
 * Output: OUT/req-000000.bin ... and OUT/manifest (written last).
 * Built by bench/peer/remote_write.sh against the release build's libraries.
 * Usage: remote_write_gen --out DIR [--hosts 100] [--hours 6] [--interval 10]
 *                         [--end UNIX_SECONDS] [--samples 2000] [--seed 123]
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/buf.h"
#include "ingest/remote_write.h"
#include "model/batch.h"

#include "rng.h"

static const char *regions[] = {"us-east-1", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
                                "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"};
static const char *oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *arches[] = {"x64", "x86"};
static const char *teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *envs[] = {"production", "staging", "test"};
#define NFIELDS 10
static const char *fields[NFIELDS] = {
    "cpu_usage_user",   "cpu_usage_system",  "cpu_usage_idle",  "cpu_usage_nice",
    "cpu_usage_iowait", "cpu_usage_irq",     "cpu_usage_softirq", "cpu_usage_steal",
    "cpu_usage_guest",  "cpu_usage_guest_nice",
};
#define NTAGS 10
static const char *tag_names[NTAGS] = {"hostname", "region",  "datacenter",      "rack",
                                       "os",       "arch",    "team",            "service",
                                       "service_version", "service_environment"};

struct host {
    char tags[NTAGS][32];
    double v[NFIELDS];
};

static int flush(struct batch *b, const char *out, unsigned long *nreq, unsigned long long *bytes)
{
    struct buf body;
    buf_init(&body, 0);
    struct err e = {0};
    int rc = remote_write_encode(b, &body, &e);
    if (rc != 0) {
        fprintf(stderr, "remote_write_gen: encode: %s\n", e.msg);
        buf_fini(&body);
        return rc;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/req-%06lu.bin", out, *nreq);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(body.p, 1, body.len, f) != body.len || fclose(f) != 0) {
        fprintf(stderr, "remote_write_gen: %s: %s\n", path, strerror(errno));
        buf_fini(&body);
        return -EIO;
    }
    (*nreq)++;
    *bytes += body.len;
    buf_fini(&body);
    batch_reset(b);
    return 0;
}

int main(int argc, char **argv)
{
    const char *out = NULL;
    unsigned hosts = 100, interval = 10, per_req = 2000;
    double hours = 6;
    long long end = 0;
    unsigned long long seed = 123;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--out") == 0)
            out = v;
        else if (strcmp(k, "--hosts") == 0)
            hosts = (unsigned)atoi(v);
        else if (strcmp(k, "--hours") == 0)
            hours = atof(v);
        else if (strcmp(k, "--interval") == 0)
            interval = (unsigned)atoi(v);
        else if (strcmp(k, "--end") == 0)
            end = atoll(v);
        else if (strcmp(k, "--samples") == 0)
            per_req = (unsigned)atoi(v);
        else if (strcmp(k, "--seed") == 0)
            seed = strtoull(v, NULL, 10);
        else {
            fprintf(stderr, "remote_write_gen: unknown flag %s\n", k);
            return 2;
        }
    }
    if (out == NULL || hosts == 0 || interval == 0 || per_req == 0 || hours <= 0) {
        fprintf(stderr, "usage: remote_write_gen --out DIR [--hosts 100] [--hours 6] "
                        "[--interval 10] [--end UNIX_S] [--samples 2000] [--seed 123]\n");
        return 2;
    }
    if (end == 0)
        end = (long long)time(NULL) / 86400 * 86400;
    mkdir(out, 0755);
    rng_seed(seed);
    struct host *hs = calloc(hosts, sizeof *hs);
    if (hs == NULL)
        return 1;
    for (unsigned h = 0; h < hosts; h++) {
        unsigned r = rng_int(9);
        snprintf(hs[h].tags[0], 32, "host_%u", h);
        snprintf(hs[h].tags[1], 32, "%s", regions[r]);
        snprintf(hs[h].tags[2], 32, "%s%c", regions[r], 'a' + rng_int(3));
        snprintf(hs[h].tags[3], 32, "%u", rng_int(100));
        snprintf(hs[h].tags[4], 32, "%s", oses[rng_int(3)]);
        snprintf(hs[h].tags[5], 32, "%s", arches[rng_int(2)]);
        snprintf(hs[h].tags[6], 32, "%s", teams[rng_int(4)]);
        snprintf(hs[h].tags[7], 32, "%u", rng_int(20));
        snprintf(hs[h].tags[8], 32, "%u", rng_int(2));
        snprintf(hs[h].tags[9], 32, "%s", envs[rng_int(3)]);
        for (int f = 0; f < NFIELDS; f++)
            hs[h].v[f] = rng_f64() * 100;
    }
    long long steps = (long long)(hours * 3600 / interval);
    long long start = end - steps * interval;
    struct batch b;
    batch_init(&b);
    unsigned long nreq = 0;
    unsigned long long bytes = 0, samples = 0;
    for (long long s = 0; s < steps; s++) {
        int64_t t_ms = (start + s * interval) * 1000LL;
        for (unsigned h = 0; h < hosts; h++) {
            for (int f = 0; f < NFIELDS; f++) {
                double v = hs[h].v[f] + rng_norm();
                hs[h].v[f] = v < 0 ? 0 : v > 100 ? 100 : v;
                int rc = batch_begin_series(&b);
                rc = rc ? rc : batch_add_label(&b, STRV_LIT("__name__"), strv_c(fields[f]));
                for (int t = 0; t < NTAGS && rc == 0; t++)
                    rc = batch_add_label(&b, strv_c(tag_names[t]), strv_c(hs[h].tags[t]));
                rc = rc ? rc : batch_add_sample(&b, t_ms, hs[h].v[f]);
                rc = rc ? rc : batch_end_series(&b);
                if (rc != 0) {
                    fprintf(stderr, "remote_write_gen: out of memory\n");
                    return 1;
                }
                samples++;
                if (batch_samples(&b) >= per_req && flush(&b, out, &nreq, &bytes) != 0)
                    return 1;
            }
        }
    }
    if (batch_samples(&b) > 0 && flush(&b, out, &nreq, &bytes) != 0)
        return 1;
    batch_fini(&b);
    free(hs);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest", out);
    FILE *m = fopen(path, "w");
    if (m == NULL)
        return 1;
    fprintf(m, "hosts=%u\nhours=%g\ninterval=%u\nseries=%u\nsamples=%llu\nrequests=%lu\n"
               "bytes=%llu\nsamples_per_request=%u\nstart=%lld\nlast=%lld\n",
            hosts, hours, interval, hosts * NFIELDS, samples, nreq, bytes, per_req, start,
            start + (steps - 1) * interval);
    return fclose(m) == 0 ? 0 : 1;
}
