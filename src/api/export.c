/* export.c: VictoriaMetrics-compatible export, streamed.
 *
 *   GET|POST /api/v1/export       JSON lines, one series per line (import's format)
 *   GET|POST /api/v1/export/csv   CSV rows, columns chosen by `format`, after a
 *                                 header row naming them (header=false: none)
 *
 * The handler checks every parameter and runs the first storage_select()
 * itself, so a bad request still gets a proper 400. The body is then
 * produced by a stream that walks selector after selector, series after
 * series, formatting at most EXPORT_ROWS_PER_LINE samples at a time into a
 * chunk buffer; memory stays bounded whatever the export's size. A series
 * selected by several match[] is written once (params_matched_before()).
 * An error after the first byte can only cut the chunked body short, which
 * clients see as a truncated transfer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/json.h"
#include "api/params.h"
#include "api/router.h"
#include "core/log.h"
#include "ingest/ingest.h"
#include "storage/storage.h"

#define EXPORT_ROWS_PER_LINE 10000 /* default split of a long series into lines */
#define EXPORT_CHUNK_MAX ((size_t)64 << 20)

struct export
{
    struct storage *storage;
    struct selectors sel;
    int64_t mint_ms, maxt_ms;
    bool csv;
    bool header;             /* csv: the header row is still to be written */
    struct csv_format fmt;   /* for csv */
    size_t rows_per_line;    /* jsonl: samples per line */
    size_t next_sel;         /* selector to select after `set` ends */
    struct storage_set *set; /* current selector's series, or NULL */
    const struct label *ls;  /* current series' labels (interned) */
    size_t nls;
    const struct sample *v; /* its samples, valid until storage_set_next() */
    size_t nv, pos;         /* samples and the next one to format */
    struct buf chunk;       /* formatted, not yet sent */
    size_t off;             /* bytes of chunk already sent */
    bool failed;            /* the error line is in `chunk`: abort once it is sent */
    struct err err;         /* what failed, for the error line */
};

static void export_free(void *cls)
{
    struct export *x = cls;
    if (x->set)
        storage_set_free(x->set);
    params_fini(&x->sel);
    buf_fini(&x->chunk);
    free(x);
}

/* Move to the next series with samples. 1 when there is one, 0 at the end,
 * negative on error. */
static int next_series(struct export *x)
{
    for (;;) {
        if (x->set == NULL) {
            if (x->next_sel >= x->sel.n)
                return 0;
            struct selector *s = &x->sel.v[x->next_sel++];
            struct err e = {0};
            int rc = storage_select(x->storage, s->m, s->n, x->mint_ms, x->maxt_ms, &x->set, &e);
            if (rc != 0) {
                x->err = e;
                return rc;
            }
        }
        if (!storage_set_next(x->set)) {
            storage_set_free(x->set);
            x->set = NULL;
            continue;
        }
        storage_set_labels(x->set, &x->ls, &x->nls);
        if (params_matched_before(&x->sel, x->next_sel - 1, x->ls, x->nls))
            continue;
        struct err e = {0};
        int rc = storage_set_samples(x->set, &x->v, &x->nv, &e);
        if (rc != 0) {
            x->err = e;
            return rc;
        }
        x->pos = 0;
        if (x->nv > 0)
            return 1;
    }
}

/* Replace what is pending with the error line (see the file comment). */
static void fail_stream(struct export *x, int rc)
{
    const char *msg = x->err.msg[0] ? x->err.msg : tide_strerror(rc);
    log_warn("export", "export aborted after %s: %s", x->csv ? "CSV rows" : "JSON lines", msg);
    buf_reset(&x->chunk);
    x->off = 0;
    x->failed = true;
    char line[400];
    snprintf(line, sizeof line, "export aborted, the data above is incomplete: %s", msg);
    if (x->csv) {
        buf_printf(&x->chunk, "# error: %s\n", line);
        return;
    }
    buf_puts(&x->chunk, "{\"error\":");
    json_quote(&x->chunk, line, strlen(line));
    buf_puts(&x->chunk, "}\n");
}

