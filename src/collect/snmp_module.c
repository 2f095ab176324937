/* snmp_module.c: SNMP modules as data (snmp.h): the `snmp_modules:` YAML
 * (and the built-in text of snmp_if_mib.c) read into struct snmp_module,
 * plus the OID helpers every other snmp_*.c uses. First stop of the poller:
 * a module says what to ask a device and how to name what comes back.
 *
 *   snmp_modules:
 *     my_module:
 *       max_repetitions: 25        # optional, GETBULK size
 *       timeout: 5s                # optional, per request
 *       retries: 3                 # optional
 *       walk: [1.3.6.1.2.1.2.2]    # optional: subtrees to walk instead of
 *                                  # one walk per column
 *       metrics:
 *         - name: ifOperStatus
 *           oid: 1.3.6.1.2.1.2.2.1.8
 *           type: gauge            # gauge | counter | info
 *           index: ifIndex         # the row label; absent = a scalar (oid.0)
 *           fallback: 1.3.6...     # optional column for rows `oid` lacks
 *         - name: snmp_device_info
 *           type: info             # value 1, labels from string objects
 *           labels: {sysName: 1.3.6.1.2.1.1.5}
 *       lookups:
 *         - {label: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, index: ifIndex}
 *
 * Invariant: every OID a metric or lookup reads is under a walked subtree or
 * in the GET list, so rendering never misses data it was promised.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snmp.h"
#include "core/mem.h"
#include "core/yaml_tree.h"
#include "model/labels.h"

/* ---- OIDs ---- */

int snmp_oid_parse(const char *s, struct snmp_oid *out)
{
    out->n = 0;
    if (s == NULL)
        return TIDE_EINVAL;
    if (*s == '.')
        s++;
    if (*s == 0)
        return TIDE_EINVAL;
    while (*s) {
        if (*s < '0' || *s > '9' || out->n == SNMP_OID_MAX)
            return TIDE_EINVAL;
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (uint64_t)(*s - '0');
            if (v > UINT32_MAX)
                return TIDE_EINVAL;
            s++;
        }
        out->v[out->n++] = (uint32_t)v;
        if (*s == '.') {
            s++;
            if (*s == 0)
                return TIDE_EINVAL;
        } else if (*s != 0) {
            return TIDE_EINVAL;
        }
    }
    return out->n >= 2 ? 0 : TIDE_EINVAL;
}

