/* dump.c: the C side of tests/integration/test_fmtfloat_go.sh, which checks
 * that core/fmtfloat.c prints what Go 1.19's strconv prints (Prometheus'
 * API and PromQL text): fmtfloat_e against FormatFloat(v, 'e', -1, 64) and
 * fmtfloat_f against FormatFloat(v, 'f', -1, 64), string for string.
 * ref.go is the Go side; both read one "hex64" line per input (the IEEE bits)
 * and answer "<e form> <f form>" per line, or "<e form>" with the argument e.
 *
 *   fmtfloat_dump gen NBITS NDEC SEED        print the inputs: fixed edge cases,
 *                                            then NBITS random bit patterns and
 *                                            NDEC random decimal-looking values
 *   fmtfloat_dump cmp NBITS NDEC SEED [e]    regenerate the inputs of `gen`, read
 *                                            Go's lines for them on stdin and
 *                                            compare; exit 1 and list the first
 *                                            differences if any
 *   fmtfloat_dump eval [e]                   read inputs on stdin, print Tide's
 *                                            lines (the mirror of ref.go)
 *
 * The fixed cases: every power of two with its neighbours 1..3 ulps away and
 * all of them negated (where the rounding interval is lopsided), zeros, the
 * subnormals with few significant bits and the largest ones, DBL_MIN and
 * DBL_MAX with neighbours, the powers of ten as strtod reads "1eN", doubles
 * nearest to 17-digit decimals ending in 5 (near ties), and halves of odd
 * 53-bit integers (exact ties). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/testutil.h"
#include "core/buf.h"
#include "core/fmtfloat.h"

enum { CAT_POW2, CAT_EDGES, CAT_BITS, CAT_DECIMAL, NCATS };
static const char *const cat_names[NCATS] = {"pow2", "edges", "bits", "decimal"};

/* The generator hands each input to a sink: printed by `gen`, checked by
 * `cmp`. */
struct sink {
    bool print;
    bool with_f; /* Go's lines carry the 'f' form too */
    uint64_t n, bad;
    uint64_t per_cat[NCATS], bad_cat[NCATS];
    FILE *go;      /* Go's lines (cmp) */
    unsigned show; /* differences still to list */
    struct buf e, f;
};

/* Tide's line for v: "<e form>[ <f form>]" into s->e (s->f scratch). */
static void tide_line(struct sink *s, double v)
{
    buf_reset(&s->e);
    fmtfloat_e(&s->e, v);
    if (s->with_f) {
        buf_reset(&s->f);
        fmtfloat_f(&s->f, v);
        buf_putc(&s->e, ' ');
        buf_append(&s->e, s->f.p, s->f.len);
    }
}

static void emit(struct sink *s, int cat, double v)
{
    s->n++;
    s->per_cat[cat]++;
    if (s->print) {
        printf("%016" PRIx64 "\n", bits(v));
        return;
    }
    char line[1024];
    if (fgets(line, sizeof line, s->go) == NULL) {
        fprintf(stderr, "fmtfloat_dump: Go's output ended after %" PRIu64 " lines\n", s->n - 1);
        exit(2);
    }
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n') {
        fprintf(stderr, "fmtfloat_dump: Go's line %" PRIu64 " is cut or too long\n", s->n);
        exit(2);
    }
    line[--len] = 0;
    tide_line(s, v);
    if (len == s->e.len && memcmp(line, s->e.p, len) == 0)
        return;
    s->bad++;
    s->bad_cat[cat]++;
    if (s->show > 0) {
        s->show--;
        printf("DIFF %s %016" PRIx64 " (%a)\n  go   %s\n  tide %s\n", cat_names[cat], bits(v), v,
               line, s->e.p);
    }
}

/* v and its neighbours 1..3 ulps away, each also negated. */
static void emit_around(struct sink *s, int cat, double v)
{
    double lo = v, hi = v;
    emit(s, cat, v);
    emit(s, cat, -v);
    for (int u = 0; u < 3; u++) {
        lo = nextafter(lo, -INFINITY);
        hi = nextafter(hi, INFINITY);
        if (isfinite(lo)) {
            emit(s, cat, lo);
            emit(s, cat, -lo);
        }
        if (isfinite(hi)) {
            emit(s, cat, hi);
            emit(s, cat, -hi);
        }
    }
}

