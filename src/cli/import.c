/* import.c: `tide import FILE...`, files (or stdin) streamed to a server's
 * write endpoints: Influx line protocol to /write, JSON lines to
 * /api/v1/import, Prometheus text to /api/v1/import/prometheus, CSV to
 * /api/v1/import/csv?format=SPEC.
 *
 * A file is sent in requests of about --batch-bytes, each cut after a
 * complete line (for CSV after a complete record: a newline inside a quoted
 * field does not cut), so no request ever splits a sample and a file of any
 * size streams in bounded memory. The server numbers bad lines within its
 * request; this file adds the lines of the requests before it, so errors
 * name the file's own line numbers.
 *
 * Counts: every record (a line; for CSV a record, whose quoted fields may
 * hold newlines) of a file is either skipped (blank, or a '#' comment in
 * influx and prometheus text, a CSV header row: the server ignores it), refused (named bad by
 * the server's 400, which stores the good lines of the same request), failed
 * (in a request answered otherwise than 2xx/400: nothing of it counted as
 * stored) or imported (the rest). --dry-run runs the server's own parsers
 * (ingest/) here and sends nothing, so it finds what the parsers refuse but
 * not what only the server checks (series limits, storage).
 * Retries: a request the server could not take now (no connection, a
 * timeout, 429, 500, 502, 503, 504) is sent again after 0.5 s, then 1, 2,
 * 4 … (at most 30 s apart), up to --retries times (default 5); writes are
 * idempotent (a resent sample overwrites itself), so a retry never counts
 * a line twice.
 * Invariant: the exit status is 0 only when every request of every file
 * answered 2xx (with --dry-run: when no record would be refused).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/time.h"
#include "ingest/csv_import.h"
#include "ingest/expfmt.h"
#include "ingest/ingest.h"
#include "model/batch.h"

#define IMPORT_DEFAULT_BATCH ((size_t)4 << 20)
#define IMPORT_MAX_LINE ((size_t)256 << 20) /* one line (record) past this is refused */
#define READ_STEP ((size_t)1 << 20)
#define IMPORT_DEFAULT_RETRIES 5

enum fmt { FMT_NONE = 0, FMT_INFLUX, FMT_JSONL, FMT_PROM, FMT_CSV };

struct import_opts {
    struct client_opts client;
    enum fmt format; /* FMT_NONE: guess from each file's extension */
    const char *csv_format;
    const struct csv_import_format *csv; /* csv_format parsed, for --dry-run */
    const char *precision;
    bool dry_run;
    size_t batch_bytes;
    unsigned retries; /* resends of a request that failed for now */
    bool tty;
};

void import_usage(FILE *f)
{
    fprintf(f,
            "usage: tide import [flags] FILE...\n"
            "\n"
            "Stream files (\"-\" for stdin) to a Tide server, in requests cut at line\n"
            "boundaries. Bad lines are reported with the file's own line numbers, and a\n"
            "summary line counts the lines imported, refused (bad, named by the server;\n"
            "the good lines of the same request are stored) and skipped (blank, '#'\n"
            "comments). The exit status is 1 if any line was refused or any request failed.\n"
            "\n"
            "flags:\n"
            "  --server URL            server to write to (default $TIDE_SERVER or %s)\n"
            "  --format FORMAT         influx, jsonl, prometheus or csv; by default guessed\n"
            "                          from the extension: .lp .influx .txt -> influx,\n"
            "                          .jsonl .json -> jsonl, .prom -> prometheus, .csv -> csv\n"
            "  --csv-format SPEC       CSV column mapping, required for csv, e.g.\n"
            "                          1:time:rfc3339,2:label:host,3:metric:cpu (docs/import.md)\n"
            "  --precision P           influx timestamps unit: ns (default), us, ms, s, m, h\n"
            "  --batch-bytes N         bytes per request, e.g. 4MiB (default 4MiB)\n"
            "  --retries N             resend a request that failed for now (no connection,\n"
            "                          timeout, HTTP 429/500/502/503/504) up to N times with\n"
            "                          backoff from 0.5 s to 30 s (default 5; 0 = never)\n"
            "  --dry-run               parse locally with the server's parsers and print the\n"
            "                          same counts and reasons; send nothing (limits and\n"
            "                          storage errors only the server sees are not found)\n"
            "  --bearer-token TOKEN    send Authorization: Bearer TOKEN (auth_write_bearer_token)\n"
            "  --basic USER:PASSWORD   send basic auth (auth_write_basic)\n"
            "  -h, --help              show this help\n"
            "\n"
            "A SQLite table: tide import sqlite:FILE.db --table T ... (tide import sqlite: --help)\n",
            CLI_DEFAULT_SERVER);
}

