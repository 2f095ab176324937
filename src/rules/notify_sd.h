/* notify_sd.h: Alertmanagers found by discovery, as prometheus.yml's
 * alertmanagers entries find them: `file_sd_configs` (files of target
 * groups, model/file_sd.h) and `static_configs`, through `relabel_configs`.
 * Each address becomes the label set
 *     __address__, __scheme__, __alerts_path__ (path_prefix + /api/v2/alerts),
 *     the group's labels (__meta_filepath for a file's groups)
 * which relabel_configs may rewrite or drop; the URL alerts go to is
 * __scheme__://__address____alerts_path__, as in Prometheus.
 *
 * notify_sd_changed() says when the files must be read again (what the
 * globs match, their sizes or mtimes changed, or refresh_interval passed);
 * notify_sd_resolve() reads them. A file that does not parse fails the
 * whole resolution: the caller keeps the previous targets.
 *
 * Ownership: a notify_sd owns its patterns, groups and relabel rules
 * (notify_sd_fini); a result owns its arrays. Thread: the caller's.
 */
#ifndef TIDE_RULES_NOTIFY_SD_H
#define TIDE_RULES_NOTIFY_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/file_sd.h"
#include "model/relabel.h"
#include "rules/notify.h"

#define NOTIFY_SD_MAX 8
#define NOTIFY_SD_REFRESH_MS 300000 /* file_sd_configs' default refresh_interval */

/* One alertmanagers entry with file_sd_configs or relabel_configs. */
struct notify_sd {
    struct notify_target base; /* kind, timeout, auth and TLS of every target; url unused */
    char scheme[8];            /* http | https */
    char alerts_path[600];     /* path_prefix (no trailing /) + "/api/v2/alerts" */
    char **patterns;           /* file_sd_configs' files, absolute */
    size_t npatterns;
    int64_t refresh_ms;            /* the smallest refresh_interval */
    struct scrape_group *statics;  /* static_configs */
    size_t nstatics;
    struct relabel_config relabel; /* relabel_configs; n == 0 = none */
};

/* What a resolution found: URLs to send to, and those relabel dropped
 * (their URL from the labels before relabelling), each in order found and
 * without duplicates, at most NOTIFY_TARGETS_MAX each. */
struct notify_sd_result {
    char (*active)[1024];
    size_t nactive;
    char (*dropped)[1024];
    size_t ndropped;
};

void notify_sd_fini(struct notify_sd *sd);

/* A fingerprint of what sd's globs match now (names, sizes, mtimes). */
uint64_t notify_sd_fingerprint(const struct notify_sd *sd);

/* Read sd's groups (files and static) and resolve them into *out (zeroed
 * here; free with notify_sd_result_fini). 0, or the first error with
 * "path:line:col: reason" in e. */
int notify_sd_resolve(const struct notify_sd *sd, struct notify_sd_result *out, struct err *e);
void notify_sd_result_fini(struct notify_sd_result *r);

#endif
