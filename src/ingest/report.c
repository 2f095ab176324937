/* report.c: the per-request record of bad input lines (see ingest.h), and
 * the shortest round-trip float text every formatter uses. */
#include "ingest/ingest.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ingest_report_init(struct ingest_report *r)
{
    memset(r, 0, sizeof *r);
}

void ingest_report_bad(struct ingest_report *r, const struct err *e)
{
    r->lines_bad++;
    if (r->nerrs < INGEST_MAX_REPORTED)
        r->errs[r->nerrs++] = *e;
}

int ingest_format_float(char *buf, double v)
{
    if (isnan(v))
        return snprintf(buf, 32, "NaN");
    if (isinf(v))
        return snprintf(buf, 32, v > 0 ? "+Inf" : "-Inf");
    /* Integers print as integers ("-1500", not "-1.5e+03"). */
    if (fabs(v) < 1e15 && v == (double)(long long)v && !(v == 0 && signbit(v)))
        return snprintf(buf, 32, "%lld", (long long)v);
    /* Else the shortest text that reads back to the same bits: when some text
     * of k <= 15 significant digits does, %.15g prints exactly it (trailing
     * zeros trimmed), since v lies within half an ulp of it; else 16 or 17. */
    /* Subnormals carry fewer digits of precision: search from 1 there. */
    for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 16; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return n;
    }
    return snprintf(buf, 32, "%.17g", v);
}
