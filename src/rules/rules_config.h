/* rules_config.h: the configuration file's sections that rules/ reads,
 * with prometheus.yml's keys (docs/config.md#rules):
 *
 *   rule_files: [GLOB, …]            relative to the config file's directory
 *   global:
 *     evaluation_interval: 1m        groups without their own interval
 *     external_labels: {k: v}        added to alerts sent; $externalLabels
 *     scrape_interval, scrape_timeout: accepted for prometheus.yml
 *                                     compatibility, not used by rules
 *   external_url: http://host:9470   generatorURL prefix, $externalURL
 *   alerting:
 *     alertmanagers:
 *       - static_configs: [{targets: [host:port, …]}]
 *         scheme: http | https       path_prefix: /     timeout: 10s
 *         api_version: v2
 *         basic_auth: {username, password | password_file}
 *         authorization: {type: Bearer, credentials | credentials_file}
 *         bearer_token | bearer_token_file
 *         tls_config: {ca_file, cert_file, key_file, server_name,
 *                      insecure_skip_verify, min_version, max_version}
 *         follow_redirects: true         enable_http2: (accepted, unused)
 *         file_sd_configs: [{files: [GLOB, …], refresh_interval: 5m}]
 *         relabel_configs: [...]         (rules/notify_sd.h)
 *     webhooks:                      Tide: a plain JSON webhook target
 *       - {url: http://…, timeout, and the HTTP keys above}
 *     alert_relabel_configs: [...]   Prometheus' relabel_config, applied to
 *                                     every alert sent (labels + external)
 *     resend_delay: 1m               Prometheus' --rules.alert.resend-delay
 *     for_outage_tolerance: 1h       --rules.alert.for-outage-tolerance
 *     for_grace_period: 10m          --rules.alert.for-grace-period
 *
 * rules_config_register() registers the four sections with core/config.h;
 * config_load_file() then fills the struct. Ownership: the struct owns
 * copies of everything (the YAML tree may go). Thread: none.
 */
#ifndef TIDE_RULES_RULES_CONFIG_H
#define TIDE_RULES_RULES_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "model/labels.h"
#include "model/relabel.h"
#include "rules/notify.h"
#include "rules/notify_sd.h"

struct rules_config {
    char dir[CONFIG_PATH_MAX]; /* the config file's directory ("" = cwd) */
    char **rule_files;         /* patterns as written; owned */
    size_t nrule_files;
    int64_t evaluation_interval_ms; /* default 1m */
    struct label *external_labels;  /* sorted; one owned block */
    size_t nexternal_labels;
    char external_url[1024];
    struct notify_target targets[NOTIFY_TARGETS_MAX];
    size_t ntargets;
    int64_t resend_delay_ms;     /* default 1m */
    int64_t outage_tolerance_ms; /* default 1h */
    int64_t for_grace_period_ms; /* default 10m */
    /* alerting.alert_relabel_configs; NULL = none. Heap-allocated so that
     * a struct copy keeps the notifier's borrowed pointer valid. */
    struct relabel_config *alert_relabel;
    /* alertmanagers entries with file_sd_configs or relabel_configs: heap
     * array of NOTIFY_SD_MAX (NULL = none yet), for the same reason. */
    struct notify_sd *sd;
    size_t nsd;
};

void rules_config_init(struct rules_config *c);
void rules_config_fini(struct rules_config *c);

/* Register rule_files, global, external_url and alerting on `cfg`, parsed
 * into `c` (which must outlive cfg's loads). */
int rules_config_register(struct rules_config *c, struct config *cfg);

/* Set c->dir from the config file's path (its directory). */
void rules_config_set_file(struct rules_config *c, const char *config_path);

#endif
