/* report.c: the per-request record of bad input lines (see ingest.h), and
 * the float text of the export formats (core/fmtfloat.c's %g layout). */
#include "ingest/ingest.h"

#include <string.h>

#include "core/fmtfloat.h"

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
    return fmtfloat_g(buf, v);
}
