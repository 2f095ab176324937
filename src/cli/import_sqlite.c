/* import_sqlite.c: `tide import sqlite:FILE.db --table T --time-column C
 * --fields x,y [--tags a,b] ...`, a SQLite table migrated into a Tide
 * server, for the users who outgrew a SQLite (or, through a CSV dump, a
 * PostgreSQL) table of measurements.
 *
 *   rows (ORDER BY rowid, after the checkpoint) ──▶ Influx line protocol
 *        ──▶ POST /write?precision=ns in batches of --batch-bytes (retried;
 *            one batch in flight on a sender thread while the next is read)
 *        ──▶ checkpoint file (rowid, counts) rewritten after each ack
 *   then: a second read of the table counts, per series, the distinct
 *         millisecond timestamps with a numeric value; the server is asked
 *         `sum by (tags) (count_over_time(NAME[span]))` per field; the two
 *         are compared: "N rows read, N samples written, 0 missing".
 *
 * A row is one point: measurement (--measurement, default the table name),
 * the tag columns as tags (NULL or '' leaves the tag out), each field
 * column as a float field — so field f becomes the series M_f (M for a
 * field called "value"), exactly as /write names them. NULL and
 * non-numeric field values are skipped and counted; a row with no time or
 * no numeric field is skipped and counted.
 *
 * Time: an INTEGER or REAL in --time-unit (s by default; ms, us, ns), a
 * TEXT holding such a number, or a TEXT date "YYYY-MM-DD HH:MM:SS[.fff]"
 * (SQLite's own format; a 'T' may separate, a 'Z' or ±HH:MM offset may
 * follow, UTC without one).
 *
 * Resuming: the checkpoint (--checkpoint, default FILE.db.tide-import-T)
 * holds the last acknowledged rowid and the counts so far, with a
 * fingerprint of the options; a killed migration started again with the
 * same options goes on after that row (a changed option is refused unless
 * --restart). Writes are idempotent, so a batch sent twice (killed after
 * the server stored it, before the checkpoint was rewritten) is kept once.
 * The checkpoint is removed once the comparison finds nothing missing.
 * --verify-only sends nothing and only compares (rows read and samples
 * written then count nothing).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/fmtfloat.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/time.h"

#define SQ_DEFAULT_BATCH ((size_t)4 << 20)
#define SQ_MAX_COLS 64
#define SQ_MISMATCH_SHOWN 20

struct sq_opts {
    struct client_opts client;
    const char *db_path;
    const char *table, *time_col, *measurement, *where, *checkpoint;
    char *tags[SQ_MAX_COLS], *fields[SQ_MAX_COLS];
    size_t ntags, nfields;
    int64_t unit_ns; /* nanoseconds per unit of a numeric time */
    size_t batch_bytes;
    unsigned retries;
    bool restart, verify, verify_only, tty;
};

/* Counts, cumulative over resumed runs (kept in the checkpoint). */
struct sq_counts {
    int64_t last_rowid; /* last row whose batch the server acknowledged */
    uint64_t rows, samples, skipped_rows, skipped_values;
};

void import_sqlite_usage(FILE *f)
{
    fprintf(f,
            "usage: tide import sqlite:FILE.db --table T --time-column C --fields x,y [flags]\n"
            "\n"
            "Migrate a SQLite table: each row becomes a point of measurement M (the table\n"
            "name unless --measurement) with the --tags columns as tags and each --fields\n"
            "column as series M_<field>, sent in batches, resumable, then compared per\n"
            "series with what the server stored.\n"
            "\n"
            "flags:\n"
            "  --server URL            server to write to (default $TIDE_SERVER or %s)\n"
            "  --table T               the table (required)\n"
            "  --time-column C         its time column (required): a number in --time-unit,\n"
            "                          or text 'YYYY-MM-DD HH:MM:SS[.fff][Z|+hh:mm]'\n"
            "  --time-unit U           s (default), ms, us or ns\n"
            "  --fields x,y            numeric columns to import (required)\n"
            "  --tags a,b              columns that become tags\n"
            "  --measurement M         measurement name (default the table name)\n"
            "  --where SQL             only rows matching this SQL condition\n"
            "  --batch-bytes N         bytes of line protocol per request (default 4MiB)\n"
            "  --retries N             resend a request that failed for now (default 5)\n"
            "  --checkpoint FILE       progress file (default FILE.db.tide-import-T)\n"
            "  --restart               ignore an existing checkpoint and start over\n"
            "  --no-verify             skip the per-series comparison at the end\n"
            "  --verify-only           send nothing; only compare the table with the server\n"
            "  --bearer-token TOKEN    send Authorization: Bearer TOKEN\n"
            "  --basic USER:PASSWORD   send basic auth\n"
            "\n"
            "Exit status: 0 when every row was sent and nothing is missing, 1 otherwise,\n"
            "2 for bad flags.\n",
            CLI_DEFAULT_SERVER);
}

