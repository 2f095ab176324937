/* export.c: `tide export`, the series a server holds streamed to a file or
 * stdout from /api/v1/export (JSON lines, what `tide import` and
 * /api/v1/import read back) or /api/v1/export/csv.
 *
 * The body is written as it arrives and never held whole, so an export of
 * any size runs in constant memory. A transfer cut short (server stopped,
 * disk full) exits 1, so a script never takes a truncated file for a whole
 * one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define EXPORT_MAX_MATCH 64

void export_usage(FILE *f)
{
    fprintf(f,
            "usage: tide export [flags]\n"
            "\n"
            "Stream series from a Tide server to a file or stdout, as JSON lines (the\n"
            "format `tide import` reads back) or CSV.\n"
            "\n"
            "flags:\n"
            "  --server URL            server to read from (default $TIDE_SERVER or %s)\n"
            "  --match SELECTOR        series selector, repeatable (default: every series,\n"
            "                          {__name__=~\".+\"})\n"
            "  --start T, --end T      time range, RFC 3339 or Unix seconds (default: all)\n"
            "  --format FORMAT         jsonl (default) or csv\n"
            "  --csv-format SPEC       CSV columns, required for csv, e.g.\n"
            "                          __name__,host,__value__,__timestamp__:rfc3339\n"
            "  --no-header             csv: no header row (by default the first row names\n"
            "                          the columns as --csv-format does; import skips it)\n"
            "  -o, --output FILE       write here instead of stdout\n"
            "  --bearer-token TOKEN    send Authorization: Bearer TOKEN (auth_read_bearer_token)\n"
            "  --basic USER:PASSWORD   send basic auth (auth_read_basic)\n"
            "  -h, --help              show this help\n",
            CLI_DEFAULT_SERVER);
}

struct sink {
    FILE *out;
    struct progress pr;
    uint64_t bytes, lines;
    int write_errno;
};

static int write_out(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (fwrite(p, 1, n, s->out) != n) {
        s->write_errno = errno ? errno : EIO;
        return -1;
    }
    s->bytes += n;
    for (const char *q = p, *end = p + n; (q = memchr(q, '\n', (size_t)(end - q))) != NULL; q++)
        s->lines++;
    progress_update(&s->pr, s->bytes, s->lines);
    return 0;
}

int export_main(int argc, char **argv)
{
    struct client_opts co = {0};
    const char *env = getenv("TIDE_SERVER");
    co.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    const char *match[EXPORT_MAX_MATCH];
    size_t nmatch = 0;
    const char *start = NULL, *end = NULL, *csv = NULL, *output = NULL;
    bool is_csv = false, bad = false, no_header = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            export_usage(stdout);
            return 0;
        }
        if ((v = cli_flag_value("export", argc, argv, &i, "--server", &bad)) != NULL) {
            co.server = v;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--match", &bad)) != NULL) {
            if (nmatch == EXPORT_MAX_MATCH) {
                fprintf(stderr, "tide export: at most %d --match\n", EXPORT_MAX_MATCH);
                bad = true;
            } else {
                match[nmatch++] = v;
            }
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--start", &bad)) != NULL) {
            start = v;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--end", &bad)) != NULL) {
            end = v;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--format", &bad)) != NULL) {
            if (strcmp(v, "csv") == 0) {
                is_csv = true;
            } else if (strcmp(v, "jsonl") != 0 && strcmp(v, "json") != 0) {
                fprintf(stderr, "tide export: --format %s: use jsonl or csv\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--csv-format", &bad)) != NULL) {
            csv = v;
        } else if (strcmp(a, "--no-header") == 0) {
            no_header = true;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--output", &bad)) != NULL ||
                   (v = cli_flag_value("export", argc, argv, &i, "-o", &bad)) != NULL) {
            output = v;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--bearer-token", &bad)) != NULL) {
            co.bearer = v;
        } else if ((v = cli_flag_value("export", argc, argv, &i, "--basic", &bad)) != NULL) {
            co.basic = v;
        } else if (!bad) {
            fprintf(stderr, "tide export: unexpected argument %s (see --help)\n", a);
            bad = true;
        }
    }
    if (!bad && is_csv && csv == NULL) {
        fprintf(stderr, "tide export: --format csv needs --csv-format (e.g. "
                        "__name__,host,__value__,__timestamp__:rfc3339)\n");
        bad = true;
    }
    if (bad)
        return 2;

    struct client *c = NULL;
    if (client_open(&c, &co) != 0) {
        fprintf(stderr, "tide export: out of memory\n");
        return 1;
    }
    struct buf q;
    buf_init(&q, 1 << 20);
    buf_puts(&q, is_csv ? "/api/v1/export/csv?" : "/api/v1/export?");
    if (nmatch == 0)
        match[nmatch++] = "{__name__=~\".+\"}";
    for (size_t i = 0; i < nmatch; i++) {
        buf_puts(&q, i ? "&match[]=" : "match[]=");
        client_escape(c, &q, match[i]);
    }
    const char *names[] = {"start", "end", "format"};
    const char *vals[] = {start, end, is_csv ? csv : NULL};
    for (size_t i = 0; i < 3; i++) {
        if (vals[i] == NULL)
            continue;
        buf_printf(&q, "&%s=", names[i]);
        client_escape(c, &q, vals[i]);
    }
    if (is_csv && no_header)
        buf_puts(&q, "&header=false");

    struct sink s = {.out = stdout};
    if (output != NULL && strcmp(output, "-") != 0) {
        s.out = fopen(output, "wb");
        if (s.out == NULL) {
            fprintf(stderr, "tide export: %s: %s\n", output, strerror(errno));
            buf_fini(&q);
            client_close(c);
            return 1;
        }
    }
    /* Progress only when the data does not go to the same terminal. */
    bool tty = isatty(2) == 1 && !(s.out == stdout && isatty(1) == 1);
    progress_init(&s.pr, output ? output : "(stdout)", 0, tty);
    long status = 0;
    struct buf eb;
    buf_init(&eb, 64 * 1024);
    struct err e = {0};
    int rc = q.p ? client_get_stream(c, q.p, write_out, &s, &status, &eb, &e) : -ENOMEM;
    int ret = 0;
    if (s.out != stdout ? fclose(s.out) != 0 : fflush(stdout) != 0) {
        if (s.write_errno == 0)
            s.write_errno = errno;
    }
    if (s.write_errno != 0) {
        progress_clear(&s.pr);
        fprintf(stderr, "tide export: writing %s: %s\n", output ? output : "stdout",
                strerror(s.write_errno));
        ret = 1;
    } else if (rc != 0) {
        progress_clear(&s.pr);
        fprintf(stderr, "tide export: %s (after %llu bytes)\n", rc == -ENOMEM ? "out of memory"
                                                                              : e.msg,
                (unsigned long long)s.bytes);
        ret = 1;
    } else if (status < 200 || status > 299) {
        struct buf msg;
        buf_init(&msg, 1 << 20);
        client_error_message(eb.p, eb.len, &msg);
        progress_clear(&s.pr);
        fprintf(stderr, "tide export: HTTP %ld: %s\n", status, msg.p ? msg.p : "");
        buf_fini(&msg);
        ret = 1;
    } else {
        progress_done(&s.pr, "exported", is_csv ? " as csv" : " as jsonl");
    }
    buf_fini(&eb);
    buf_fini(&q);
    client_close(c);
    return ret;
}
