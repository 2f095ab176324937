/* targets_runtime.h: targets added, removed, enabled and disabled at run
 * time (POST/DELETE /api/v1/targets…, docs/api/targets.md), kept in one
 * file (DATA/targets.json) so that they survive a restart.
 *
 * The file holds the entries added through the API, each as the text the
 * client sent (a `targets:` item's shape, JSON), and the enabled state set
 * through the API for any target by kind/name (config targets included):
 *
 *   {"targets":["{\"kind\":\"snmp\",\"address\":\"192.0.2.1:161\",…}"],
 *    "state":[{"kind":"snmp","name":"core-1","enabled":false}]}
 *
 * Entries keep their secrets (community, passwords): the file is written
 * 0600, atomically (temp file, fsync, rename, fsync of the directory).
 * Only targets added here can be removed here; a config target is disabled.
 *
 * Ownership: the store borrows the manager (it must outlive the store).
 * Thread: every function but open/free may be called from any thread; one
 * change at a time (a mutex), each persisted before it returns.
 */
#ifndef TIDE_COLLECT_TARGETS_RUNTIME_H
#define TIDE_COLLECT_TARGETS_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "collect/targets_config.h"
#include "core/err.h"

struct targets_rt;

/* Load `path` (missing = empty) and apply it to `m`: the entries are added
 * (after the config's own targets, so call it after targets_config_add),
 * then the states set. An entry that cannot be added again (its kind gone,
 * its name now taken by the config) is kept in the file and reported in
 * `warn` (the first one; warn->code 0 when none). 0, -ENOMEM, -errno, or
 * TIDE_EPARSE for a file that is not the shape above (`e`). */
int targets_rt_open(struct targets *m, const char *path, struct targets_rt **out,
                    struct err *warn, struct err *e);
void targets_rt_free(struct targets_rt *rt);

/* Add one entry (text of n bytes, read as YAML, so JSON; `file` names it in
 * errors) and persist it. *id says which target. -EEXIST when the kind/name
 * is taken, TIDE_EINVAL/TIDE_ENOTFOUND/TIDE_EPARSE for a bad entry (line:col
 * in `e`), or -errno when the file could not be written (not added then). */
int targets_rt_add(struct targets_rt *rt, const char *text, size_t n, const char *file,
                   struct target_id *id, struct err *e);
/* Remove a target added by targets_rt_add (stale markers as targets_remove).
 * TIDE_ENOTFOUND when unknown, -EPERM when the target is not one of ours. */
int targets_rt_remove(struct targets_rt *rt, const char *kind, const char *name, struct err *e);
/* Enable or disable any target and persist the state by kind/name.
 * TIDE_ENOTFOUND when unknown. */
int targets_rt_set_enabled(struct targets_rt *rt, const char *kind, const char *name,
                           bool enabled, struct err *e);
/* Was kind/name added through targets_rt_add? */
bool targets_rt_owns(struct targets_rt *rt, const char *kind, const char *name);
/* The enabled state persisted for kind/name: 1 enabled, 0 disabled, -1 none. */
int targets_rt_state(struct targets_rt *rt, const char *kind, const char *name);

#endif