/* ---- SQL text ---- */

/* Append "name" as a quoted SQL identifier. */
static void sql_ident(struct buf *b, const char *name)
{
    buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

/* SELECT rowid, time, tags..., fields... FROM T [WHERE (w)] AND rowid > ?
 * ORDER BY rowid. */
static int build_select(const struct sq_opts *o, bool after_rowid, struct buf *sql)
{
    buf_puts(sql, "SELECT rowid, ");
    sql_ident(sql, o->time_col);
    for (size_t i = 0; i < o->ntags; i++) {
        buf_puts(sql, ", ");
        sql_ident(sql, o->tags[i]);
    }
    for (size_t i = 0; i < o->nfields; i++) {
        buf_puts(sql, ", ");
        sql_ident(sql, o->fields[i]);
    }
    buf_puts(sql, " FROM ");
    sql_ident(sql, o->table);
    const char *kw = " WHERE ";
    if (o->where != NULL) {
        buf_printf(sql, " WHERE (%s)", o->where);
        kw = " AND ";
    }
    if (after_rowid)
        buf_printf(sql, "%srowid > ?1", kw);
    return buf_puts(sql, " ORDER BY rowid");
}

/* ---- values ---- */

static bool parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || *end != 0 || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* The numeric value of a field cell; false for NULL and non-numeric text. */
static bool cell_number(sqlite3_stmt *st, int col, double *out)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER:
        *out = (double)sqlite3_column_int64(st, col);
        return true;
    case SQLITE_FLOAT:
        *out = sqlite3_column_double(st, col);
        return true;
    case SQLITE_TEXT:
        return parse_double((const char *)sqlite3_column_text(st, col), out);
    default:
        return false;
    }
}

/* "YYYY-MM-DD[ T]HH:MM:SS[.fff…][Z|±HH:MM]" to Unix nanoseconds. */
static bool parse_datetime(const char *s, int64_t *ns)
{
    int Y, M, D, h, m, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n == 0)
        return false;
    const char *p = s + n;
    int64_t frac = 0, scale = 100000000;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int off_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
            return false;
        off_s = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        p += 6;
    }
    if (*p != 0 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h,
                    .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    *ns = ((int64_t)t - off_s) * 1000000000 + frac;
    return true;
}

static bool number_to_ns(double v, int64_t unit_ns, int64_t *ns)
{
    double x = v * (double)unit_ns;
    if (!isfinite(x) || fabs(x) >= 9.2e18)
        return false;
    *ns = (int64_t)llround(x);
    return true;
}

/* The row's time in Unix nanoseconds; false when missing or unreadable. */
static bool cell_time(sqlite3_stmt *st, int col, int64_t unit_ns, int64_t *ns)
{
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: {
        int64_t v = sqlite3_column_int64(st, col);
        if (v > INT64_MAX / unit_ns || v < INT64_MIN / unit_ns)
            return false;
        *ns = v * unit_ns;
        return true;
    }
    case SQLITE_FLOAT:
        return number_to_ns(sqlite3_column_double(st, col), unit_ns, ns);
    case SQLITE_TEXT: {
        const char *s = (const char *)sqlite3_column_text(st, col);
        double v;
        if (parse_double(s, &v))
            return number_to_ns(v, unit_ns, ns);
        return parse_datetime(s, ns);
    }
    default:
        return false;
    }
}

/* A tag cell's text, NULL when the tag is left out (NULL or ''). */
static const char *cell_tag(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s != NULL && s[0] != 0 ? s : NULL;
}

/* ---- line protocol ---- */

/* Append s with line protocol's escapes for `specials` (and backslash). */
static void lp_escaped(struct buf *b, const char *s, const char *specials)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r') {
            buf_putc(b, ' '); /* a newline cannot be escaped in line protocol */
            continue;
        }
        if (strchr(specials, *s) != NULL || *s == '\\')
            buf_putc(b, '\\');
        buf_putc(b, *s);
    }
}

/* One row as a line; returns the number of field values written (0: no
 * line was added). */
