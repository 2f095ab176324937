/* admin.c: `tide admin cleanup`, storage housekeeping from the terminal:
 * one POST to a server's /api/v1/admin/cleanup, whose answer
 * {"status":"success","data":{"dryRun":B,"series":N,"samples":N}} is
 * printed as one line for a person (or passed through with --format json).
 * Errors print the server's own message and exit 1; bad flags exit 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/time.h"

#define ADMIN_MAX_MATCH 64

void admin_usage(FILE *f)
{
    fprintf(f,
            "usage: tide admin cleanup --older-than DURATION [flags]\n"
            "\n"
            "Delete the samples older than DURATION (e.g. 7d, 12h) of every series, or\n"
            "of the series --match selects, on a running Tide server. Reads stop seeing\n"
            "them at once; compaction frees the disk space within minutes.\n"
            "\n"
            "flags:\n"
            "  --older-than DURATION   delete samples with a timestamp before now - DURATION\n"
            "  --match SELECTOR        only these series (repeatable; default: all)\n"
            "  --dry-run               count what would be deleted, delete nothing\n"
            "  --server URL            server (default $TIDE_SERVER or %s)\n"
            "  --format text|json      one summary line (default) or the server's JSON\n"
            "  --bearer-token TOKEN    send Authorization: Bearer TOKEN (write scope)\n"
            "  --basic USER:PASSWORD   send basic auth\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 done, 1 when the server refused or failed, 2 for bad flags.\n",
            CLI_DEFAULT_SERVER);
}

/* The unsigned number after "key": in a flat JSON answer, or -1. */
static int64_t json_num(const char *body, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = body ? strstr(body, pat) : NULL;
    if (p == NULL)
        return -1;
    return strtoll(p + strlen(pat), NULL, 10);
}

static void add_param(struct client *c, struct buf *body, const char *name, const char *v)
{
    buf_printf(body, "%s%s=", body->len ? "&" : "", name);
    client_escape(c, body, v);
}

static int cleanup_main(int argc, char **argv)
{
    struct client_opts co = {0};
    const char *env = getenv("TIDE_SERVER");
    co.server = env && env[0] ? env : CLI_DEFAULT_SERVER;
    const char *match[ADMIN_MAX_MATCH];
    size_t nmatch = 0;
    const char *older = NULL;
    bool dry = false, json = false, bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            admin_usage(stdout);
            return 0;
        }
        if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--older-than", &bad)) != NULL) {
            older = v;
        } else if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--match", &bad)) !=
                   NULL) {
            if (nmatch == ADMIN_MAX_MATCH) {
                fprintf(stderr, "tide admin cleanup: at most %d --match\n", ADMIN_MAX_MATCH);
                bad = true;
            } else {
                match[nmatch++] = v;
            }
        } else if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--server", &bad)) !=
                   NULL) {
            co.server = v;
        } else if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--format", &bad)) !=
                   NULL) {
            if (strcmp(v, "json") == 0) {
                json = true;
            } else if (strcmp(v, "text") != 0) {
                fprintf(stderr, "tide admin cleanup: --format %s: use text or json\n", v);
                bad = true;
            }
        } else if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--bearer-token",
                                       &bad)) != NULL) {
            co.bearer = v;
        } else if ((v = cli_flag_value("admin cleanup", argc, argv, &i, "--basic", &bad)) !=
                   NULL) {
            co.basic = v;
        } else if (!bad) {
            fprintf(stderr, "tide admin cleanup: unexpected argument %s (see --help)\n", a);
            bad = true;
        }
    }
    if (!bad && older == NULL) {
        fprintf(stderr, "tide admin cleanup: --older-than is required (e.g. --older-than 7d)\n");
        bad = true;
    }
    int64_t older_ms = 0;
    struct err e = {0};
    if (!bad && (time_parse_duration_ms(older, &older_ms, &e) != 0 || older_ms <= 0)) {
        fprintf(stderr, "tide admin cleanup: --older-than %s: %s\n", older,
                e.msg[0] ? e.msg : "want a positive duration");
        bad = true;
    }
    if (bad)
        return 2;

    struct client *c = NULL;
    if (client_open(&c, &co) != 0) {
        fprintf(stderr, "tide admin cleanup: out of memory\n");
        return 1;
    }
    struct buf body, resp;
    buf_init(&body, 1 << 20);
    buf_init(&resp, 1 << 20);
    add_param(c, &body, "older_than", older);
    add_param(c, &body, "dry_run", dry ? "true" : "false");
    for (size_t i = 0; i < nmatch; i++)
        add_param(c, &body, "match[]", match[i]);
    long status = 0;
    int rc = body.p ? client_post(c, "/api/v1/admin/cleanup", "application/x-www-form-urlencoded",
                                  body.p, body.len, &status, &resp, &e)
                    : -ENOMEM;
    if (rc == 0 && resp.p == NULL && buf_printf(&resp, "%s", "") != 0)
        rc = -ENOMEM;
    int ret = 0;
    if (rc != 0) {
        fprintf(stderr, "tide admin cleanup: %s\n", rc == -ENOMEM ? "out of memory" : e.msg);
        ret = 1;
    } else if (status < 200 || status > 299) {
        struct buf m;
        buf_init(&m, 1 << 20);
        client_error_message(resp.p, resp.len, &m);
        fprintf(stderr, "tide admin cleanup: %s (HTTP %ld)\n", m.p ? m.p : "", status);
        buf_fini(&m);
        ret = 1;
    } else if (json) {
        fwrite(resp.p, 1, resp.len, stdout);
        if (resp.len > 0 && resp.p[resp.len - 1] != '\n')
            putchar('\n');
    } else {
        int64_t series = json_num(resp.p, "series"), samples = json_num(resp.p, "samples");
        if (series < 0 || samples < 0) {
            fprintf(stderr, "tide admin cleanup: the server's answer has no counts\n");
            ret = 1;
        } else {
            printf("%s %" PRId64 " samples of %" PRId64 " series older than %s%s\n",
                   dry ? "would delete" : "deleted", samples, series, older,
                   dry ? " (dry run)" : "");
        }
    }
    buf_fini(&body);
    buf_fini(&resp);
    client_close(c);
    return ret;
}

int admin_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "help") == 0) {
        admin_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "cleanup") == 0)
        return cleanup_main(argc - 1, argv + 1);
    fprintf(stderr, "tide admin: unknown subcommand \"%s\" (see tide admin --help)\n", argv[0]);
    return 2;
}
