/* query.c: `tide query EXPR`, PromQL from the terminal: one request to a
 * server's /api/v1/query (or /api/v1/query_range when --start, --end or
 * --step is given), printed as a table for a person or passed through as
 * Prometheus' JSON for a script.
 *
 * The response is held whole (capped at QUERY_CLI_MAX_BYTES) and read with
 * the small JSON tree reader of core/jsontree.h. Errors are
 * printed with the server's own message, which for PromQL is Prometheus'
 * text ("1:5: parse error: ..."), and exit 1; bad flags exit 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/time.h"

#define QUERY_CLI_MAX_BYTES ((size_t)256 << 20)

void query_usage(FILE *f)
{
    fprintf(f,
            "usage: tide query [flags] EXPR\n"
            "\n"
            "Evaluate a PromQL expression on a Tide (or Prometheus) server and print the\n"
            "result: an instant query at --time (default now), or a range query when\n"
            "--start, --end or --step is given.\n"
            "\n"
            "flags:\n"
            "  --server URL            server to ask (default $TIDE_SERVER or %s)\n"
            "  --time T                evaluation time, RFC 3339 or Unix seconds (default now)\n"
            "  --start T, --end T      range query bounds (default: end now, start end-5m)\n"
            "  --step DURATION         range query resolution, e.g. 15s, 1m (default:\n"
            "                          (end-start)/250, at least 1s)\n"
            "  --timeout DURATION      ask the server to give up after this long\n"
            "  --format table|json     readable table (default) or the server's JSON\n"
            "  --bearer-token TOKEN    send Authorization: Bearer TOKEN (auth_read_bearer_token)\n"
            "  --basic USER:PASSWORD   send basic auth (auth_read_basic)\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 with a result (even an empty one), 1 when the server or the\n"
            "query failed, 2 for bad flags.\n",
            CLI_DEFAULT_SERVER);
}

/* "1435781451.781" (seconds) to RFC 3339, exactly (no float rounding). */
static void format_time(const char *secs, char *out, size_t cap)
{
    char *dot;
    long long s = strtoll(secs, &dot, 10);
    long long ms = 0;
    if (*dot == '.') {
        int scale = 100;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && scale > 0; p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    if (secs[0] == '-')
        ms = -ms;
    time_format_rfc3339(s * 1000 + ms, out, (unsigned)cap);
}

/* The series' name and labels the way Prometheus prints them:
 * name{a="b", c="d"}; {} alone for no labels at all. */
static void series_name(const struct jv *metric, struct buf *b)
{
    const struct jv *name = jv_member(metric, "__name__");
    buf_reset(b);
    if (name != NULL)
        buf_puts(b, jv_text(name));
    size_t nl = 0;
    for (const struct jv *l = metric ? metric->child : NULL; l; l = l->next) {
        if (strcmp(l->key, "__name__") == 0)
            continue;
        buf_puts(b, nl++ ? ", " : "{");
        buf_printf(b, "%s=\"", l->key);
        for (const char *p = jv_text(l); *p; p++) {
            if (*p == '"' || *p == '\\')
                buf_putc(b, '\\');
            if (*p == '\n')
                buf_puts(b, "\\n");
            else
                buf_putc(b, *p);
        }
        buf_putc(b, '"');
    }
    if (nl)
        buf_putc(b, '}');
    else if (name == NULL)
        buf_puts(b, "{}");
}

/* Print a success document as a table. 0, or -1 when it is not one. */
static int print_table(const struct jv *doc)
{
    const struct jv *data = jv_member(doc, "data");
    const char *type = jv_text(jv_member(data, "resultType"));
    const struct jv *res = jv_member(data, "result");
    if (res == NULL || res->t != JV_ARR)
        return -1;
    char when[40];
    if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
        const struct jv *t = res->child, *v = t ? t->next : NULL;
        if (v == NULL)
            return -1;
        format_time(jv_text(t), when, sizeof when);
        if (strcmp(type, "scalar") == 0)
            printf("scalar  %s  @ %s\n", jv_text(v), when);
        else
            printf("string  \"%s\"  @ %s\n", jv_text(v), when);
        return 0;
    }
    if (res->child == NULL) {
        printf("(no series)\n");
        return 0;
    }
    struct buf name;
    buf_init(&name, 1 << 20);
    if (strcmp(type, "vector") == 0) {
        size_t w = strlen("SERIES");
        for (const struct jv *s = res->child; s; s = s->next) {
            series_name(jv_member(s, "metric"), &name);
            if (name.len > w)
                w = name.len;
        }
        if (w > 100)
            w = 100;
        printf("%-*s  %-20s  %s\n", (int)w, "SERIES", "VALUE", "TIME");
        for (const struct jv *s = res->child; s; s = s->next) {
            const struct jv *pt = jv_member(s, "value");
            const struct jv *t = pt ? pt->child : NULL, *v = t ? t->next : NULL;
            series_name(jv_member(s, "metric"), &name);
            format_time(jv_text(t), when, sizeof when);
            printf("%-*s  %-20s  %s\n", (int)w, name.p ? name.p : "", jv_text(v), when);
        }
    } else if (strcmp(type, "matrix") == 0) {
        for (const struct jv *s = res->child; s; s = s->next) {
            series_name(jv_member(s, "metric"), &name);
            printf("%s%s\n", s == res->child ? "" : "\n", name.p ? name.p : "");
            const struct jv *vals = jv_member(s, "values");
            for (const struct jv *pt = vals ? vals->child : NULL; pt; pt = pt->next) {
                const struct jv *t = pt->child, *v = t ? t->next : NULL;
                format_time(jv_text(t), when, sizeof when);
                printf("  %s  %s\n", when, jv_text(v));
            }
        }
    } else {
        buf_fini(&name);
        return -1;
    }
    buf_fini(&name);
    return 0;
}

