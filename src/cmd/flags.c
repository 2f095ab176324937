/* flags.c: the flag reader of `tide serve` and `tide agent` (flags.h). */
#include "cmd/flags.h"

#include <stdio.h>
#include <string.h>

int flags_parse(const char *cmd, int argc, char **argv, flags_fn *fn, void *ctx,
                bool (*want)(const char *name))
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "tide %s: unexpected argument \"%s\" (see --help)\n", cmd, a);
            return -1;
        }
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t n = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
        if (n == 0 || n >= sizeof name) {
            fprintf(stderr, "tide %s: bad flag \"%s\"\n", cmd, a);
            return -1;
        }
        memcpy(name, a + 2, n);
        name[n] = 0;
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = '-';
        const char *value;
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "tide %s: flag --%s needs a value\n", cmd, name);
            return -1;
        }
        if (want && !want(name))
            continue;
        struct err e = {0};
        int rc = fn(ctx, name, value, &e);
        if (rc == TIDE_ENOTFOUND) {
            fprintf(stderr, "tide %s: unknown flag --%s (see --help)\n", cmd, name);
            return -1;
        }
        if (rc != 0) {
            fprintf(stderr, "tide %s: --%s: %s\n", cmd, name, e.msg[0] ? e.msg : tide_strerror(rc));
            return -1;
        }
    }
    return 0;
}
