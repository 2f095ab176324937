/* flags.h: the one command-line flag reader of the long-running commands
 * (`tide serve`, `tide agent`). Flags are "--name VALUE" or "--name=VALUE";
 * '_' and '-' are the same in a name (the YAML key `fsync_interval` is the
 * flag `--fsync-interval`); "-h"/"--help" asks for help. Each flag goes to
 * one callback, which parses the value and says what was wrong, so every
 * command reports a bad flag in the same words:
 *     tide serve: --fsync-interval "soon": not a duration
 */
#ifndef TIDE_CMD_FLAGS_H
#define TIDE_CMD_FLAGS_H

#include <stdbool.h>

#include "core/err.h"

/* Take one flag: `name` is normalised to '-' spelling, without "--".
 * Return 0, TIDE_ENOTFOUND for an unknown flag, or another error with the
 * reason in `e` (line/col unused). */
typedef int flags_fn(void *ctx, const char *name, const char *value, struct err *e);

/* Read argv (the command's arguments, program and command name excluded).
 * `want(ctx, name)` filters which flags this pass takes (NULL = all), so a
 * command can read --config before the rest. Reports on stderr as
 * "tide CMD: ..." and returns 1 when help was asked (nothing else read),
 * 0 on success, -1 on a usage error. */
int flags_parse(const char *cmd, int argc, char **argv, flags_fn *fn, void *ctx,
                bool (*want)(const char *name));

#endif