static size_t row_line(const struct sq_opts *o, sqlite3_stmt *st, int64_t t_ns, struct buf *b,
                       uint64_t *skipped_values)
{
    size_t start = b->len, nv = 0;
    lp_escaped(b, o->measurement, ", ");
    for (size_t i = 0; i < o->ntags; i++) {
        const char *v = cell_tag(st, 2 + (int)i);
        if (v == NULL)
            continue;
        buf_putc(b, ',');
        lp_escaped(b, o->tags[i], ",= ");
        buf_putc(b, '=');
        lp_escaped(b, v, ",= ");
    }
    for (size_t i = 0; i < o->nfields; i++) {
        double v;
        if (!cell_number(st, 2 + (int)(o->ntags + i), &v)) {
            (*skipped_values)++;
            continue;
        }
        buf_putc(b, nv == 0 ? ' ' : ',');
        lp_escaped(b, o->fields[i], ",= ");
        char num[40];
        if (isnan(v))
            snprintf(num, sizeof num, "NaN");
        else if (isinf(v))
            snprintf(num, sizeof num, v > 0 ? "+Inf" : "-Inf");
        else
            fmtfloat_g(num, v);
        buf_printf(b, "=%s", num);
        nv++;
    }
    if (nv == 0) {
        b->len = start;
        if (b->p)
            b->p[start] = 0;
        return 0;
    }
    buf_printf(b, " %" PRId64 "\n", t_ns);
    return nv;
}

/* ---- checkpoint ---- */

/* A fingerprint of what decides which rows and series an import makes. */
static uint64_t options_hash(const struct sq_opts *o)
{
    uint64_t h = hash_bytes("tide-sqlite-1", 13);
    const char *parts[] = {o->table, o->time_col, o->measurement, o->where ? o->where : ""};
    for (size_t i = 0; i < 4; i++)
        h = hash_combine(h, parts[i], strlen(parts[i]) + 1);
    for (size_t i = 0; i < o->ntags; i++)
        h = hash_combine(h, o->tags[i], strlen(o->tags[i]) + 1);
    h = hash_combine(h, "|", 1);
    for (size_t i = 0; i < o->nfields; i++)
        h = hash_combine(h, o->fields[i], strlen(o->fields[i]) + 1);
    return hash_combine(h, &o->unit_ns, sizeof o->unit_ns);
}

/* 1 when a matching checkpoint was loaded, 0 when there is none, -1 when it
 * belongs to other options (message printed). */
static int checkpoint_load(const struct sq_opts *o, struct sq_counts *c)
{
    FILE *f = fopen(o->checkpoint, "r");
    if (f == NULL)
        return 0;
    uint64_t h = 0;
    int n = fscanf(f,
                   "tide-import-sqlite 1\noptions %" SCNx64 "\nrowid %" SCNd64 "\nrows %" SCNu64
                   "\nsamples %" SCNu64 "\nskipped_rows %" SCNu64 "\nskipped_values %" SCNu64,
                   &h, &c->last_rowid, &c->rows, &c->samples, &c->skipped_rows,
                   &c->skipped_values);
    fclose(f);
    if (n != 6) {
        fprintf(stderr, "tide import: %s: not a checkpoint of tide import sqlite; use --restart "
                        "to start over\n", o->checkpoint);
        return -1;
    }
    if (h != options_hash(o)) {
        fprintf(stderr, "tide import: %s: the checkpoint was written with other options (table, "
                        "columns, --where, --time-unit); use --restart to start over\n",
                o->checkpoint);
        return -1;
    }
    return 1;
}

/* Rewrite the checkpoint atomically (core/fs.h: temp file, fsync, rename,
 * fsync of the directory). 0 or -errno. */
static int checkpoint_save(const struct sq_opts *o, const struct sq_counts *c)
{
    char text[512];
    int n = snprintf(text, sizeof text,
                     "tide-import-sqlite 1\noptions %" PRIx64 "\nrowid %" PRId64 "\nrows %" PRIu64
                     "\nsamples %" PRIu64 "\nskipped_rows %" PRIu64 "\nskipped_values %" PRIu64
                     "\n",
                     options_hash(o), c->last_rowid, c->rows, c->samples, c->skipped_rows,
                     c->skipped_values);
    return fs_write_file_atomic(o->checkpoint, text, (size_t)n);
}

/* ---- sending ---- */

struct sender {
    const struct sq_opts *o;
    struct client *c;
    struct sq_counts *counts;
    const char *label;
    uint64_t total_rows; /* for the progress line; 0 = unknown */
    int64_t start_ns, drawn_ns;
};

static void show_progress(struct sender *s, bool final)
{
    int64_t now = time_mono_ns();
    if (!s->o->tty || (!final && now - s->drawn_ns < 200000000))
        return;
    s->drawn_ns = now;
    double el = (double)(now - s->start_ns) / 1e9;
    fprintf(stderr, "\r%s: %" PRIu64 "/%" PRIu64 " rows, %" PRIu64 " samples, %.0f rows/s\x1b[K",
            s->label, s->counts->rows, s->total_rows, s->counts->samples,
            el > 0 ? (double)s->counts->rows / el : 0.0);
    if (final)
        fputc('\n', stderr);
}