/* ---- flags and the request ---- */

static int parse_time_flag(const char *flag, const char *v, int64_t *out)
{
    struct err e = {0};
    if (time_parse_ms(v, out, &e) != 0) {
        fprintf(stderr, "tide query: %s: cannot parse \"%s\" (RFC 3339 or Unix seconds)\n", flag,
                v);
        return -1;
    }
    return 0;
}

static void add_param(struct client *c, struct buf *body, const char *name, const char *v)
{
    buf_printf(body, "%s%s=", body->len ? "&" : "", name);
    client_escape(c, body, v);
}

int query_main(int argc, char **argv)
{
    struct client_opts co = {0};
    const char *env = getenv("TIDE_SERVER");
    co.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    const char *expr = NULL, *at = NULL, *start = NULL, *end = NULL, *step = NULL;
    const char *timeout = NULL;
    bool json = false, bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            query_usage(stdout);
            return 0;
        }
        if ((v = cli_flag_value("query", argc, argv, &i, "--server", &bad)) != NULL) {
            co.server = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--time", &bad)) != NULL) {
            at = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--start", &bad)) != NULL) {
            start = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--end", &bad)) != NULL) {
            end = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--step", &bad)) != NULL) {
            step = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--timeout", &bad)) != NULL) {
            timeout = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--format", &bad)) != NULL) {
            if (strcmp(v, "json") == 0) {
                json = true;
            } else if (strcmp(v, "table") != 0) {
                fprintf(stderr, "tide query: --format %s: use table or json\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--bearer-token", &bad)) != NULL) {
            co.bearer = v;
        } else if ((v = cli_flag_value("query", argc, argv, &i, "--basic", &bad)) != NULL) {
            co.basic = v;
        } else if (bad) {
            break;
        } else if (a[0] == '-' && a[1] != 0 && expr == NULL && strchr(a, ' ') == NULL &&
                   strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "tide query: unknown flag %s (see --help)\n", a);
            bad = true;
        } else if (expr == NULL) {
            expr = a;
        } else {
            fprintf(stderr, "tide query: unexpected argument \"%s\" (quote the expression)\n", a);
            bad = true;
        }
    }
    if (!bad && expr == NULL) {
        fprintf(stderr, "tide query: no expression given (see --help)\n");
        bad = true;
    }
    bool range = start || end || step;
    if (!bad && range && at) {
        fprintf(stderr, "tide query: --time is for instant queries; not with --start/--end/--step\n");
        bad = true;
    }
    int64_t start_ms = 0, end_ms = 0, step_ms = 0, timeout_ms = 0;
    if (!bad && range) {
        end_ms = time_now_ms();
        if (end && parse_time_flag("--end", end, &end_ms) != 0)
            bad = true;
        start_ms = end_ms - 5 * 60000;
        if (!bad && start && parse_time_flag("--start", start, &start_ms) != 0)
            bad = true;
        struct err e = {0};
        if (!bad && step && time_parse_duration_ms(step, &step_ms, &e) != 0) {
            fprintf(stderr, "tide query: --step: %s\n", e.msg);
            bad = true;
        }
        if (!bad && step == NULL) {
            step_ms = (end_ms - start_ms) / 250 / 1000 * 1000;
            if (step_ms < 1000)
                step_ms = 1000;
        }
    }
    if (!bad && timeout) {
        struct err e = {0};
        if (time_parse_duration_ms(timeout, &timeout_ms, &e) != 0) {
            fprintf(stderr, "tide query: --timeout: %s\n", e.msg);
            bad = true;
        }
        co.timeout_s = (long)(timeout_ms / 1000) + 10;
    }
    if (bad)
        return 2;

    struct client *c = NULL;
    if (client_open(&c, &co) != 0) {
        fprintf(stderr, "tide query: out of memory\n");
        return 1;
    }
    struct buf body, resp;
    buf_init(&body, 1 << 20);
    buf_init(&resp, QUERY_CLI_MAX_BYTES);
    add_param(c, &body, "query", expr);
    char tmp[64];
    if (range) {
        snprintf(tmp, sizeof tmp, "%.3f", (double)start_ms / 1000.0);
        add_param(c, &body, "start", tmp);
        snprintf(tmp, sizeof tmp, "%.3f", (double)end_ms / 1000.0);
        add_param(c, &body, "end", tmp);
        snprintf(tmp, sizeof tmp, "%.3f", (double)step_ms / 1000.0);
        add_param(c, &body, "step", tmp);
    } else if (at) {
        add_param(c, &body, "time", at);
    }
    if (timeout)
        add_param(c, &body, "timeout", timeout);
    long status = 0;
    struct err e = {0};
    int rc = body.p ? client_post(c, range ? "/api/v1/query_range" : "/api/v1/query",
                                  "application/x-www-form-urlencoded", body.p, body.len, &status,
                                  &resp, &e)
                    : -ENOMEM;
    int ret = 0;
    if (rc != 0) {
        fprintf(stderr, "tide query: %s\n", rc == -ENOMEM ? "out of memory" : e.msg);
        ret = 1;
    } else if (status < 200 || status > 299) {
        /* Prometheus' envelope {"status":"error","errorType":..,"error":..}: its
         * "error" member is the message; any other body is shown as it is. */
        struct arena a;
        arena_init(&a, 8 * QUERY_CLI_MAX_BYTES);
        const struct jv *doc = resp.p ? jv_parse(resp.p, resp.len, &a) : NULL;
        const struct jv *msg = jv_member(doc, "error");
        if (msg != NULL && msg->t == JV_STR) {
            fprintf(stderr, "tide query: %s (HTTP %ld %s)\n", msg->s, status,
                    jv_text(jv_member(doc, "errorType")));
        } else {
            struct buf m;
            buf_init(&m, 1 << 20);
            client_error_message(resp.p, resp.len, &m);
            fprintf(stderr, "tide query: %s (HTTP %ld)\n", m.p ? m.p : "", status);
            buf_fini(&m);
        }
        arena_fini(&a);
        ret = 1;
    } else if (resp.len >= QUERY_CLI_MAX_BYTES) {
        fprintf(stderr, "tide query: the answer is larger than %zu MiB; narrow the query\n",
                QUERY_CLI_MAX_BYTES >> 20);
        ret = 1;
    } else if (json) {
        fwrite(resp.p, 1, resp.len, stdout);
        if (resp.len > 0 && resp.p[resp.len - 1] != '\n')
            putchar('\n');
    } else {
        struct arena a;
        arena_init(&a, 8 * QUERY_CLI_MAX_BYTES);
        const struct jv *doc = resp.p ? jv_parse(resp.p, resp.len, &a) : NULL;
        if (doc == NULL || strcmp(jv_text(jv_member(doc, "status")), "success") != 0 ||
            print_table(doc) != 0) {
            fprintf(stderr, "tide query: the server's answer is not a Prometheus query result\n");
            ret = 1;
        }
        arena_fini(&a);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "tide query: writing stdout: %s\n", strerror(errno));
        ret = 1;
    }
    buf_fini(&body);
    buf_fini(&resp);
    client_close(c);
    return ret;
}
