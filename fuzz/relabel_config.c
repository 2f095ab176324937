/* fuzz/relabel_config.c: relabel_configs (model/relabel.c) from arbitrary
 * YAML, applied to a fixed label set. Checks, beyond "no crash, no leak":
 *   - a refusal has a known code, a message and a position;
 *   - an accepted config applied to the set leaves it with unique names and
 *     no empty value (the relabel_set invariant), whether kept or dropped;
 *   - applying the same config to the same input twice gives the same
 *     result (no state kept between calls). */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/relabel.h"
#include "core/yaml_tree.h"

static const struct label input[] = {
    {STRV_LIT("__address__"), STRV_LIT("node1:9100")},
    {STRV_LIT("__meta_zone"), STRV_LIT("eu-1")},
    {STRV_LIT("__name__"), STRV_LIT("node_cpu_seconds_total")},
    {STRV_LIT("cpu"), STRV_LIT("0")},
    {STRV_LIT("ifAlias"), STRV_LIT("ISP:Magti_Internet")},
    {STRV_LIT("job"), STRV_LIT("node")},
};

static void run(const struct relabel_config *c, struct relabel_set *s, bool *keep)
{
    relabel_set_reset(s);
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++)
        assert(relabel_set_put(s, input[i].name, input[i].value) == 0);
    assert(relabel_apply(c, s, keep) == 0);
    for (size_t i = 0; i < s->n; i++) {
        assert(s->v[i].value.n > 0);
        for (size_t j = i + 1; j < s->n; j++)
            assert(!strv_eq(s->v[i].name, s->v[j].name));
    }
    relabel_set_sort(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = NULL;
    struct err e;
    err_clear(&e);
    if (yaml_tree_parse((const char *)data, size, "fuzz", &t, &e) != 0) {
        assert(e.msg[0]);
        return 0;
    }
    struct relabel_config c;
    int rc = relabel_config_parse(yaml_tree_root(t), &c, &e);
    if (rc != 0) {
        assert(rc == TIDE_EINVAL || rc == TIDE_ENOTFOUND || rc == -ENOMEM);
        assert(e.msg[0] && e.line > 0);
        yaml_tree_free(t);
        return 0;
    }
    struct relabel_set a, b;
    relabel_set_init(&a);
    relabel_set_init(&b);
    bool ka = false, kb = false;
    run(&c, &a, &ka);
    run(&c, &b, &kb);
    assert(ka == kb);
    if (ka) {
        assert(a.n == b.n);
        assert(labels_cmp(a.v, a.n, b.v, b.n) == 0);
    }
    relabel_set_fini(&a);
    relabel_set_fini(&b);
    relabel_config_fini(&c);
    yaml_tree_free(t);
    return 0;
}