/* POST one batch; on success count it and move the checkpoint. 0 or -1. */
static int send_batch(struct sender *s, struct buf *lines, int64_t last_rowid, uint64_t rows,
                      uint64_t samples, uint64_t skipped_rows, uint64_t skipped_values)
{
    long status = 0;
    struct buf resp;
    buf_init(&resp, 64 * 1024);
    struct err e = {0};
    int rc = client_post_retrying(s->c, s->o->retries, "/write?precision=ns",
                                  "text/plain; charset=utf-8", s->label, lines->p, lines->len,
                                  &status, &resp, NULL, &e);
    if (rc != 0 || status < 200 || status > 299) {
        struct buf msg;
        buf_init(&msg, 1 << 16);
        if (rc != 0)
            buf_puts(&msg, e.msg);
        else
            client_error_message(resp.p, resp.len, &msg);
        if (s->o->tty)
            fputc('\n', stderr);
        fprintf(stderr, "tide import: %s: rows after rowid %" PRId64 ": %s%s\n", s->label,
                s->counts->last_rowid, rc != 0 ? "" : "refused: ", msg.p ? msg.p : "");
        buf_fini(&msg);
        buf_fini(&resp);
        return -1;
    }
    buf_fini(&resp);
    s->counts->last_rowid = last_rowid;
    s->counts->rows += rows;
    s->counts->samples += samples;
    s->counts->skipped_rows += skipped_rows;
    s->counts->skipped_values += skipped_values;
    rc = checkpoint_save(s->o, s->counts);
    if (rc != 0) {
        fprintf(stderr, "tide import: %s: writing the checkpoint: %s\n", s->o->checkpoint,
                strerror(-rc));
        return -1;
    }
    show_progress(s, false);
    return 0;
}

/* A batch and what it holds: sent by one thread while the next is read. */
struct job {
    struct buf lines;
    int64_t rowid; /* the last row in it */
    uint64_t rows, samples, skipped_rows, skipped_values;
};

/* At most one batch in flight, so the checkpoint moves in row order. */
struct inflight {
    struct sender *s;
    struct job job;
    pthread_t th;
    bool running;
    int rc;
};

static void *send_job(void *arg)
{
    struct inflight *f = arg;
    struct job *j = &f->job;
    if (j->lines.len > 0) {
        f->rc = send_batch(f->s, &j->lines, j->rowid, j->rows, j->samples, j->skipped_rows,
                           j->skipped_values);
        return NULL;
    }
    /* only skipped rows: the checkpoint still moves past them */
    struct sq_counts *c = f->s->counts;
    c->last_rowid = j->rowid;
    c->rows += j->rows;
    c->skipped_rows += j->skipped_rows;
    c->skipped_values += j->skipped_values;
    f->rc = checkpoint_save(f->s->o, c) == 0 ? 0 : -1;
    return NULL;
}

/* Wait for the batch in flight; its result (0 or -1). */
static int inflight_wait(struct inflight *f)
{
    if (!f->running)
        return 0;
    pthread_join(f->th, NULL);
    f->running = false;
    return f->rc;
}

/* Hand `next` to the sender once the previous batch is done; `next` gets
 * the previous batch's (emptied) buffer back. 0 or -1. */
static int inflight_start(struct inflight *f, struct job *next)
{
    if (inflight_wait(f) != 0)
        return -1;
    struct job done = f->job;
    f->job = *next;
    *next = done;
    buf_reset(&next->lines);
    next->rows = next->samples = next->skipped_rows = next->skipped_values = 0;
    if (pthread_create(&f->th, NULL, send_job, f) != 0) {
        send_job(f); /* no thread: send it here */
        return f->rc;
    }
    f->running = true;
    return 0;
}

/* Stream every row after the checkpoint to the server: the next batch is
 * read and formatted while the previous one is sent. 0 or -1. */
