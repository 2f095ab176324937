/* fuzz/snmp_module.c: SNMP module definitions (collect/snmp_module.c) from
 * arbitrary YAML, as a user writes them under `snmp_modules:`. Checks,
 * beyond "no crash, no leak":
 *   - a refusal has a known code and a message; YAML errors a position;
 *   - every module it accepts keeps the module invariant: each indexed
 *     metric's column and fallback, each lookup and indexed info label lie
 *     under a walked subtree, and each scalar's object .0 is in the GET list
 *     or under a walked subtree,
 *     so rendering never misses data it was promised;
 *   - every OID has 2..SNMP_OID_MAX sub-identifiers and survives
 *     format -> parse unchanged;
 *   - rendering an empty poll gives no series. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/snmp.h"
#include "core/yaml_tree.h"

static void check_oid(const struct snmp_oid *o)
{
    assert(o->n >= 2 && o->n <= SNMP_OID_MAX);
    char text[SNMP_OID_MAX * 11 + 1];
    snmp_oid_format(o->v, o->n, text, sizeof text);
    struct snmp_oid back;
    assert(snmp_oid_parse(text, &back) == 0);
    assert(snmp_oid_cmp(back.v, back.n, o->v, o->n) == 0);
}

static int walked(const struct snmp_module *m, const struct snmp_oid *o)
{
    for (size_t i = 0; i < m->nwalk; i++)
        if (snmp_oid_under(o->v, o->n, &m->walk[i]))
            return 1;
    return 0;
}

static int fetched(const struct snmp_module *m, const struct snmp_oid *o)
{
    for (size_t i = 0; i < m->nget; i++)
        if (m->get[i].n == o->n + 1 && m->get[i].v[o->n] == 0 &&
            memcmp(m->get[i].v, o->v, o->n * sizeof o->v[0]) == 0)
            return 1;
    return 0;
}

static void check_module(const struct snmp_module *m)
{
    assert(m->name && m->name[0]);
    assert(m->nmetrics >= 1);
    for (size_t i = 0; i < m->nwalk; i++)
        check_oid(&m->walk[i]);
    for (size_t i = 0; i < m->nget; i++)
        check_oid(&m->get[i]);
    for (size_t i = 0; i < m->nmetrics; i++) {
        const struct snmp_metric *mt = &m->metrics[i];
        assert(mt->name && labels_valid_metric_name(strv_c(mt->name)));
        bool indexed = mt->index != NULL;
        if (mt->type == SNMP_INFO) {
            assert(mt->nlabels >= 1);
            for (size_t k = 0; k < mt->nlabels; k++)
                assert(walked(m, &mt->labels[k].oid) ||
                       (!indexed && fetched(m, &mt->labels[k].oid)));
        } else {
            check_oid(&mt->oid);
            assert(walked(m, &mt->oid) || (!indexed && fetched(m, &mt->oid)));
            if (mt->has_fallback)
                assert(indexed && walked(m, &mt->fallback));
        }
    }
    for (size_t i = 0; i < m->nlookups; i++)
        assert(walked(m, &m->lookups[i].oid));
    struct snmp_result empty = {0};
    struct batch b;
    batch_init(&b);
    assert(snmp_render(m, &empty, 0, &b) == 0 && b.nseries == 0);
    batch_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = NULL;
    struct err e = {0};
    if (yaml_tree_parse((const char *)data, size, "fuzz", &t, &e) != 0) {
        assert(t == NULL && e.msg[0]);
        return 0;
    }
    struct snmp_modules ms;
    snmp_modules_init(&ms);
    err_clear(&e);
    int rc = snmp_modules_add(&ms, yaml_tree_root(t), &e);
    if (rc != 0) {
        assert(rc == TIDE_EINVAL || rc == TIDE_ENOTFOUND || rc == TIDE_ELIMIT || rc == -ENOMEM);
        assert(e.msg[0] != 0);
    }
    for (size_t i = 0; i < ms.n; i++)
        check_module(&ms.v[i]);
    snmp_modules_fini(&ms);
    yaml_tree_free(t);
    return 0;
}