static ssize_t export_read(void *cls, char *out, size_t max)
{
    struct export *x = cls;
    while (x->off >= x->chunk.len) {
        if (x->failed)
            return HTTP_STREAM_ERROR;
        buf_reset(&x->chunk);
        x->off = 0;
        if (x->header) {
            x->header = false;
            int rc = csv_format_header(&x->chunk, &x->fmt);
            if (rc != 0) {
                x->err = (struct err){0};
                fail_stream(x, rc);
            }
            continue;
        }
        if (x->pos >= x->nv) {
            int rc = next_series(x);
            if (rc == 0)
                return HTTP_STREAM_END;
            if (rc < 0) {
                fail_stream(x, rc);
                continue;
            }
        }
        size_t n = x->nv - x->pos;
        if (n > x->rows_per_line)
            n = x->rows_per_line;
        int rc = x->csv ? csv_format_rows(&x->chunk, &x->fmt, x->ls, x->nls, x->v + x->pos, n)
                        : jsonl_format(&x->chunk, x->ls, x->nls, x->v + x->pos, n);
        if (rc != 0) {
            x->err = (struct err){0};
            fail_stream(x, rc);
            continue;
        }
        x->pos += n;
    }
    size_t n = x->chunk.len - x->off;
    if (n > max)
        n = max;
    memcpy(out, x->chunk.p + x->off, n);
    x->off += n;
    return (ssize_t)n;
}

static void start_export(struct http_req *rq, struct http_resp *rs, bool csv)
{
    struct export *x = calloc(1, sizeof *x);
    if (x == NULL) {
        http_reply_err(rs, -ENOMEM, "out of memory");
        return;
    }
    x->storage = rq->ctx->storage;
    x->csv = csv;
    buf_init(&x->chunk, EXPORT_CHUNK_MAX);
    struct err e = {0};
    int rc = params_selectors(rq, false, &x->sel, &e);
    if (rc == 0 && x->sel.n == 0)
        rc = ERR_INVAL(&e, "missing `match[]` arg");
    if (rc == 0)
        rc = params_range(rq, &x->mint_ms, &x->maxt_ms, &e);
    uint64_t rows = 0;
    if (rc == 0)
        rc = params_uint(rq, "max_rows_per_line", 0, &rows, &e);
    x->rows_per_line =
        rows > 0 && rows < EXPORT_ROWS_PER_LINE ? (size_t)rows : EXPORT_ROWS_PER_LINE;
    if (rc == 0 && csv) {
        const char *spec = http_param(rq, "format");
        if (spec == NULL || spec[0] == 0) {
            rc = ERR_INVAL(&e, "missing `format` arg; see "
                               "https://docs.victoriametrics.com/#how-to-export-csv-data");
        } else {
            struct err fe = {0};
            rc = csv_format_parse(spec, &x->fmt, &fe);
            if (rc != 0)
                rc = ERR_INVAL(&e, "invalid parameter \"format\": %s", fe.msg);
        }
        const char *h = http_param(rq, "header");
        x->header = true;
        if (rc == 0 && h != NULL && h[0] != 0) {
            if (strcmp(h, "false") == 0 || strcmp(h, "0") == 0)
                x->header = false;
            else if (strcmp(h, "true") != 0 && strcmp(h, "1") != 0)
                rc = ERR_INVAL(&e, "invalid parameter \"header\": want true or false, got \"%s\"",
                               h);
        }
        x->rows_per_line = EXPORT_ROWS_PER_LINE; /* CSV rows are one per sample anyway */
    }
    if (rc == 0) {
        /* The first select here, so that its failure is still a proper status. */
        struct selector *s = &x->sel.v[0];
        rc = storage_select(x->storage, s->m, s->n, x->mint_ms, x->maxt_ms, &x->set, &e);
        x->next_sel = 1;
    }
    if (rc == 0) {
        /* And the first series' samples: a damaged block met here is still a
         * 500, not a 200 with a broken body. */
        int n = next_series(x);
        if (n < 0) {
            rc = n;
            e = x->err;
            log_warn("export", "export refused: %s", e.msg);
        }
    }
    if (rc != 0) {
        http_reply_err(rs, rc, e.msg);
        export_free(x);
        return;
    }
    rs->status = 200;
    rs->content_type = csv ? "text/csv; charset=utf-8" : "application/stream+json; charset=utf-8";
    rs->stream = export_read;
    rs->stream_free = export_free;
    rs->stream_cls = x;
}

void export_jsonl(struct http_req *rq, struct http_resp *rs)
{
    start_export(rq, rs, false);
}

void export_csv(struct http_req *rq, struct http_resp *rs)
{
    start_export(rq, rs, true);
}