static int migrate(sqlite3 *db, struct sender *s)
{
    const struct sq_opts *o = s->o;
    struct buf sql;
    buf_init(&sql, 0);
    struct job cur = {0};
    struct inflight fl = {.s = s};
    buf_init(&cur.lines, 0);
    buf_init(&fl.job.lines, 0);
    build_select(o, true, &sql);
    sqlite3_stmt *st = NULL;
    int ret = -1;
    if (sqlite3_prepare_v2(db, sql.p, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "tide import: %s: %s\n", s->label, sqlite3_errmsg(db));
        goto out;
    }
    sqlite3_bind_int64(st, 1, s->counts->last_rowid);
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        cur.rowid = sqlite3_column_int64(st, 0);
        cur.rows++;
        int64_t t_ns;
        size_t nv = 0;
        if (cell_time(st, 1, o->unit_ns, &t_ns))
            nv = row_line(o, st, t_ns, &cur.lines, &cur.skipped_values);
        else
            cur.skipped_values += o->nfields;
        if (nv == 0)
            cur.skipped_rows++;
        cur.samples += nv;
        if (cur.lines.len >= o->batch_bytes && inflight_start(&fl, &cur) != 0)
            goto out;
    }
    if (src != SQLITE_DONE) {
        fprintf(stderr, "tide import: %s: reading: %s\n", s->label, sqlite3_errmsg(db));
        goto out;
    }
    if (cur.rows > 0 && inflight_start(&fl, &cur) != 0)
        goto out;
    ret = 0;
out:
    if (inflight_wait(&fl) != 0)
        ret = -1;
    show_progress(s, true);
    sqlite3_finalize(st);
    buf_fini(&sql);
    buf_fini(&cur.lines);
    buf_fini(&fl.job.lines);
    return ret;
}

/* ---- verification ---- */

/* One series of the source: a field and a tag combination. */
struct src_series {
    uint64_t key;     /* hash of field index and tag values; 0 = empty slot */
    uint64_t samples; /* distinct millisecond timestamps with a value */
    uint64_t stored;  /* what the server reports */
    char *desc;       /* "M_f{a=\"x\"}" for messages (arena) */
    size_t field;
};

struct src_ts {
    uint64_t key; /* hash of series key and timestamp; 0 = empty */
};

struct census {
    struct src_series *series;
    size_t nseries, cap_series;
    struct src_ts *ts;
    size_t nts, cap_ts;
    int64_t min_ms, max_ms;
    struct arena a;
};

static uint64_t nonzero(uint64_t h) { return h ? h : 1; }

/* The key of field `fi` with tag values vals[0..ntags) (NULL = absent). */
static uint64_t series_key(size_t fi, const char *const *vals, size_t ntags)
{
    uint64_t h = hash_bytes(&fi, sizeof fi);
    for (size_t i = 0; i < ntags; i++) {
        const char *v = vals[i] ? vals[i] : "";
        h = hash_combine(h, v, strlen(v) + 1);
    }
    return nonzero(h);
}

static int grow(void **tab, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 1024;
    void *n = calloc(ncap, elem);
    if (n == NULL)
        return -ENOMEM;
    uint64_t *old = *tab;
    for (size_t i = 0; i < *cap; i++) {
        uint64_t k = *(uint64_t *)((char *)old + i * elem);
        if (k == 0)
            continue;
        size_t j = k & (ncap - 1);
        while (*(uint64_t *)((char *)n + j * elem) != 0)
            j = (j + 1) & (ncap - 1);
        memcpy((char *)n + j * elem, (char *)old + i * elem, elem);
    }
    free(*tab);
    *tab = n;
    *cap = ncap;
    return 0;
}

static struct src_series *series_find(struct census *cs, uint64_t key, bool add)
{
    if (add && (cs->nseries + 1) * 2 > cs->cap_series &&
        grow((void **)&cs->series, &cs->cap_series, sizeof *cs->series) != 0)
        return NULL;
    if (cs->cap_series == 0)
        return NULL;
    size_t j = key & (cs->cap_series - 1);
    while (cs->series[j].key != 0 && cs->series[j].key != key)
        j = (j + 1) & (cs->cap_series - 1);
    if (cs->series[j].key == 0 && !add)
        return NULL;
    if (cs->series[j].key == 0) {
        cs->series[j].key = key;
        cs->nseries++;
    }
    return &cs->series[j];
}

/* Record a timestamp of a series; true when it was new. */
static int ts_add(struct census *cs, uint64_t series, int64_t t_ms)
{
    if ((cs->nts + 1) * 2 > cs->cap_ts && grow((void **)&cs->ts, &cs->cap_ts, sizeof *cs->ts) != 0)
        return -ENOMEM;
    uint64_t k = nonzero(hash_combine(series, &t_ms, sizeof t_ms));
    size_t j = k & (cs->cap_ts - 1);
    while (cs->ts[j].key != 0 && cs->ts[j].key != k)
        j = (j + 1) & (cs->cap_ts - 1);
    if (cs->ts[j].key == k)
        return 0;
    cs->ts[j].key = k;
    cs->nts++;
    return 1;
}

