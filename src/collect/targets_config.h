/* targets_config.h: the `targets:` section of the configuration file
 * (docs/config.md) turned into targets of a targets manager.
 *
 *   targets:
 *     - kind: snmp                 # a kind registered with the manager
 *       address: 192.0.2.1:161     # optional; the default name
 *       name: core-1               # optional; default address, else "kind/index"
 *       module: if_mib             # optional, kind-specific
 *       interval: 60s              # optional, default TARGETS_CONFIG_INTERVAL_MS
 *       labels: {site: tbilisi}    # optional, added to every series
 *       enabled: true              # optional; false = added but not run
 *       community: public          # any other key is the kind's own
 *
 * The common keys above are read here; the entry's mapping is then handed to
 * the kind as spec.config, and the kind's open() reads its own keys and
 * refuses unknown ones. Whatever key nobody read is refused afterwards too
 * (a passive kind has no open), with the target removed again.
 *
 * Kinds "host" and "agent" are refused: the host collector's groups are set
 * with the collect_* keys, and an agent's desired interval with
 * /api/v1/agent/config (it is persisted in DATA/agents.conf, which would
 * clash with a second source of the same names).
 *
 * Errors carry the 1-based line:col of the node at fault in `e`; print them
 * with yaml_tree_format_err() or as "file:line:col: msg".
 * Thread: the caller's; the section's tree is read (consumed-key marks).
 */
#ifndef TIDE_COLLECT_TARGETS_CONFIG_H
#define TIDE_COLLECT_TARGETS_CONFIG_H

#include <stdint.h>

#include "collect/targets.h"
#include "core/err.h"

#define TARGETS_CONFIG_INTERVAL_MS 60000 /* a config target's default interval */

struct targets;
struct yaml_node;

/* Add every entry of `section` (a list; NULL or null = none) to `m`, in
 * order. Stops at the first bad entry; the entries before it stay added.
 * 0, or TIDE_EINVAL / TIDE_ENOTFOUND (unknown kind or key) / the kind's
 * open error / -ENOMEM, with the position in `e`. */
int targets_config_add(struct targets *m, const struct yaml_node *section, struct err *e);

/* The keys an entry shares with a `target_files:` template: kind (required,
 * registered elsewhere: not host or agent), module, interval, labels,
 * enabled, read from mapping `item` into spec (name and address unset;
 * strings point into the tree, labels into `labels`, which holds
 * TARGETS_LABELS_MAX; spec->config = item). *kind_node is set once kind
 * was read. 0 or TIDE_EINVAL with the position in `e`. */
int targets_config_read_template(const struct yaml_node *item, struct target_spec *spec,
                                 struct label *labels, const struct yaml_node **kind_node,
                                 struct err *e);

/* A node's canonical text (a changed key or value changes it), appended to
 * b: for the diff of a reload. Lists a mapping's pairs, so it marks their
 * keys read: call it after yaml_tree_check_keys(). 0 or -ENOMEM. */
struct buf;
int targets_config_print(const struct yaml_node *n, struct buf *b);

/* A target's kind and name. */
struct target_id {
    char kind[32];
    char name[TARGETS_NAME_MAX + 1];
};

/* POST /api/v1/targets and DATA/targets.json: add one entry (a `targets:`
 * item's shape) and say which target it made in *id (set once the common
 * keys were read, also when the add then fails). -EEXIST when that
 * kind/name is taken; otherwise as targets_config_add(). */
int targets_config_add_entry(struct targets *m, const struct yaml_node *item, struct target_id *id,
                             struct err *e);

/* The config's targets as running: kind/name and a fingerprint of each
 * entry, for the diff of a reload. */
struct targets_config_set;
/* Record `section` (already added by targets_config_add). 0 or -ENOMEM. */
int targets_config_set_new(const struct yaml_node *section, struct targets_config_set **out);
void targets_config_set_free(struct targets_config_set *set);

/* What a reload did (counts). */
struct targets_config_diff {
    size_t added, removed, replaced, kept;
};

/* Reload: diff `section` against `cur` by kind/name. Every new or changed
 * entry is checked first (common keys, then the kind's open and its keys, on
 * a disabled stand-in that never runs), and a kind/name taken by a target
 * that is not a config one (the API's) is refused: one bad entry refuses the
 * whole reload (position in `e`) and nothing changes. Then removed entries
 * are removed, changed ones (any key differs) removed and added again, new
 * ones added; `cur` becomes the new list. `changed` (optional) is told of
 * each target added or replaced. */
typedef void targets_config_changed_fn(void *ctx, const char *kind, const char *name);
int targets_config_reload(struct targets *m, struct targets_config_set *cur,
                          const struct yaml_node *section, targets_config_changed_fn *changed,
                          void *ctx, struct targets_config_diff *d, struct err *e);

/* POST /api/v1/targets/test: read one entry (a `targets:` item's shape,
 * `name` optional) and test it with targets_test() without adding it.
 * 0 when the test ran (out says how it went); otherwise as
 * targets_config_add() for a bad entry, keys nobody read included. */
struct target_test;
int targets_config_test(struct targets *m, const struct yaml_node *item, int64_t timeout_ms,
                        struct target_test *out, struct err *e);

#endif