static const char *fmt_name(enum fmt f)
{
    static const char *const names[] = {"?", "influx", "jsonl", "prometheus", "csv"};
    return names[f];
}

static enum fmt fmt_parse(const char *s)
{
    if (strcmp(s, "influx") == 0 || strcmp(s, "lp") == 0)
        return FMT_INFLUX;
    if (strcmp(s, "jsonl") == 0 || strcmp(s, "json") == 0)
        return FMT_JSONL;
    if (strcmp(s, "prometheus") == 0 || strcmp(s, "prom") == 0)
        return FMT_PROM;
    if (strcmp(s, "csv") == 0)
        return FMT_CSV;
    return FMT_NONE;
}

static enum fmt fmt_guess(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot == NULL || (slash != NULL && dot < slash))
        return FMT_NONE;
    static const struct {
        const char *ext;
        enum fmt f;
    } tab[] = {{".lp", FMT_INFLUX},   {".influx", FMT_INFLUX}, {".txt", FMT_INFLUX},
               {".jsonl", FMT_JSONL}, {".json", FMT_JSONL},    {".prom", FMT_PROM},
               {".csv", FMT_CSV}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcasecmp(dot, tab[i].ext) == 0)
            return tab[i].f;
    return FMT_NONE;
}


/* Where the request should end: just past the last complete line (for CSV,
 * the last newline outside quotes) of p[0..n); 0 when there is none. */
static size_t cut_point(const char *p, size_t n, bool csv)
{
    if (!csv) {
        const char *nl = memrchr(p, '\n', n);
        return nl ? (size_t)(nl - p) + 1 : 0;
    }
    size_t cut = 0;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"')
            quoted = !quoted; /* "" inside quotes toggles twice */
        else if (p[i] == '\n' && !quoted)
            cut = i + 1;
    }
    return cut;
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t k = 0;
    const char *end = p + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        k++;
        p = nl + 1;
    }
    return k;
}

/* Is the CSV record p[0..n) a header row, as the server's parser tells one
 * (csv_import.h): every metric column's cell reads __value__ (quoted or not). */
static bool csv_header(const struct csv_import_format *cf, const char *p, size_t n)
{
    if (cf == NULL)
        return false;
    bool any = false;
    size_t col = 0, i = 0;
    while (col < cf->ncols) {
        size_t s = i;
        bool quoted = false;
        for (; i < n && (quoted || p[i] != ','); i++)
            if (p[i] == '"')
                quoted = !quoted;
        size_t e = i;
        if (e > s && p[e - 1] == '\r' && e == n)
            e--;
        if (e - s >= 2 && p[s] == '"' && p[e - 1] == '"') {
            s++;
            e--;
        }
        if (cf->cols[col].kind == CSV_IMPORT_METRIC) {
            if (e - s != 9 || memcmp(p + s, "__value__", 9) != 0)
                return false;
            any = true;
        }
        col++;
        if (i >= n)
            break;
        i++; /* past the ',' */
    }
    return any;
}

/* The records of p[0..n) (a last one without '\n' counts; CSV records end
 * at a newline outside quotes) and how many of them the server skips:
 * blank ones, '#' comments in influx and prometheus text, CSV header rows. */
static void tally(const char *p, size_t n, enum fmt f, const struct csv_import_format *cf,
                  uint64_t *records, uint64_t *skipped)
{
    *records = *skipped = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        bool quoted = false, blank = true, comment = false;
        for (; i < n; i++) {
            char ch = p[i];
            if (ch == '\n' && !quoted)
                break;
            if (f == FMT_CSV && ch == '"')
                quoted = !quoted;
            if (blank && ch != ' ' && ch != '\t' && ch != '\r') {
                blank = false;
                comment = ch == '#' && (f == FMT_INFLUX || f == FMT_PROM);
            }
        }
        if (f == FMT_CSV) /* empty records and header rows are skipped */
            blank = i - start == 0 || (i - start == 1 && p[start] == '\r') ||
                    csv_header(cf, p + start, i - start);
        (*records)++;
        if (blank || comment)
            (*skipped)++;
        i++; /* past the '\n' */
    }
}