static char *describe_series(struct census *cs, const struct sq_opts *o, size_t fi,
                             const char *const *vals)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, o->measurement);
    if (strcmp(o->fields[fi], "value") != 0)
        buf_printf(&b, "_%s", o->fields[fi]);
    buf_putc(&b, '{');
    bool first = true;
    for (size_t i = 0; i < o->ntags; i++) {
        if (vals[i] == NULL)
            continue;
        buf_printf(&b, "%s%s=\"%s\"", first ? "" : ",", o->tags[i], vals[i]);
        first = false;
    }
    buf_putc(&b, '}');
    char *d = b.p ? arena_strndup(&cs->a, b.p, b.len) : NULL;
    buf_fini(&b);
    return d;
}

/* Read the whole table (with --where) again and count each series'
 * distinct millisecond timestamps. 0 or -1. */
static int census_take(sqlite3 *db, const struct sq_opts *o, struct census *cs)
{
    struct buf sql;
    buf_init(&sql, 0);
    build_select(o, false, &sql);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql.p, -1, &st, NULL);
    buf_fini(&sql);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "tide import: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    cs->min_ms = INT64_MAX;
    cs->max_ms = INT64_MIN;
    const char *vals[SQ_MAX_COLS];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t_ns;
        if (!cell_time(st, 1, o->unit_ns, &t_ns))
            continue;
        int64_t t_ms = t_ns >= 0 ? t_ns / 1000000 : -((-t_ns + 999999) / 1000000);
        for (size_t i = 0; i < o->ntags; i++)
            vals[i] = cell_tag(st, 2 + (int)i);
        for (size_t fi = 0; fi < o->nfields; fi++) {
            double v;
            if (!cell_number(st, 2 + (int)(o->ntags + fi), &v))
                continue;
            uint64_t key = series_key(fi, vals, o->ntags);
            struct src_series *ss = series_find(cs, key, true);
            int added = ss ? ts_add(cs, key, t_ms) : -ENOMEM;
            if (added < 0) {
                fprintf(stderr, "tide import: out of memory counting the source\n");
                sqlite3_finalize(st);
                return -1;
            }
            if (ss->desc == NULL) {
                ss->desc = describe_series(cs, o, fi, vals);
                ss->field = fi;
            }
            ss->samples += (uint64_t)added;
            if (t_ms < cs->min_ms)
                cs->min_ms = t_ms;
            if (t_ms > cs->max_ms)
                cs->max_ms = t_ms;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "tide import: reading: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

/* Ask the server how many samples each series of field `fi` holds in the
 * source's time span, into the census. 0 or -1. */
static int census_ask(struct client *c, const struct sq_opts *o, size_t fi, struct census *cs)
{
    struct buf q, path, resp;
    buf_init(&q, 0);
    buf_init(&path, 0);
    buf_init(&resp, (size_t)256 << 20);
    buf_puts(&q, "sum by (");
    for (size_t i = 0; i < o->ntags; i++)
        buf_printf(&q, "%s%s", i ? "," : "", o->tags[i]);
    buf_puts(&q, ") (count_over_time({__name__=\"");
    buf_puts(&q, o->measurement);
    if (strcmp(o->fields[fi], "value") != 0)
        buf_printf(&q, "_%s", o->fields[fi]);
    buf_printf(&q, "\"}[%" PRId64 "ms]))", cs->max_ms - cs->min_ms + 1);
    buf_puts(&path, "/api/v1/query?query=");
    client_escape(c, &path, q.p);
    buf_printf(&path, "&time=%" PRId64 ".%03" PRId64, cs->max_ms / 1000, cs->max_ms % 1000);
    long status = 0;
    struct err e = {0};
    int ret = -1;
    struct arena a;
    arena_init(&a, 0);
    int rc = client_post_retrying(c, o->retries, path.p, "application/x-www-form-urlencoded",
                                  "verify", "", 0, &status, &resp, NULL, &e);
    const struct jv *doc = rc == 0 && resp.p ? jv_parse(resp.p, resp.len, &a) : NULL;
    if (rc != 0 || status != 200 || doc == NULL) {
        struct buf msg;
        buf_init(&msg, 1 << 16);
        if (rc != 0)
            buf_puts(&msg, e.msg);
        else
            client_error_message(resp.p, resp.len, &msg);
        fprintf(stderr, "tide import: counting what the server stored (%s): %s\n", q.p,
                msg.p ? msg.p : "");
        buf_fini(&msg);
        goto out;
    }
    const struct jv *res = jv_member(jv_member(doc, "data"), "result");
    const char *vals[SQ_MAX_COLS];
    for (const struct jv *s = res ? res->child : NULL; s; s = s->next) {
        const struct jv *metric = jv_member(s, "metric");
        for (size_t i = 0; i < o->ntags; i++) {
            const struct jv *l = jv_member(metric, o->tags[i]);
            vals[i] = l && l->t == JV_STR && l->n > 0 ? l->s : NULL;
        }
        const struct jv *value = jv_member(s, "value");
        const struct jv *v = value && value->child ? value->child->next : NULL;
        struct src_series *ss = series_find(cs, series_key(fi, vals, o->ntags), false);
        if (ss != NULL)
            ss->stored = strtoull(jv_text(v), NULL, 10);
    }
    ret = 0;
out:
    arena_fini(&a);
    buf_fini(&q);
    buf_fini(&path);
    buf_fini(&resp);
    return ret;
}

/* Compare; print the summary. 0 when nothing is missing, 1 otherwise, -1
 * when the comparison could not be made. */
static int verify(sqlite3 *db, struct client *c, const struct sq_opts *o,
                  const struct sq_counts *counts, const char *label)
{
    struct census cs = {0};
    arena_init(&cs.a, 0);
    int ret = -1;
    if (census_take(db, o, &cs) != 0)
        goto out;
    uint64_t expected = 0, missing = 0, mismatched = 0;
    if (cs.nseries > 0) {
        for (size_t fi = 0; fi < o->nfields; fi++)
            if (census_ask(c, o, fi, &cs) != 0)
                goto out;
    }
    for (size_t i = 0; i < cs.cap_series; i++) {
        const struct src_series *ss = &cs.series[i];
        if (ss->key == 0)
            continue;
        expected += ss->samples;
        if (ss->stored < ss->samples) {
            missing += ss->samples - ss->stored;
            if (mismatched++ < SQ_MISMATCH_SHOWN)
                fprintf(stderr, "tide import: %s: %s: %" PRIu64 " in the table, %" PRIu64
                                " stored\n", label, ss->desc ? ss->desc : "?", ss->samples,
                        ss->stored);
        }
    }
    if (mismatched > SQ_MISMATCH_SHOWN)
        fprintf(stderr, "tide import: %s: ... %" PRIu64 " series short in all\n", label,
                mismatched);
    printf("%s: %" PRIu64 " rows read, %" PRIu64 " samples written, %" PRIu64 " missing (%zu "
           "series compared, %" PRIu64 " distinct samples expected; skipped %" PRIu64
           " rows, %" PRIu64 " empty or non-numeric values)\n",
           label, counts->rows, counts->samples, missing, cs.nseries, expected,
           counts->skipped_rows, counts->skipped_values);
    ret = missing == 0 ? 0 : 1;
out:
    free(cs.series);
    free(cs.ts);
    arena_fini(&cs.a);
    return ret;
}

/* ---- flags ---- */

/* Split "a,b,c" (modified in place) into v; false past SQ_MAX_COLS or an
 * empty name. */
static bool split_list(char *s, char **v, size_t *n)
{
    *n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        if (*tok == 0 || *n >= SQ_MAX_COLS)
            return false;
        v[(*n)++] = tok;
    }
    return *n > 0;
}

