/* fuzz/file_sd.c: a Prometheus file_sd file (collect/file_sd.c,
 * scrape_groups_parse: the reader of file_sd_configs and target_files:
 * files) from arbitrary YAML. Checks, beyond "no crash, no leak":
 *   - a refusal has a message and no groups;
 *   - every group read has its source ("f.yml:LINE"), targets without '/',
 *     valid label names, and __meta_filepath = the file's name. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/file_sd.h"
#include "core/yaml_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = NULL;
    struct err e;
    err_clear(&e);
    if (yaml_tree_parse((const char *)data, size, "f.yml", &t, &e) != 0)
        return 0;
    struct scrape_group *g = NULL;
    size_t n = 0;
    int rc = scrape_groups_parse(yaml_tree_root(t), "f.yml", &g, &n, &e);
    if (rc != 0) {
        assert(e.msg[0]);
        assert(g == NULL && n == 0);
        yaml_tree_free(t);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        assert(strncmp(g[i].source, "f.yml:", 6) == 0);
        for (size_t k = 0; k < g[i].ntargets; k++)
            assert(strchr(g[i].targets[k], '/') == NULL);
        for (size_t k = 0; k < g[i].nlabels; k++)
            assert(labels_valid_label_name(g[i].labels[k].name));
        assert(strv_eq_c(labels_get(g[i].labels, g[i].nlabels, STRV_LIT("__meta_filepath")),
                         "f.yml"));
    }
    scrape_groups_free(g, n);
    yaml_tree_free(t);
    return 0;
}