/* How many lines a 400's message names as bad: the "(N samples stored, M
 * bad lines)" of the import endpoints, else the "line N" entries plus "and K
 * more bad lines" (Influx's "partial write: ..."). -1 when it names none. */
static int64_t refused_in(const char *msg)
{
    const char *b = strstr(msg, " bad lines)");
    if (b != NULL) {
        const char *d = b;
        while (d > msg && isdigit((unsigned char)d[-1]))
            d--;
        if (d < b)
            return (int64_t)strtoull(d, NULL, 10);
    }
    int64_t k = 0;
    for (const char *at = msg; (at = strstr(at, "line ")) != NULL; at += 5) {
        bool entry = at == msg || (at - msg >= 2 && (at[-2] == ':' || at[-2] == ';') &&
                                   at[-1] == ' ');
        const char *d = at + 5;
        while (isdigit((unsigned char)*d))
            d++;
        if (entry && d > at + 5 && *d == ':')
            k++;
    }
    const char *more = strstr(msg, "; and ");
    if (more != NULL) {
        char *end;
        unsigned long long m = strtoull(more + 6, &end, 10);
        if (end > more + 6 && strncmp(end, " more bad lines", 15) == 0)
            k += (int64_t)m;
    }
    return k > 0 ? k : -1;
}

/* Copy msg to dst with every "line N" renumbered N + base. */
static void renumber(const char *msg, uint64_t base, struct buf *dst)
{
    const char *p = msg;
    while (*p) {
        const char *at = strstr(p, "line ");
        if (at == NULL || !isdigit((unsigned char)at[5]) ||
            (at > msg && isalnum((unsigned char)at[-1]))) {
            size_t n = at ? (size_t)(at - p) + 5 : strlen(p);
            buf_append(dst, p, n);
            p += n;
            continue;
        }
        buf_append(dst, p, (size_t)(at - p) + 5);
        char *end;
        unsigned long long k = strtoull(at + 5, &end, 10);
        buf_printf(dst, "%llu", k + (unsigned long long)base);
        p = end;
    }
}

/* The path and query of the endpoint for format f. */
static int endpoint(struct client *c, const struct import_opts *o, enum fmt f, struct buf *dst,
                    const char **content_type)
{
    switch (f) {
    case FMT_INFLUX:
        *content_type = "text/plain; charset=utf-8";
        buf_puts(dst, "/write");
        if (o->precision != NULL) {
            buf_puts(dst, "?precision=");
            client_escape(c, dst, o->precision);
        }
        break;
    case FMT_JSONL:
        *content_type = "application/x-ndjson";
        buf_puts(dst, "/api/v1/import");
        break;
    case FMT_PROM:
        *content_type = "text/plain; version=0.0.4";
        buf_puts(dst, "/api/v1/import/prometheus");
        break;
    case FMT_CSV:
        *content_type = "text/csv";
        buf_puts(dst, "/api/v1/import/csv?format=");
        return client_escape(c, dst, o->csv_format);
    default:
        return TIDE_EINVAL;
    }
    return dst->p ? 0 : -ENOMEM;
}

/* What one file's import came to, in records (see the top of the file). */
struct file_result {
    uint64_t imported, refused, skipped, failed;
    uint64_t requests_failed;
    bool fatal; /* the server cannot be reached: stop every file */
};

/* Send one request (with retries); report a failure (with renumbered
 * lines). Returns 0 for a 2xx, 1 for a refused request that may go on with
 * the next, -1 to stop. */
