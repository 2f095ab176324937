/* fuzz/scrape_config.c: a configuration's global: and scrape_configs:
 * (collect/scrape_config.c) from arbitrary YAML, every static target then
 * resolved (scrape_resolve). Checks, beyond "no crash, no leak":
 *   - a refusal has a known code, a message and a position;
 *   - every resolved target has an http:// or https:// URL, 0 < timeout
 *     <= interval, target labels sorted, unique, valid, none starting with
 *     "__", and both job and instance among them. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/scrape.h"
#include "core/yaml_tree.h"

static void check(const struct scrape_resolved *r)
{
    assert(strncmp(r->url, "http://", 7) == 0 || strncmp(r->url, "https://", 8) == 0);
    assert(r->timeout_ms > 0 && r->timeout_ms <= r->interval_ms);
    assert(labels_get(r->labels, r->nlabels, STRV_LIT("instance")).n > 0);
    for (size_t i = 0; i < r->nlabels; i++) {
        assert(labels_valid_label_name(r->labels[i].name));
        assert(!(r->labels[i].name.n >= 2 && r->labels[i].name.p[0] == '_' &&
                 r->labels[i].name.p[1] == '_'));
        assert(r->labels[i].value.n > 0);
        if (i > 0)
            assert(strv_cmp(r->labels[i - 1].name, r->labels[i].name) < 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = NULL;
    struct err e;
    err_clear(&e);
    if (yaml_tree_parse((const char *)data, size, "fuzz", &t, &e) != 0)
        return 0;
    const struct yaml_node *root = yaml_tree_root(t);
    struct scrape_job *jobs = NULL;
    size_t n = 0;
    /* base_dir "/nonexistent": secret files never resolve to real ones. */
    int rc = scrape_config_parse(yaml_tree_get(root, "global"),
                                 yaml_tree_get(root, "scrape_configs"), "/nonexistent", &jobs, &n,
                                 &e);
    if (rc != 0) {
        assert(e.msg[0]);
        assert(jobs == NULL);
        yaml_tree_free(t);
        return 0;
    }
    struct relabel_set set;
    relabel_set_init(&set);
    for (size_t j = 0; j < n; j++)
        for (size_t g = 0; g < jobs[j].nstatic; g++)
            for (size_t k = 0; k < jobs[j].static_groups[g].ntargets; k++) {
                struct scrape_resolved r;
                struct err re;
                err_clear(&re);
                rc = scrape_resolve(&jobs[j], &jobs[j].static_groups[g], k, &set, &r, &re);
                assert(rc == 0 || rc == 1 || re.msg[0]);
                if (rc == 1)
                    check(&r);
            }
    relabel_set_fini(&set);
    scrape_jobs_free(jobs, n);
    yaml_tree_free(t);
    return 0;
}