char *snmp_oid_format(const uint32_t *v, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return out;
    out[0] = 0;
    for (size_t i = 0; i < n && len < cap; i++) {
        int w = snprintf(out + len, cap - len, i ? ".%u" : "%u", v[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return out;
}

int snmp_oid_cmp(const uint32_t *a, size_t an, const uint32_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

bool snmp_oid_under(const uint32_t *o, size_t on, const struct snmp_oid *root)
{
    return on >= root->n && memcmp(o, root->v, root->n * sizeof *o) == 0;
}

/* ---- the module set ---- */

void snmp_modules_init(struct snmp_modules *ms)
{
    memset(ms, 0, sizeof *ms);
    arena_init(&ms->arena, 64u << 20);
}

void snmp_modules_fini(struct snmp_modules *ms)
{
    free(ms->v);
    arena_fini(&ms->arena);
    memset(ms, 0, sizeof *ms);
}

const struct snmp_module *snmp_modules_find(const struct snmp_modules *ms, const char *name)
{
    for (size_t i = 0; i < ms->n; i++)
        if (strcmp(ms->v[i].name, name) == 0)
            return &ms->v[i];
    return NULL;
}

/* ---- parsing ---- */

struct parse {
    struct snmp_modules *ms;
    struct snmp_module *m;
    struct err *e;
    size_t cap_walk, cap_get;
};

static int oom(struct parse *p, const struct yaml_node *n)
{
    return yaml_tree_err(n, -ENOMEM, p->e, "out of memory");
}

static char *dup(struct parse *p, const char *s)
{
    return arena_strndup(&p->ms->arena, s, strlen(s));
}

/* Read an OID under `key` of map (required). */
static int read_oid(struct parse *p, const struct yaml_node *map, const char *key,
                    struct snmp_oid *out)
{
    const struct yaml_node *n = NULL;
    const char *text = NULL;
    if (yaml_tree_require(map, key, &n, p->e) != 0 || yaml_tree_str(n, &text, p->e) != 0)
        return p->e->code;
    if (snmp_oid_parse(text, out) != 0)
        return yaml_tree_err(n, TIDE_EINVAL, p->e,
                             "\"%s\" is not a numeric OID (write 1.3.6.1.2.1.2.2.1.8, not MIB "
                             "names)",
                             text);
    return 0;
}

static int read_name(struct parse *p, const struct yaml_node *map, const char *key, bool metric,
                     char **out)
{
    const struct yaml_node *n = NULL;
    const char *text = NULL;
    if (yaml_tree_require(map, key, &n, p->e) != 0 || yaml_tree_str(n, &text, p->e) != 0)
        return p->e->code;
    struct strv sv = strv_c(text);
    bool ok = metric ? labels_valid_metric_name(sv) : labels_valid_label_name(sv);
    if (!ok || strncmp(text, "__", 2) == 0)
        return yaml_tree_err(n, TIDE_EINVAL, p->e, "\"%s\" is not a valid %s name", text,
                             metric ? "metric" : "label");
    *out = dup(p, text);
    return *out ? 0 : oom(p, n);
}

/* Make sure the object `o` (a column when indexed, else a scalar without
 * .0) will be fetched: under a walk root, or walked / fetched now. */
static int need(struct parse *p, const struct snmp_oid *o, bool indexed, const struct yaml_node *at)
{
    struct snmp_module *m = p->m;
    for (size_t i = 0; i < m->nwalk; i++)
        if (snmp_oid_under(o->v, o->n, &m->walk[i]))
            return 0;
    if (indexed) {
        if (m->nwalk == p->cap_walk)
            return yaml_tree_err(at, TIDE_ELIMIT, p->e, "too many columns");
        m->walk[m->nwalk++] = *o;
        return 0;
    }
    if (o->n + 1 > SNMP_OID_MAX)
        return yaml_tree_err(at, TIDE_EINVAL, p->e, "OID too long");
    struct snmp_oid g = *o;
    g.v[g.n++] = 0;
    for (size_t i = 0; i < m->nget; i++)
        if (snmp_oid_cmp(m->get[i].v, m->get[i].n, g.v, g.n) == 0)
            return 0;
    if (m->nget == p->cap_get)
        return yaml_tree_err(at, TIDE_ELIMIT, p->e, "too many scalars");
    m->get[m->nget++] = g;
    return 0;
}

static int read_metric(struct parse *p, const struct yaml_node *n, struct snmp_metric *out)
{
    struct err *e = p->e;
    memset(out, 0, sizeof *out);
    if (yaml_tree_expect(n, YAML_TREE_MAP, e) != 0)
        return e->code;
    if (yaml_tree_kind(n) != YAML_TREE_MAP)
        return yaml_tree_err(n, TIDE_EINVAL, e, "expected a mapping (name, oid, type)");
    if (read_name(p, n, "name", true, &out->name) != 0)
        return e->code;
    const char *type = "gauge", *index = NULL, *help = NULL;
    if (yaml_tree_get_str(n, "type", &type, e) != 0 || yaml_tree_get_str(n, "index", &index, e) ||
        yaml_tree_get_str(n, "help", &help, e) != 0)
        return e->code;
    if (strcmp(type, "gauge") == 0)
        out->type = SNMP_GAUGE;
    else if (strcmp(type, "counter") == 0)
        out->type = SNMP_COUNTER;
    else if (strcmp(type, "info") == 0)
        out->type = SNMP_INFO;
    else
        return yaml_tree_err(yaml_tree_get(n, "type"), TIDE_EINVAL, e,
                             "type \"%s\" is not one of gauge, counter, info", type);
    if (index && index[0]) {
        if (!labels_valid_label_name(strv_c(index)))
            return yaml_tree_err(yaml_tree_get(n, "index"), TIDE_EINVAL, e,
                                 "\"%s\" is not a valid label name", index);
        out->index = dup(p, index);
        if (out->index == NULL)
            return oom(p, n);
    }
    bool indexed = out->index != NULL;
    if (out->type == SNMP_INFO) {
        const struct yaml_node *ls = NULL;
        if (yaml_tree_require(n, "labels", &ls, e) != 0 ||
            yaml_tree_expect(ls, YAML_TREE_MAP, e) != 0)
            return e->code;
        size_t nl = yaml_tree_len(ls);
        if (nl == 0)
            return yaml_tree_err(ls, TIDE_EINVAL, e, "an info metric needs labels");
        out->labels = arena_alloc(&p->ms->arena, nl * sizeof *out->labels);
        if (out->labels == NULL)
            return oom(p, ls);
        for (size_t i = 0; i < nl; i++) {
            const struct yaml_node *v = NULL;
            const struct yaml_node *k = yaml_tree_pair(ls, i, &v);
            const char *ln = yaml_tree_text(k), *ov = NULL;
            struct snmp_label_src *l = &out->labels[i];
            if (!labels_valid_label_name(strv_c(ln)) || strncmp(ln, "__", 2) == 0)
                return yaml_tree_err(k, TIDE_EINVAL, e, "\"%s\" is not a valid label name", ln);
            if (yaml_tree_str(v, &ov, e) != 0)
                return e->code;
            if (snmp_oid_parse(ov, &l->oid) != 0)
                return yaml_tree_err(v, TIDE_EINVAL, e, "\"%s\" is not a numeric OID", ov);
            l->label = dup(p, ln);
            if (l->label == NULL)
                return oom(p, k);
            if (need(p, &l->oid, indexed, v) != 0)
                return e->code;
        }
        out->nlabels = nl;
        if (yaml_tree_get(n, "oid") != NULL)
            return yaml_tree_err(yaml_tree_get(n, "oid"), TIDE_EINVAL, e,
                                 "an info metric takes labels, not oid");
    } else {
        if (read_oid(p, n, "oid", &out->oid) != 0 || need(p, &out->oid, indexed, n) != 0)
            return e->code;
        if (yaml_tree_get(n, "fallback") != NULL) {
            if (!indexed)
                return yaml_tree_err(yaml_tree_get(n, "fallback"), TIDE_EINVAL, e,
                                     "fallback needs an indexed metric");
            if (read_oid(p, n, "fallback", &out->fallback) != 0 ||
                need(p, &out->fallback, true, n) != 0)
                return e->code;
            out->has_fallback = true;
        }
    }
    return yaml_tree_check_keys(n, e);
}

static int read_lookup(struct parse *p, const struct yaml_node *n, struct snmp_lookup *out)
{
    struct err *e = p->e;
    if (yaml_tree_kind(n) != YAML_TREE_MAP)
        return yaml_tree_err(n, TIDE_EINVAL, e, "expected a mapping (label, oid, index)");
    if (read_name(p, n, "label", false, &out->label) != 0 ||
        read_name(p, n, "index", false, &out->index) != 0 ||
        read_oid(p, n, "oid", &out->oid) != 0 || need(p, &out->oid, true, n) != 0)
        return e->code;
    return yaml_tree_check_keys(n, e);
}

static int read_module(struct parse *p, const char *name, const struct yaml_node *n)
{
    struct err *e = p->e;
    struct snmp_module *m = p->m;
    memset(m, 0, sizeof *m);
    m->retries = -1;
    if (yaml_tree_kind(n) != YAML_TREE_MAP)
        return yaml_tree_err(n, TIDE_EINVAL, e, "module %s: expected a mapping (metrics, ...)",
                             name);
    m->name = dup(p, name);
    const struct yaml_node *metrics = NULL, *lookups = yaml_tree_get(n, "lookups");
    const struct yaml_node *walk = yaml_tree_get(n, "walk");
    int64_t reps = 0, retries = -1, timeout_ms = 0;
    if (yaml_tree_require(n, "metrics", &metrics, e) != 0 ||
        yaml_tree_expect(metrics, YAML_TREE_SEQ, e) != 0 ||
        yaml_tree_expect(lookups, YAML_TREE_SEQ, e) != 0 ||
        yaml_tree_expect(walk, YAML_TREE_SEQ, e) != 0 ||
        yaml_tree_get_int(n, "max_repetitions", 1, 1000, &reps, e) != 0 ||
        yaml_tree_get_int(n, "retries", 0, 20, &retries, e) != 0 ||
        yaml_tree_get_duration(n, "timeout", &timeout_ms, e) != 0)
        return e->code;
    if (yaml_tree_get(n, "timeout") && (timeout_ms < 10 || timeout_ms > 600000))
        return yaml_tree_err(yaml_tree_get(n, "timeout"), TIDE_EINVAL, e,
                             "timeout must be 10ms..10m");
    m->max_repetitions = (int)reps;
    m->retries = (int)retries;
    m->timeout_ms = timeout_ms;
    size_t nm = yaml_tree_len(metrics), nl = yaml_tree_len(lookups), nw = yaml_tree_len(walk);
    if (nm == 0)
        return yaml_tree_err(metrics ? metrics : n, TIDE_EINVAL, e, "module %s has no metrics",
                             name);
    size_t objects = nw + nl;
    for (size_t i = 0; i < nm; i++)
        objects += 2 + yaml_tree_len(yaml_tree_get(yaml_tree_item(metrics, i), "labels"));
    p->cap_walk = p->cap_get = objects;
    m->walk = arena_alloc(&p->ms->arena, objects * sizeof *m->walk);
    m->get = arena_alloc(&p->ms->arena, objects * sizeof *m->get);
    m->metrics = arena_alloc(&p->ms->arena, nm * sizeof *m->metrics);
    m->lookups = nl ? arena_alloc(&p->ms->arena, nl * sizeof *m->lookups) : NULL;
    if (m->name == NULL || m->walk == NULL || m->get == NULL || m->metrics == NULL ||
        (nl && m->lookups == NULL))
        return oom(p, n);
    for (size_t i = 0; i < nw; i++) {
        const struct yaml_node *w = yaml_tree_item(walk, i);
        const char *text = NULL;
        if (yaml_tree_str(w, &text, e) != 0)
            return e->code;
        if (snmp_oid_parse(text, &m->walk[m->nwalk]) != 0)
            return yaml_tree_err(w, TIDE_EINVAL, e, "\"%s\" is not a numeric OID", text);
        m->nwalk++;
    }
    for (size_t i = 0; i < nm; i++) {
        if (read_metric(p, yaml_tree_item(metrics, i), &m->metrics[i]) != 0)
            return e->code;
        m->nmetrics++;
    }
    for (size_t i = 0; i < nl; i++) {
        if (read_lookup(p, yaml_tree_item(lookups, i), &m->lookups[i]) != 0)
            return e->code;
        m->nlookups++;
    }
    return yaml_tree_check_keys(n, e);
}

int snmp_modules_add(struct snmp_modules *ms, const struct yaml_node *section, struct err *e)
{
    if (yaml_tree_is_null(section))
        return 0;
    if (yaml_tree_kind(section) != YAML_TREE_MAP)
        return yaml_tree_err(section, TIDE_EINVAL, e,
                             "expected a mapping of module names to modules");
    size_t n = yaml_tree_len(section);
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *v = NULL;
        const struct yaml_node *k = yaml_tree_pair(section, i, &v);
        const char *name = yaml_tree_text(k);
        if (name[0] == 0 || strlen(name) > 63)
            return yaml_tree_err(k, TIDE_EINVAL, e, "a module name is 1 to 63 bytes");
        struct snmp_module m;
        struct parse p = {.ms = ms, .m = &m, .e = e};
        if (read_module(&p, name, v) != 0)
            return e->code;
        struct snmp_module *old = (struct snmp_module *)snmp_modules_find(ms, name);
        if (old != NULL) {
            *old = m;
            continue;
        }
        if (mem_grow((void **)&ms->v, &ms->cap, ms->n + 1, sizeof *ms->v) != 0)
            return yaml_tree_err(k, -ENOMEM, e, "out of memory");
        ms->v[ms->n++] = m;
    }
    return 0;
}

int snmp_modules_add_builtin(struct snmp_modules *ms, struct err *e)
{
    struct yaml_tree *t = NULL;
    int rc = yaml_tree_parse(snmp_builtin_modules_yaml, strlen(snmp_builtin_modules_yaml),
                             "builtin", &t, e);
    if (rc == 0)
        rc = snmp_modules_add(ms, yaml_tree_root(t), e);
    yaml_tree_free(t);
    return rc;
}
