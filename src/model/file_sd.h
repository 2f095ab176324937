/* file_sd.h: Prometheus' file-based service discovery, shared by the
 * scrape jobs' file_sd_configs (collect/scrape_discovery.c) and the
 * `target_files:` section (collect/targets_files.c):
 *
 *   - target groups, the shape of a file_sd file and of static_configs:
 *       [{targets: ["192.0.2.1:161", ...], labels: {site: x}}, ...]
 *     read from JSON or YAML (scrape_file_sd_read, scrape_groups_parse);
 *   - a set of glob patterns and what their files last held
 *     (struct scrape_file_sd): scrape_file_sd_parse reads `files:` and
 *     `refresh_interval:` from a mapping, scrape_file_sd_refresh re-reads
 *     the files when the names, sizes, mtimes or inodes of what the globs
 *     match changed (call it every second) or refresh_interval passed.
 *     A file that does not parse keeps its previous groups, as Prometheus'
 *     file SD does, and the error names it as "file:line:col: reason".
 *
 * Ownership: groups own their strings; a scrape_file_sd owns its patterns
 * and groups (scrape_file_sd_fini).
 * Thread: the caller's; one caller at a time per scrape_file_sd.
 */
#ifndef TIDE_MODEL_FILE_SD_H
#define TIDE_MODEL_FILE_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/labels.h"

#define SCRAPE_FILE_SD_REFRESH_MS 300000 /* file_sd_configs refresh_interval */

struct yaml_node;

/* One target group: static_configs item or one entry of a file_sd file.
 * Owned by whoever holds the array (job or file state). */
struct scrape_group {
    char **targets;       /* __address__ values */
    size_t ntargets;
    struct label *labels; /* group labels, strings owned (malloc'd each); a
                           * file's groups also carry __meta_filepath */
    size_t nlabels;
    char *source;         /* "file.yml:3" or "static_configs:3"; for errors */
};

/* One file_sd_configs entry (or target_files entry) and what its files
 * last held. */
struct scrape_file_sd {
    char **patterns; /* globs, relative to the config file's directory made absolute */
    size_t npatterns;
    int64_t refresh_ms;
    int64_t last_read_ms; /* monotonic */
    uint64_t fingerprint; /* of the matched files' names, sizes, mtimes, inodes */
    /* The groups of every file as last read well (a file that fails to
     * parse keeps its previous groups, as Prometheus does). */
    struct scrape_group *groups;
    size_t ngroups;
};

void scrape_groups_free(struct scrape_group *g, size_t n);
/* Read a list of groups (`file` names their source and becomes their
 * __meta_filepath label; NULL = static_configs, no such label). A null or
 * absent list is no group. 0 or an error at the node at fault. */
int scrape_groups_parse(const struct yaml_node *list, const char *file,
                        struct scrape_group **out, size_t *n, struct err *e);
/* Read a file_sd file (JSON or YAML, Prometheus' shape: a list of
 * {targets: [...], labels: {...}}) into groups. 0 or an error with the
 * position in `e` (the file name is the caller's to add). */
int scrape_file_sd_read(const char *path, struct scrape_group **groups, size_t *n, struct err *e);

/* `path` made absolute against base_dir (NULL or "" = as is); malloc'd,
 * NULL when out of memory. */
char *scrape_path_resolve(const char *base_dir, const char *path);

/* Read `files:` (required, globs of .json/.yml/.yaml names, only the last
 * element a pattern) and `refresh_interval:` (default 5m, at least 1s)
 * of mapping m into sd (zeroed here). Other keys are left unread (the
 * caller checks them). 0 or an error at the node at fault; sd is then
 * to be finished by the caller too. */
int scrape_file_sd_parse(const struct yaml_node *m, const char *base_dir,
                         struct scrape_file_sd *sd, struct err *e);
void scrape_file_sd_fini(struct scrape_file_sd *sd);

/* Read sd's files again when what the globs match changed, when
 * refresh_interval passed, or when `force`. True when they were read (the
 * groups may have changed). A file that fails keeps its previous groups;
 * the first failure is left in `e` as "path:line:col: reason". */
bool scrape_file_sd_refresh(struct scrape_file_sd *sd, bool force, struct err *e);

#endif