static int send_chunk(struct client *c, const struct import_opts *o, const char *path,
                      const char *ctype, const char *label, const char *p, size_t n,
                      uint64_t base_line, uint64_t records, uint64_t skipped, struct progress *pr,
                      struct file_result *res)
{
    res->skipped += skipped;
    long status = 0;
    struct buf resp;
    buf_init(&resp, 64 * 1024);
    struct err e = {0};
    int rc = client_post_retrying(c, o->retries, path, ctype, label, p, n, &status, &resp, pr, &e);
    if (rc != 0) {
        progress_clear(pr);
        fprintf(stderr, "tide import: %s: %s\n", label, e.msg);
        buf_fini(&resp);
        res->fatal = true;
        res->failed += records - skipped;
        return -1;
    }
    if (status >= 200 && status <= 299) {
        buf_fini(&resp);
        res->imported += records - skipped;
        return 0;
    }
    res->requests_failed++;
    struct buf msg, out;
    buf_init(&msg, 1 << 20);
    buf_init(&out, 1 << 20);
    client_error_message(resp.p, resp.len, &msg);
    if (status == 400) {
        /* A series-limit refusal alone drops samples, not lines. */
        int64_t bad = refused_in(msg.p ? msg.p : "");
        uint64_t sent = records - skipped;
        if (bad < 0)
            bad = msg.p && strstr(msg.p, "limit: ") ? 0 : (int64_t)sent;
        if ((uint64_t)bad > sent)
            bad = (int64_t)sent;
        res->refused += (uint64_t)bad;
        res->imported += sent - (uint64_t)bad;
    } else {
        res->failed += records - skipped;
    }
    renumber(msg.p ? msg.p : "", base_line, &out);
    progress_clear(pr);
    fprintf(stderr, "tide import: %s: HTTP %ld: %s\n", label, status, out.p ? out.p : "");
    if (status == 413)
        fprintf(stderr, "tide import: %s: the server's max_request_bytes is below this request "
                        "(%zu bytes); lower --batch-bytes\n", label, n);
    buf_fini(&out);
    buf_fini(&msg);
    buf_fini(&resp);
    if (status == 400) /* bad lines: the good ones were stored; go on */
        return 1;
    if (status == 401 || status == 403 || status == 404 || status == 415)
        res->fatal = true; /* every following request would fail the same way */
    return -1;
}

/* --dry-run: what the server's parser would make of p[0..n), with its bad
 * lines reported as send_chunk() reports the server's. 0, or -1 on -ENOMEM. */
static int dry_chunk(const struct import_opts *o, enum fmt f, const char *label, const char *p,
                     size_t n, uint64_t base_line, uint64_t records, uint64_t skipped,
                     struct progress *pr, struct file_result *res)
{
    struct batch b;
    struct ingest_report rep;
    batch_init(&b);
    ingest_report_init(&rep);
    int64_t now = time_now_ms();
    int rc = 0;
    if (f == FMT_INFLUX) {
        struct influx_opts io = {.default_t_ms = now};
        if (o->precision != NULL && influx_precision_parse(o->precision, &io.precision) != 0) {
            progress_clear(pr);
            fprintf(stderr, "tide import: %s: --precision %s: use ns, us, ms, s, m or h\n",
                    label, o->precision);
            batch_fini(&b);
            return -1;
        }
        rc = influx_parse(p, n, &io, &b, &rep);
    } else if (f == FMT_JSONL) {
        rc = jsonl_parse(p, n, &b, &rep);
    } else if (f == FMT_PROM) {
        struct expfmt_opts eo = {.default_t_ms = now};
        rc = expfmt_parse(p, n, &eo, &b, &rep);
    } else {
        struct csv_import_opts co = {.format = o->csv, .default_t_ms = now};
        rc = csv_import_parse(p, n, &co, &b, &rep);
    }
    batch_fini(&b);
    if (rc != 0) {
        progress_clear(pr);
        fprintf(stderr, "tide import: %s: out of memory\n", label);
        return -1;
    }
    uint64_t sent = records - skipped;
    uint64_t bad = rep.lines_bad < sent ? rep.lines_bad : sent;
    res->skipped += skipped;
    res->refused += bad;
    res->imported += sent - bad;
    if (rep.lines_bad == 0)
        return 0;
    res->requests_failed++;
    struct buf msg, out;
    buf_init(&msg, 1 << 20);
    buf_init(&out, 1 << 20);
    for (size_t i = 0; i < rep.nerrs; i++) {
        const struct err *e = &rep.errs[i];
        buf_puts(&msg, i > 0 ? "; " : "");
        if (strncmp(e->msg, "line ", 5) == 0)
            buf_puts(&msg, e->msg);
        else if (e->line > 0 && e->col > 0)
            buf_printf(&msg, "line %d: %s (column %d)", e->line, e->msg, e->col);
        else if (e->line > 0)
            buf_printf(&msg, "line %d: %s", e->line, e->msg);
        else
            buf_puts(&msg, e->msg);
    }
    if (rep.lines_bad > rep.nerrs)
        buf_printf(&msg, "; and %zu more bad lines", rep.lines_bad - rep.nerrs);
    renumber(msg.p ? msg.p : "", base_line, &out);
    progress_clear(pr);
    fprintf(stderr, "tide import: %s: would refuse: %s\n", label, out.p ? out.p : "");
    buf_fini(&out);
    buf_fini(&msg);
    return 0;
}

