/* rules_cmd.c: `tide rules check FILE…`, the offline check of Prometheus
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
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "rules/rulefile.h"

void rules_usage(FILE *f)
{
    fprintf(f, "usage: tide rules check FILE...\n"
               "\n"
               "Check Prometheus rule files as `tide serve` loads them (the same\n"
               "verdicts as `promtool check rules`): YAML, keys, PromQL, names,\n"
               "templates. Exit 0 when all are good, 1 otherwise (docs/rules.md).\n");
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

int rules_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        rules_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "check") == 0)
        return check(argc - 1, argv + 1);
    fprintf(stderr, "tide rules: unknown subcommand \"%s\"\n\n", argv[0]);
    rules_usage(stderr);
    return 2;
}