static void fixed_cases(struct sink *s, uint64_t *st)
{
    for (int i = -1074; i <= 1023; i++)
        emit_around(s, CAT_POW2, ldexp(1, i));

    emit(s, CAT_EDGES, 0.0);
    emit(s, CAT_EDGES, -0.0);
    emit(s, CAT_EDGES, INFINITY);
    emit(s, CAT_EDGES, -INFINITY);
    emit(s, CAT_EDGES, NAN);
    for (uint64_t i = 1; i <= 3000; i++) {
        emit(s, CAT_EDGES, from_bits(i));
        emit(s, CAT_EDGES, from_bits(UINT64_C(0x000FFFFFFFFFFFFF) - i + 1));
    }
    emit_around(s, CAT_EDGES, DBL_MIN);
    emit_around(s, CAT_EDGES, DBL_MAX);
    for (int i = -330; i <= 310; i++) {
        char t[16];
        snprintf(t, sizeof t, "1e%d", i);
        emit_around(s, CAT_EDGES, strtod(t, NULL));
    }
    for (int i = 0; i < 10000; i++) {
        char t[48];
        snprintf(t, sizeof t, "%" PRIu64 "%015" PRIu64 "5e%d", 1 + test_rnd(st) % 9,
                 test_rnd(st) % UINT64_C(1000000000000000), (int)(test_rnd(st) % 650) - 340);
        emit(s, CAT_EDGES, strtod(t, NULL));
    }
    for (int i = 0; i < 10000; i++) {
        uint64_t m = UINT64_C(1) << 52 | test_rnd(st) >> 12 | 1;
        emit(s, CAT_EDGES, ldexp((double)m, -1 - (int)(test_rnd(st) % 6)));
        emit(s, CAT_EDGES, ldexp((double)m, (int)(test_rnd(st) % 2098) - 1126));
    }
}

/* What metrics look like: a random integer of 1..17 digits over 10^k,
 * k = 0..20, divided in floating point or read by strtod, and scaled by any
 * power of ten through strtod; a random sign. */
static double rnd_decimal(uint64_t *st)
{
    static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9, 1e10,
                                 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20};
    uint64_t r = test_rnd(st);
    int digits = 1 + (int)(r % 17);
    int k = (int)(r / 17 % 21);
    uint64_t lim = 1;
    for (int j = 0; j < digits; j++)
        lim *= 10;
    uint64_t x = test_rnd(st) % lim;
    char t[48];
    double v;
    switch (r >> 60 & 3) {
    case 0:
    case 1:
        v = (double)x / p10[k];
        break;
    case 2:
        snprintf(t, sizeof t, "%" PRIu64 "e-%d", x, k);
        v = strtod(t, NULL);
        break;
    default:
        snprintf(t, sizeof t, "%" PRIu64 "e%d", x, (int)(r / 357 % 650) - 340);
        v = strtod(t, NULL);
        break;
    }
    return r >> 63 ? -v : v;
}

static void generate(struct sink *s, uint64_t nbits, uint64_t ndec, uint64_t seed)
{
    uint64_t st = seed * 0x9E3779B97F4A7C15ULL + 1;
    fixed_cases(s, &st);
    for (uint64_t i = 0; i < nbits; i++)
        emit(s, CAT_BITS, from_bits(test_rnd(&st)));
    for (uint64_t i = 0; i < ndec; i++)
        emit(s, CAT_DECIMAL, rnd_decimal(&st));
}

/* ---- eval: the mirror of ref.go ---- */

static int eval(struct sink *s)
{
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *end;
        uint64_t u = strtoull(line, &end, 16);
        if (end == line || (*end != '\n' && *end != 0)) {
            fprintf(stderr, "fmtfloat_dump: bad input line: %s", line);
            return 2;
        }
        tide_line(s, from_bits(u));
        printf("%s\n", s->e.p);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct sink s = {.go = stdin, .show = 20, .with_f = true};
    buf_init(&s.e, 0);
    buf_init(&s.f, 0);
    const char *mode = argc >= 2 ? argv[1] : "";
    int rc = 2;
    if (strcmp(mode, "eval") == 0 && argc <= 3) {
        s.with_f = !(argc == 3 && strcmp(argv[2], "e") == 0);
        rc = eval(&s);
    } else if ((strcmp(mode, "gen") == 0 && argc == 5) ||
               (strcmp(mode, "cmp") == 0 && (argc == 5 || argc == 6))) {
        s.print = strcmp(mode, "gen") == 0;
        s.with_f = !(argc == 6 && strcmp(argv[5], "e") == 0);
        generate(&s, strtoull(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
                 strtoull(argv[4], NULL, 10));
        rc = 0;
        if (!s.print) {
            char extra[64];
            if (fgets(extra, sizeof extra, stdin) != NULL) {
                fprintf(stderr, "fmtfloat_dump: Go gave more lines than inputs\n");
                rc = 2;
            } else {
                for (int c = 0; c < NCATS; c++)
                    printf("%-8s %10" PRIu64 " inputs, %" PRIu64 " differ\n", cat_names[c],
                           s.per_cat[c], s.bad_cat[c]);
                printf("total    %10" PRIu64 " inputs, %" PRIu64 " differ (%s)\n", s.n, s.bad,
                       s.with_f ? "'e' and 'f' forms" : "'e' form");
                rc = s.bad == 0 ? 0 : 1;
            }
        }
    } else {
        fprintf(stderr, "usage: fmtfloat_dump gen|cmp NBITS NDEC SEED [e] | eval [e]\n");
    }
    buf_fini(&s.e);
    buf_fini(&s.f);
    return rc;
}
