/* tsbs_cpu.c: a TSBS "cpu-only"-like workload generator, written from the
 * description of TSBS's devops use case (no TSBS code is used).
 *
 * N hosts, each with TSBS's 10 host tags, emit the measurement `cpu` with
 * TSBS's 10 fields every INTERVAL seconds over a time span. Every field is a
 * random walk (step ~ Normal(0,1)) clamped to [0,100], started at a uniform
 * value in [0,100), as TSBS's ClampedRandomWalk does. Everything is drawn from
 * one seeded PRNG, so the same flags give byte-identical output.
 *
 * Output: Influx line protocol, rows ordered by time then host (as TSBS does),
 * split into files of --batch lines: OUT/batch-000000.lp, ... plus
 * OUT/manifest with the parameters and totals (written last).
 *
 * Build: cc -O2 -o tsbs_cpu tsbs_cpu.c -lm
 * Usage: tsbs_cpu --out DIR [--hosts 100] [--hours 24] [--interval 10]
 *                 [--end UNIX_SECONDS] [--seed 123] [--batch 10000]
 *                 [--precision ns|s] [--digits -1]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "rng.h"

/* ---- TSBS devops host tag value sets ---- */
struct region {
    const char *name;
    const char *dcs[4];
    int ndc;
};
static const struct region regions[] = {
    {"us-east-1", {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"}, 4},
    {"us-west-1", {"us-west-1a", "us-west-1b"}, 2},
    {"us-west-2", {"us-west-2a", "us-west-2b", "us-west-2c"}, 3},
    {"eu-west-1", {"eu-west-1a", "eu-west-1b", "eu-west-1c"}, 3},
    {"eu-central-1", {"eu-central-1a", "eu-central-1b"}, 2},
    {"ap-southeast-1", {"ap-southeast-1a", "ap-southeast-1b"}, 2},
    {"ap-southeast-2", {"ap-southeast-2a", "ap-southeast-2b"}, 2},
    {"ap-northeast-1", {"ap-northeast-1a", "ap-northeast-1c"}, 2},
    {"sa-east-1", {"sa-east-1a", "sa-east-1b", "sa-east-1c"}, 3},
};
static const char *oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *arches[] = {"x64", "x86"};
static const char *teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *envs[] = {"production", "staging", "test"};

#define NFIELDS 10
static const char *fields[NFIELDS] = {
    "usage_user", "usage_system", "usage_idle", "usage_nice", "usage_iowait",
    "usage_irq", "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct host {
    char *tags; /* ",hostname=...,...,service_environment=..." */
    double v[NFIELDS];
};

static void usage(void)
{
    fprintf(stderr,
            "usage: tsbs_cpu --out DIR [--hosts N=100] [--hours H=24] [--interval S=10]\n"
            "                [--end UNIX_SECONDS (default: start of the current UTC day)]\n"
            "                [--seed N=123] [--batch LINES=10000] [--precision ns|s]\n"
            "                [--digits D (-2 = integers as TSBS writes them, e.g. 58i; default;\n"
            "                             -1 = shortest round-trip float; D >= 0 = D decimals)]\n");
    exit(2);
}

/* Format v: as a line-protocol integer ("58i", TSBS' own cpu-only output)
 * when digits == -2; without an exponent, shortest round-trip (<=17
 * significant digits) when digits == -1; else with `digits` decimals and
 * trailing zeros trimmed. */
static int fmt_value(char *buf, size_t cap, double v, int digits)
{
    int n;
    if (digits == -2)
        return snprintf(buf, cap, "%lldi", (long long)v);
    if (v != 0 && fabs(v) < 1e-4)
        v = 0; /* avoid %g exponents; tiny values are negligible here */
    if (digits >= 0) {
        n = snprintf(buf, cap, "%.*f", digits, v);
        if (strchr(buf, '.')) {
            while (n > 0 && buf[n - 1] == '0')
                buf[--n] = 0;
            if (n > 0 && buf[n - 1] == '.')
                buf[--n] = 0;
        }
        return n;
    }
    for (int p = 15; p <= 17; p++) {
        n = snprintf(buf, cap, "%.*g", p, v);
        if (p == 17 || strtod(buf, NULL) == v)
            break;
    }
    return n;
}

int main(int argc, char **argv)
{
    long hosts = 100, interval = 10, batch = 10000, digits = -2;
    double hours = 24;
    long long end = -1;
    unsigned long long seed = 123;
    const char *out = NULL, *precision = "ns";

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            usage();
        if (!v)
            usage();
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--hosts"))
            hosts = atol(v);
        else if (!strcmp(a, "--hours"))
            hours = atof(v);
        else if (!strcmp(a, "--interval"))
            interval = atol(v);
        else if (!strcmp(a, "--end"))
            end = atoll(v);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--batch"))
            batch = atol(v);
        else if (!strcmp(a, "--precision"))
            precision = v;
        else if (!strcmp(a, "--digits"))
            digits = atol(v);
        else
            usage();
        i++;
    }
    if (!out || hosts <= 0 || hours <= 0 || interval <= 0 || batch <= 0 ||
        (strcmp(precision, "ns") && strcmp(precision, "s")))
        usage();
    if (end < 0) {
        time_t now = time(NULL);
        end = (long long)now / 86400 * 86400;
    }
    long long span = (long long)(hours * 3600);
    long long ticks = span / interval;
    long long start = end - ticks * interval; /* samples at start, ..., end - interval */
    int ns = !strcmp(precision, "ns");

    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        perror(out);
        return 1;
    }

    rng_seed(seed);
    struct host *h = calloc((size_t)hosts, sizeof *h);
    if (!h)
        return 1;
    for (long i = 0; i < hosts; i++) {
        const struct region *r = &regions[rng_int(N_ELEMS(regions))];
        const char *dc = r->dcs[rng_int((unsigned)r->ndc)];
        unsigned rack = rng_int(100);
        const char *os = oses[rng_int(N_ELEMS(oses))];
        const char *arch = arches[rng_int(N_ELEMS(arches))];
        const char *team = teams[rng_int(N_ELEMS(teams))];
        unsigned service = rng_int(20);
        unsigned sver = rng_int(2);
        const char *env = envs[rng_int(N_ELEMS(envs))];
        char tmp[512];
        snprintf(tmp, sizeof tmp,
                 ",hostname=host_%ld,region=%s,datacenter=%s,rack=%u,os=%s,arch=%s,team=%s,"
                 "service=%u,service_version=%u,service_environment=%s",
                 i, r->name, dc, rack, os, arch, team, service, sver, env);
        h[i].tags = strdup(tmp);
        for (int f = 0; f < NFIELDS; f++)
            h[i].v[f] = rng_f64() * 100.0;
    }

    char path[4096];
    FILE *fp = NULL;
    long nfile = 0, inbatch = 0;
    long long lines = 0;
    static char obuf[1 << 20];
    for (long long t = 0; t < ticks; t++) {
        long long ts = start + t * interval;
        for (long i = 0; i < hosts; i++) {
            if (!fp) {
                snprintf(path, sizeof path, "%s/batch-%06ld.lp", out, nfile++);
                fp = fopen(path, "w");
                if (!fp) {
                    perror(path);
                    return 1;
                }
                setvbuf(fp, obuf, _IOFBF, sizeof obuf);
            }
            char line[1024];
            int n = snprintf(line, sizeof line, "cpu%s ", h[i].tags);
            for (int f = 0; f < NFIELDS; f++) {
                n += snprintf(line + n, sizeof line - n, "%s%s=", f ? "," : "", fields[f]);
                n += fmt_value(line + n, sizeof line - n, h[i].v[f], (int)digits);
            }
            if (ns)
                n += snprintf(line + n, sizeof line - n, " %lld000000000\n", ts);
            else
                n += snprintf(line + n, sizeof line - n, " %lld\n", ts);
            fwrite(line, 1, (size_t)n, fp);
            lines++;
            if (++inbatch == batch) {
                if (fclose(fp) != 0) {
                    perror(path);
                    return 1;
                }
                fp = NULL;
                inbatch = 0;
            }
            /* advance the walks: state += N(0,1), clamped to [0,100] */
            for (int f = 0; f < NFIELDS; f++) {
                double x = h[i].v[f] + rng_norm();
                h[i].v[f] = x < 0 ? 0 : x > 100 ? 100 : x;
            }
        }
    }
    if (fp && fclose(fp) != 0) {
        perror(path);
        return 1;
    }

    snprintf(path, sizeof path, "%s/manifest", out);
    FILE *m = fopen(path, "w");
    if (!m) {
        perror(path);
        return 1;
    }
    fprintf(m,
            "hosts=%ld\nhours=%g\ninterval=%ld\nstart=%lld\nend=%lld\nlast=%lld\nseed=%llu\n"
            "batch=%ld\nprecision=%s\ndigits=%ld\nfiles=%ld\nlines=%lld\nseries=%ld\n"
            "samples=%lld\n",
            hosts, hours, interval, start, end, start + (ticks - 1) * interval, seed, batch,
            precision, digits, nfile, lines, hosts * (long)NFIELDS, lines * NFIELDS);
    if (fclose(m) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}
