/* targets_files.h: the `target_files:` section of the configuration file
 * (docs/config.md, docs/collect/snmp.md "Targets from files"): targets
 * listed in Prometheus file_sd files, each file entry made a target of a
 * template.
 *
 *   target_files:
 *     - files: [inventory/r*.yml, inventory/r*.json]  # globs; relative to the config
 *       refresh_interval: 5m      # optional; files are also re-read as
 *                                 # soon as a match changes (checked 1/s)
 *       kind: snmp                # the keys of a `targets:` entry but
 *       module: if_mib            # address and name
 *       interval: 60s
 *       community: public
 *       labels: {source: inventory}
 *
 * Every file holds [{targets: ["192.0.2.1:161", ...], labels: {...}}]
 * (model/file_sd.h): each address becomes a target of the template, named
 * by its address, with the group's labels over the template's (labels
 * starting with "__" are dropped). A change of the files or of the section
 * applies the diff: new targets are added, gone or changed ones removed
 * (the manager writes their stale markers), the others keep running with
 * their state and schedule. A file that does not parse keeps its previous
 * targets and is reported as "file:line:col: reason".
 *
 * These targets are not persisted in DATA/targets.json (the files are the
 * truth); targets_files_source() tells the API which ones they are.
 *
 * Ownership: the component owns its copy of the configuration file's YAML
 * (the templates' nodes are handed to the kinds' open), borrows the manager
 * (it must outlive the component's stop).
 * Thread: every function but new/free from any thread; `mu` serialises
 * loads and passes (the watcher's and the callers').
 */
#ifndef TIDE_COLLECT_TARGETS_FILES_H
#define TIDE_COLLECT_TARGETS_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "collect/targets_config.h"
#include "core/err.h"

struct targets;
struct targets_files;

/* What a pass did (counts of targets). */
struct targets_files_diff {
    size_t added, removed, kept;
};

/* An empty component for `m`. `added` (optional) is told of every target a
 * pass adds (to apply a persisted enabled state). 0 or -ENOMEM. */
int targets_files_new(struct targets *m, targets_config_changed_fn *added, void *ctx,
                      struct targets_files **out);

/* (Re)load the section `target_files:` of the YAML file config_path
 * (NULL = no file, no section), file names relative to its directory.
 * Every template is checked first (its common keys, then the kind's open
 * on a disabled stand-in, then keys nobody read): one bad template refuses
 * the load with file:line:col in `e`, and nothing changes. Then the files
 * are read and the diff applied (as targets_files_sync with force); what a
 * file or a target refused is in `warn` (the first; code 0 when none).
 * 0, TIDE_EINVAL / TIDE_ENOTFOUND / the kind's error / -errno / -ENOMEM. */
int targets_files_load(struct targets_files *tf, const char *config_path,
                       struct targets_files_diff *d, struct err *warn, struct err *e);

/* One pass: re-read the files whose globs match something else than last
 * time (or whose refresh_interval passed; every file when `force`) and
 * apply the diff. `warn` as in targets_files_load. 0 or -ENOMEM. */
int targets_files_sync(struct targets_files *tf, bool force, struct targets_files_diff *d,
                       struct err *warn);

/* Start the watcher: a pass every second on its own thread, logging what
 * changed and what a file refused. 0 or -errno. */
int targets_files_watch(struct targets_files *tf, struct err *e);

/* Was kind/name added from a file? Its file's path in `file` (cap bytes,
 * may be NULL). */
bool targets_files_source(struct targets_files *tf, const char *kind, const char *name, char *file,
                          size_t cap);

/* Stop the watcher (no more adds or removes). Idempotent. */
void targets_files_stop(struct targets_files *tf);
/* Stop, free; the targets stay in the manager (its free closes them).
 * NULL is a no-op. */
void targets_files_free(struct targets_files *tf);

#endif
