/* flags.c: the flag syntax every client subcommand shares ("--name V" or
 * "--name=V"), so `tide import`, `tide export` and `tide query` read their
 * command lines the same way (see cli.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                           bool *bad)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "tide %s: flag %s needs a value\n", cmd, name);
        *bad = true;
        return NULL;
    }
    return argv[++*i];
}