static int parse_flags(int argc, char **argv, struct sq_opts *o, struct buf *lists)
{
    bool bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if ((v = cli_flag_value("import", argc, argv, &i, "--server", &bad)) != NULL) {
            o->client.server = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--table", &bad)) != NULL) {
            o->table = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--time-column", &bad)) != NULL) {
            o->time_col = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--time-unit", &bad)) != NULL) {
            o->unit_ns = strcmp(v, "s") == 0    ? 1000000000
                         : strcmp(v, "ms") == 0 ? 1000000
                         : strcmp(v, "us") == 0 ? 1000
                         : strcmp(v, "ns") == 0 ? 1
                                                : 0;
            if (o->unit_ns == 0) {
                fprintf(stderr, "tide import: --time-unit %s: use s, ms, us or ns\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--tags", &bad)) != NULL ||
                   (v = cli_flag_value("import", argc, argv, &i, "--fields", &bad)) != NULL) {
            bool tags = strncmp(a, "--tags", 6) == 0;
            char *copy = strdup(v);
            if (copy == NULL || !split_list(copy, tags ? o->tags : o->fields,
                                            tags ? &o->ntags : &o->nfields)) {
                fprintf(stderr, "tide import: %s %s: want a comma-separated list of up to %d "
                                "column names\n", tags ? "--tags" : "--fields", v, SQ_MAX_COLS);
                free(copy);
                bad = true;
            } else {
                buf_append(lists, &copy, sizeof copy); /* freed by the caller */
            }
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--measurement", &bad)) != NULL) {
            o->measurement = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--where", &bad)) != NULL) {
            o->where = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--checkpoint", &bad)) != NULL) {
            o->checkpoint = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--batch-bytes", &bad)) != NULL) {
            o->batch_bytes = cli_parse_bytes(v);
            if (o->batch_bytes < 1024) {
                fprintf(stderr, "tide import: --batch-bytes %s: want a size of at least 1KiB\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--retries", &bad)) != NULL) {
            bad = cli_parse_retries("import", v, &o->retries) != 0;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--bearer-token", &bad)) != NULL) {
            o->client.bearer = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--basic", &bad)) != NULL) {
            o->client.basic = v;
        } else if (bad) {
            break;
        } else if (strcmp(a, "--restart") == 0) {
            o->restart = true;
        } else if (strcmp(a, "--no-verify") == 0) {
            o->verify = false;
        } else if (strcmp(a, "--verify-only") == 0) {
            o->verify_only = true;
        } else if (strncmp(a, "sqlite:", 7) == 0 && o->db_path == NULL) {
            o->db_path = a + 7;
        } else {
            fprintf(stderr, "tide import: sqlite: unexpected argument %s (see --help)\n", a);
            bad = true;
        }
    }
    if (!bad && (o->db_path == NULL || o->db_path[0] == 0 || o->table == NULL ||
                 o->time_col == NULL || o->nfields == 0)) {
        fprintf(stderr, "tide import: sqlite:FILE needs --table, --time-column and --fields "
                        "(see --help)\n");
        bad = true;
    }
    return bad ? -1 : 0;
}

