/* rules_cmd.c: `tide rules check FILE…` and `tide rules backfill`.
 *
 * check: the offline check of Prometheus
 * rule files with `promtool check rules`' verdicts: each file is loaded
 * with rules/rulefile.c exactly as `tide serve` loads it, and reported as
 *
 *     Checking FILE
 *       SUCCESS: N rules found
 * or
 *     Checking FILE
 *       FAILED:
 *     FILE:LINE:COL: reason
 *
 * Exit status: 0 when every file is good, 1 when one is not, 2 on usage.
 *
 * backfill: asks a running server (POST /api/v1/rules/backfill) to evaluate
 * its recording rules over [--from, --to] and write what is missing (or,
 * with --dry-run, only to say what it would write); prints the server's
 * JSON report. Exit 0 on success, 1 on a server error, 2 on usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/cmd.h"
#include "rules/rulefile.h"

void rules_usage(FILE *f)
{
    fprintf(f,
            "usage: tide rules check FILE...\n"
            "       tide rules backfill --from T --to T [--group NAME] [--rule NAME]\n"
            "                           [--match SELECTOR] [--dry-run] [--server URL]\n"
            "\n"
            "check: check Prometheus rule files as `tide serve` loads them (the same\n"
            "verdicts as `promtool check rules`): YAML, keys, PromQL, names,\n"
            "templates. Exit 0 when all are good, 1 otherwise (docs/rules.md).\n"
            "\n"
            "backfill: have the server (--server, default $TIDE_SERVER or %s)\n"
            "evaluate its recording rules over history at each group's interval and\n"
            "write the samples it lacks; --dry-run only reports, per rule, how many\n"
            "series and samples would be written, with examples. Idempotent.\n"
            "  --bearer-token TOKEN, --basic USER:PASSWORD   write credentials\n",
            CLI_DEFAULT_SERVER);
}

static int check(int argc, char **argv)
{
    if (argc == 0) {
        fprintf(stderr, "tide rules check: no rule file given\n");
        return 2;
    }
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        struct rule_file *f = NULL;
        struct err e = {0};
        printf("Checking %s\n", argv[i]);
        int rc = rulefile_load(argv[i], &f, &e);
        if (rc != 0) {
            bad = 1;
            printf("  FAILED:\n");
            if (e.line > 0)
                fprintf(stderr, "%s:%d:%d: %s\n", argv[i], e.line, e.col, e.msg);
            else
                fprintf(stderr, "%s\n", e.msg[0] ? e.msg : tide_strerror(rc));
            printf("\n");
            continue;
        }
        printf("  SUCCESS: %zu rules found\n\n", f->nrules);
        rulefile_free(f);
    }
    return bad;
}

static int backfill(int argc, char **argv)
{
    const char *env = getenv("TIDE_SERVER");
    struct client_opts co = {.server = env && env[0] ? env : CLI_DEFAULT_SERVER};
    const char *from = NULL, *to = NULL, *group = NULL, *rule = NULL, *match = NULL;
    bool dry = false, bad = false;
    for (int i = 0; i < argc && !bad; i++) {
        const char *v;
        if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--server", &bad)) != NULL)
            co.server = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--from", &bad)) != NULL)
            from = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--to", &bad)) != NULL)
            to = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--group", &bad)) != NULL)
            group = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--rule", &bad)) != NULL)
            rule = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--match", &bad)) != NULL)
            match = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--bearer-token", &bad)) !=
                 NULL)
            co.bearer = v;
        else if ((v = cli_flag_value("rules backfill", argc, argv, &i, "--basic", &bad)) != NULL)
            co.basic = v;
        else if (!bad && strcmp(argv[i], "--dry-run") == 0)
            dry = true;
        else if (!bad) {
            fprintf(stderr, "tide rules backfill: unknown flag \"%s\"\n", argv[i]);
            bad = true;
        }
    }
    if (!bad && (from == NULL || to == NULL)) {
        fprintf(stderr, "tide rules backfill: --from and --to are required\n");
        bad = true;
    }
    if (bad)
        return 2;
    struct client *c = NULL;
    if (client_open(&c, &co) != 0) {
        fprintf(stderr, "tide rules backfill: out of memory\n");
        return 1;
    }
    struct buf form, resp;
    buf_init(&form, 1 << 20);
    buf_init(&resp, 64u << 20);
    const char *keys[] = {"from", "to", "group", "rule", "match"};
    const char *vals[] = {from, to, group, rule, match};
    for (int k = 0; k < 5; k++) {
        if (vals[k] == NULL)
            continue;
        buf_printf(&form, "%s%s=", form.len ? "&" : "", keys[k]);
        client_escape(c, &form, vals[k]);
    }
    buf_printf(&form, "&dry_run=%s", dry ? "true" : "false");
    long status = 0;
    struct err e = {0};
    int rc = client_post(c, "/api/v1/rules/backfill", "application/x-www-form-urlencoded", form.p,
                         form.len, &status, &resp, &e);
    int code = 0;
    if (rc != 0) {
        fprintf(stderr, "tide rules backfill: %s\n", e.msg);
        code = 1;
    } else if (status / 100 != 2) {
        struct buf msg;
        buf_init(&msg, 4096);
        client_error_message(resp.p, resp.len, &msg);
        fprintf(stderr, "tide rules backfill: server answered %ld: %s\n", status,
                msg.p ? msg.p : "");
        buf_fini(&msg);
        code = 1;
    } else {
        printf("%s\n", resp.p ? resp.p : "");
    }
    buf_fini(&form);
    buf_fini(&resp);
    client_close(c);
    return code;
}

int rules_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        rules_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "check") == 0)
        return check(argc - 1, argv + 1);
    if (strcmp(argv[0], "backfill") == 0)
        return backfill(argc - 1, argv + 1);
    fprintf(stderr, "tide rules: unknown subcommand \"%s\"\n\n", argv[0]);
    rules_usage(stderr);
    return 2;
}