static int import_file(struct client *c, const struct import_opts *o, const char *path,
                       struct file_result *res)
{
    bool is_stdin = strcmp(path, "-") == 0;
    const char *label = is_stdin ? "(stdin)" : path;
    enum fmt f = o->format != FMT_NONE ? o->format : fmt_guess(path);
    if (f == FMT_NONE) {
        fprintf(stderr, "tide import: %s: cannot tell the format from the name; use --format\n",
                label);
        return -1;
    }
    if (f == FMT_CSV && o->csv_format == NULL) {
        fprintf(stderr, "tide import: %s: CSV needs --csv-format (e.g. "
                        "1:time:rfc3339,2:label:host,3:metric:cpu)\n", label);
        return -1;
    }
    int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "tide import: %s: %s\n", label, strerror(errno));
        return -1;
    }
    struct stat sb;
    uint64_t total = 0;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        total = (uint64_t)sb.st_size;

    const char *ctype = NULL;
    struct buf path_q, data;
    buf_init(&path_q, 64 * 1024);
    buf_init(&data, IMPORT_MAX_LINE + o->batch_bytes);
    int ret = 0;
    if (endpoint(c, o, f, &path_q, &ctype) != 0) {
        fprintf(stderr, "tide import: out of memory\n");
        ret = -1;
        goto out;
    }
    struct progress pr;
    progress_init(&pr, label, total, o->tty);
    uint64_t sent = 0, base_line = 0, requests = 0;
    bool eof = false, unterminated = false;
    size_t want = o->batch_bytes;
    while (ret == 0) {
        while (!eof && data.len < want) {
            size_t step = want - data.len < READ_STEP ? want - data.len : READ_STEP;
            if (buf_reserve(&data, step) != 0) {
                fprintf(stderr, "tide import: %s: line %llu is longer than %zu bytes\n", label,
                        (unsigned long long)base_line + 1, IMPORT_MAX_LINE);
                ret = -1;
                break;
            }
            ssize_t r = read(fd, data.p + data.len, step);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                fprintf(stderr, "tide import: %s: read: %s\n", label, strerror(errno));
                ret = -1;
                break;
            }
            if (r == 0)
                eof = true;
            data.len += (size_t)r;
        }
        if (ret != 0 || data.len == 0)
            break;
        size_t cut = eof ? data.len : cut_point(data.p, data.len, f == FMT_CSV);
        if (cut == 0) { /* one line longer than a batch: read on */
            want = data.len + o->batch_bytes;
            continue;
        }
        want = o->batch_bytes;
        uint64_t lines = count_lines(data.p, cut), records, skipped;
        tally(data.p, cut, f, o->csv, &records, &skipped);
        int s = o->dry_run ? dry_chunk(o, f, label, data.p, cut, base_line, records, skipped,
                                       &pr, res)
                           : send_chunk(c, o, path_q.p, ctype, label, data.p, cut, base_line,
                                        records, skipped, &pr, res);
        requests++;
        if (s < 0) {
            ret = -1;
            break;
        }
        sent += cut;
        base_line += lines;
        unterminated = data.p[cut - 1] != '\n';
        memmove(data.p, data.p + cut, data.len - cut);
        data.len -= cut;
        progress_update(&pr, sent, base_line);
    }
    char extra[320], failed[64] = "";
    if (res->failed > 0)
        snprintf(failed, sizeof failed, ", failed %llu", (unsigned long long)res->failed);
    if (o->dry_run)
        snprintf(extra, sizeof extra,
                 "; would import %llu, would refuse %llu, skipped %llu (%s, dry run, nothing "
                 "sent%s)",
                 (unsigned long long)res->imported, (unsigned long long)res->refused,
                 (unsigned long long)res->skipped, fmt_name(f), ret != 0 ? ", STOPPED" : "");
    else
        snprintf(extra, sizeof extra, "; imported %llu, refused %llu, skipped %llu%s (%s, %llu "
                 "requests%s)",
                 (unsigned long long)res->imported, (unsigned long long)res->refused,
                 (unsigned long long)res->skipped, failed, fmt_name(f),
                 (unsigned long long)requests, ret != 0 ? ", STOPPED" : "");
    pr.bytes = sent;
    pr.lines = base_line + unterminated; /* a last line without '\n' counts too */
    progress_done(&pr, o->dry_run ? "checked" : "read", extra);
