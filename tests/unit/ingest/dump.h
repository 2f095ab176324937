/* dump.h: a batch and a parse report as text for the ingest tests.
 * dump_batch(): one sample per line,
 *   name{k="v",...} value t_ms
 * labels in the batch's (sorted) order with __name__ pulled out front; the
 * value as ingest_format_float() writes it, "StaleNaN" for the stale marker.
 * render_rows(): the table form `labels|t_ms|value`, one series per line.
 * render_errs(): the report's error positions as `line:col ...`.
 * check_report(): a parse's dump and report against a test case. */
#ifndef TIDE_TESTS_INGEST_DUMP_H
#define TIDE_TESTS_INGEST_DUMP_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "model/batch.h"

static inline void dump_batch(struct buf *out, const struct batch *b)
{
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = b->labels + s->label_off;
        struct strv name = labels_get(ls, s->nlabels, STRV_LIT("__name__"));
        for (uint32_t j = 0; j < s->nsamples; j++) {
            const struct sample *v = &b->samples[s->sample_off + j];
            buf_append(out, name.p, name.n);
            buf_putc(out, '{');
            int first = 1;
            for (uint32_t k = 0; k < s->nlabels; k++) {
                if (strv_eq_c(ls[k].name, "__name__"))
                    continue;
                buf_printf(out, "%s%.*s=\"%.*s\"", first ? "" : ",", (int)ls[k].name.n,
                           ls[k].name.p, (int)ls[k].value.n, ls[k].value.p);
                first = 0;
            }
            uint64_t bits;
            memcpy(&bits, &v->v, sizeof bits);
            char tmp[32];
            if (bits == STALE_NAN_BITS)
                strcpy(tmp, "StaleNaN");
            else
                ingest_format_float(tmp, v->v);
            buf_printf(out, "} %s %" PRId64 "\n", tmp, v->t_ms);
        }
    }
}

/* The batch as `labels|t_ms|value` lines (labels `name=value` joined by ','). */
static inline void render_rows(const struct batch *b, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        for (uint32_t j = 0; j < s->nlabels; j++) {
            const struct label *l = &b->labels[s->label_off + j];
            n += (size_t)snprintf(out + n, cap - n, "%s%.*s=%.*s", j ? "," : "", (int)l->name.n,
                                  l->name.p, (int)l->value.n, l->value.p);
        }
        for (uint32_t j = 0; j < s->nsamples; j++) {
            const struct sample *sm = &b->samples[s->sample_off + j];
            char v[32];
            ingest_format_float(v, sm->v);
            n += (size_t)snprintf(out + n, cap - n, "|%" PRId64 "|%s\n", sm->t_ms, v);
        }
    }
}

/* The positions of the reported errors, `line:col` joined by ' '. */
static inline void render_errs(const struct ingest_report *r, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->nerrs; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%d:%d", i ? " " : "", r->errs[i].line,
                              r->errs[i].col);
}

/* Case NAME: the dump OUT is WANT, the report counts OK good and BAD bad
 * lines and, when ERR is not NULL, its first error contains ERR at LINE:COL
 * (COL 0: any column). */
static inline void check_report(const char *name, const struct buf *out, const char *want,
                                const struct ingest_report *r, size_t ok, size_t bad,
                                const char *err, int line, int col)
{
    const char *got = out->p ? out->p : "";
    if (strcmp(got, want) != 0)
        fail_msg("%s:\n got: %s\nwant: %s", name, got, want);
    if (r->lines_ok != ok || r->lines_bad != bad)
        fail_msg("%s: ok=%zu bad=%zu, want %zu %zu (%s)", name, r->lines_ok, r->lines_bad, ok, bad,
                 r->nerrs ? r->errs[0].msg : "");
    if (err != NULL) {
        if (r->nerrs == 0 || strstr(r->errs[0].msg, err) == NULL)
            fail_msg("%s: error \"%s\", want \"%s\"", name, r->nerrs ? r->errs[0].msg : "", err);
        if (r->errs[0].line != line || (col && r->errs[0].col != col))
            fail_msg("%s: error at %d:%d, want %d:%d (%s)", name, r->errs[0].line, r->errs[0].col,
                     line, col, r->errs[0].msg);
    }
}

#endif
