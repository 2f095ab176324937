/* tls_config.h: Prometheus' `tls_config` block, read once for every HTTP
 * client section that takes it (scrape_configs, remote_write,
 * alerting.alertmanagers) and turned into core/http_client's options.
 *
 *     tls_config:
 *       ca_file: ca.pem            # relative names: against the config's directory
 *       cert_file: client.pem      # with key_file
 *       key_file: client.key
 *       server_name: metrics.example.net
 *       insecure_skip_verify: false
 *       min_version: TLS12         # TLS10, TLS11, TLS12, TLS13
 *       max_version: TLS13
 *
 * Ownership: struct tls_config is a plain value (fixed arrays, no
 * pointers): copy it freely, nothing to free. */
#ifndef TIDE_CORE_TLS_CONFIG_H
#define TIDE_CORE_TLS_CONFIG_H

#include <stdbool.h>

#include "core/err.h"

#define TLS_CONFIG_PATH_MAX 1024
#define TLS_CONFIG_NAME_MAX 256

struct yaml_node;
struct http_client_opts;

struct tls_config {
    char ca_file[TLS_CONFIG_PATH_MAX];   /* "" = the system's CA store */
    char cert_file[TLS_CONFIG_PATH_MAX]; /* client certificate, with key_file; "" = none */
    char key_file[TLS_CONFIG_PATH_MAX];
    char server_name[TLS_CONFIG_NAME_MAX]; /* SNI and the name verified; "" = the URL's host */
    bool insecure_skip_verify;
    int min_version, max_version; /* 10..13 for TLS 1.0..1.3; 0 = libcurl's default */
};

/* Read the `tls_config` node `tc` (NULL or null = all defaults) into *out
 * (reset first). Relative file names are resolved against base_dir (NULL or
 * "" = as given). 0, or TIDE_EINVAL / TIDE_ELIMIT / TIDE_ENOTFOUND (an
 * unknown key) with the node's line:col in `e`. */
int tls_config_parse(const struct yaml_node *tc, const char *base_dir, struct tls_config *out,
                     struct err *e);

/* Point o's TLS options at t's values (borrowed: t must outlive the
 * http_client_new() call, which copies them). */
void tls_config_client_opts(const struct tls_config *t, struct http_client_opts *o);

#endif
