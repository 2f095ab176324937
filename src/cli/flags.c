/* flags.c: the flag syntax every client subcommand shares ("--name V" or
 * "--name=V"), so `tide import`, `tide export` and `tide query` read their
 * command lines the same way, and the values they share: sizes and retry
 * counts (see cli.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* "4194304", "512KiB", "4MiB", "1GiB", "64k", "4M". 0 on a bad value. */
size_t cli_parse_bytes(const char *s)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno != 0 || end == s || !isdigit((unsigned char)s[0]))
        return 0;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024;
    else if (*end == 'g' || *end == 'G')
        mul = 1024 * 1024 * 1024;
    else if (*end != 0 && strcasecmp(end, "B") != 0)
        return 0;
    if (*end != 0 && *end != 'b' && *end != 'B') {
        end++;
        if (*end == 'i')
            end++;
        if (*end == 'B' || *end == 'b')
            end++;
        if (*end != 0)
            return 0;
    }
    if (n > (1ull << 40) / mul)
        return 0;
    return (size_t)(n * mul);
}

int cli_parse_retries(const char *cmd, const char *v, unsigned *out)
{
    char *end;
    unsigned long r = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end != 0 || r > 100) {
        fprintf(stderr, "tide %s: --retries %s: want a number from 0 to 100\n", cmd, v);
        return -1;
    }
    *out = (unsigned)r;
    return 0;
}