out:
    buf_fini(&data);
    buf_fini(&path_q);
    if (!is_stdin)
        close(fd);
    return ret;
}

int import_main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "sqlite:", 7) == 0)
            return import_sqlite_main(argc, argv);
    struct import_opts o = {0};
    const char *env = getenv("TIDE_SERVER");
    o.client.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    o.batch_bytes = IMPORT_DEFAULT_BATCH;
    o.retries = IMPORT_DEFAULT_RETRIES;
    o.tty = isatty(2) == 1;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (files == NULL)
        return 1;
    size_t nfiles = 0;
    bool bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            import_usage(stdout);
            free(files);
            return 0;
        }
        if ((v = cli_flag_value("import", argc, argv, &i, "--server", &bad)) != NULL) {
            o.client.server = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--format", &bad)) != NULL) {
            o.format = fmt_parse(v);
            if (o.format == FMT_NONE) {
                fprintf(stderr, "tide import: --format %s: use influx, jsonl, prometheus or csv\n",
                        v);
                bad = true;
            }
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--csv-format", &bad)) != NULL) {
            o.csv_format = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--precision", &bad)) != NULL) {
            o.precision = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--batch-bytes", &bad)) != NULL) {
            o.batch_bytes = cli_parse_bytes(v);
            if (o.batch_bytes < 1024) {
                fprintf(stderr, "tide import: --batch-bytes %s: want a size of at least 1KiB\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--retries", &bad)) != NULL) {
            bad = cli_parse_retries("import", v, &o.retries) != 0;
        } else if (strcmp(a, "--dry-run") == 0) {
            o.dry_run = true;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--bearer-token", &bad)) != NULL) {
            o.client.bearer = v;
        } else if ((v = cli_flag_value("import", argc, argv, &i, "--basic", &bad)) != NULL) {
            o.client.basic = v;
        } else if (bad) {
            break;
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "tide import: unknown flag %s (see --help)\n", a);
            bad = true;
        } else {
            files[nfiles++] = a;
        }
    }
    if (!bad && nfiles == 0) {
        fprintf(stderr, "tide import: no file given (\"-\" reads stdin; see --help)\n");
        bad = true;
    }
    struct csv_import_format *cf = NULL;
    if (!bad && o.csv_format != NULL) { /* check the spec here, not once per request */
        cf = malloc(sizeof *cf);
        struct err e = {0};
        if (cf == NULL || csv_import_format_parse(o.csv_format, strlen(o.csv_format), cf, &e)) {
            fprintf(stderr, "tide import: --csv-format: %s\n", cf ? e.msg : "out of memory");
            bad = true;
        }
        o.csv = cf;
    }
    if (bad) {
        free(cf);
        free(files);
        return 2;
    }
    struct client *c = NULL;
    if (client_open(&c, &o.client) != 0) {
        fprintf(stderr, "tide import: out of memory\n");
        free(cf);
        free(files);
        return 1;
    }
    int status = 0;
    for (size_t i = 0; i < nfiles; i++) {
        struct file_result res = {0};
        if (import_file(c, &o, files[i], &res) != 0 || res.requests_failed > 0)
            status = 1;
        if (res.fatal)
            break;
    }
    client_close(c);
    free(cf);
    free(files);
    return status;
}