int import_sqlite_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            import_sqlite_usage(stdout);
            return 0;
        }
    }
    struct sq_opts o = {.unit_ns = 1000000000, .batch_bytes = SQ_DEFAULT_BATCH,
                        .retries = 5, .verify = true, .tty = isatty(2)};
    const char *env = getenv("TIDE_SERVER");
    o.client.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    struct buf lists;
    buf_init(&lists, 0);
    int ret = 2;
    sqlite3 *db = NULL;
    struct client *c = NULL;
    char cp_default[4096];
    if (parse_flags(argc, argv, &o, &lists) != 0)
        goto out;
    if (o.measurement == NULL)
        o.measurement = o.table;
    if (o.checkpoint == NULL) {
        snprintf(cp_default, sizeof cp_default, "%s.tide-import-%s", o.db_path, o.table);
        o.checkpoint = cp_default;
    }
    ret = 1;
    char label[512];
    snprintf(label, sizeof label, "sqlite:%s table %s", o.db_path, o.table);
    if (sqlite3_open_v2(o.db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "tide import: %s: %s\n", o.db_path,
                db ? sqlite3_errmsg(db) : "cannot open");
        goto out;
    }
    struct sq_counts counts = {0};
    if (o.verify_only) {
        if (client_open(&c, &o.client) != 0) {
            fprintf(stderr, "tide import: out of memory\n");
            goto out;
        }
        ret = verify(db, c, &o, &counts, label) == 0 ? 0 : 1;
        goto out;
    }
    if (!o.restart) {
        int rc = checkpoint_load(&o, &counts);
        if (rc < 0)
            goto out;
        if (rc > 0)
            fprintf(stderr, "tide import: %s: resuming after rowid %" PRId64 " (%" PRIu64
                            " rows, %" PRIu64 " samples already written)\n",
                    label, counts.last_rowid, counts.rows, counts.samples);
    }
    if (client_open(&c, &o.client) != 0) {
        fprintf(stderr, "tide import: out of memory\n");
        goto out;
    }
    struct sender s = {.o = &o, .c = c, .counts = &counts, .label = label,
                       .start_ns = time_mono_ns()};
    sqlite3_stmt *cnt = NULL;
    struct buf sql;
    buf_init(&sql, 0);
    buf_puts(&sql, "SELECT count(*) FROM ");
    sql_ident(&sql, o.table);
    if (sqlite3_prepare_v2(db, sql.p, -1, &cnt, NULL) == SQLITE_OK &&
        sqlite3_step(cnt) == SQLITE_ROW)
        s.total_rows = (uint64_t)sqlite3_column_int64(cnt, 0);
    sqlite3_finalize(cnt);
    buf_fini(&sql);
    if (migrate(db, &s) != 0)
        goto out;
    if (!o.verify) {
        printf("%s: %" PRIu64 " rows read, %" PRIu64 " samples written (not compared)\n", label,
               counts.rows, counts.samples);
        ret = 0;
        goto out;
    }
    int v = verify(db, c, &o, &counts, label);
    if (v == 0)
        unlink(o.checkpoint);
    ret = v == 0 ? 0 : 1;
out:
    client_close(c);
    sqlite3_close(db);
    for (size_t i = 0; i + sizeof(char *) <= lists.len; i += sizeof(char *)) {
        char *p;
        memcpy(&p, lists.p + i, sizeof p);
        free(p);
    }
    buf_fini(&lists);
    return ret;
}
