/* rulefile.c: a Prometheus rule file read from its YAML tree into
 * struct rule_file (rulefile.h), with promtool's checks. Everything the
 * tree held is copied into the file's arena, so the tree is freed before
 * returning. Pure but for rulefile_load()'s read of the file.
 */
#include "rules/rulefile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/yaml_tree.h"
#include "query/query.h"
#include "rules/template.h"

#define RULEFILE_MAX_LABELS 64

static char *dup(struct rule_file *f, const char *s)
{
    return arena_strndup(&f->arena, s, strlen(s));
}

static int oom(struct err *e)
{
    return ERR_SET(e, -ENOMEM, "out of memory");
}

/* labels: or annotations: as a sorted label array; templates parsed when
 * `tmpls` is non-NULL. */
static int read_map(struct rule_file *f, const struct yaml_node *rule, const char *key,
                    bool annotations, struct label **out, size_t *nout, struct tmpl ***tmpls,
                    struct err *e)
{
    const struct yaml_node *m = yaml_tree_get(rule, key);
    *out = NULL;
    *nout = 0;
    if (yaml_tree_expect(m, YAML_TREE_MAP, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(m);
    if (n == 0)
        return 0;
    if (n > RULEFILE_MAX_LABELS)
        return yaml_tree_err(m, TIDE_ELIMIT, e, "%s: more than %d entries", key,
                             RULEFILE_MAX_LABELS);
    struct label *v = arena_alloc(&f->arena, n * sizeof *v);
    const struct yaml_node **nodes = calloc(n, sizeof *nodes);
    if (v == NULL || nodes == NULL) {
        free(nodes);
        return oom(e);
    }
    for (size_t i = 0; i < n; i++) {
        const struct yaml_node *val = NULL;
        const struct yaml_node *k = yaml_tree_pair(m, i, &val);
        const char *name = yaml_tree_text(k);
        const char *text = NULL;
        if (!labels_valid_label_name(strv_c(name)) ||
            (!annotations && strcmp(name, LABEL_METRIC_NAME) == 0)) {
            free(nodes);
            return yaml_tree_err(k, TIDE_EINVAL, e, "invalid %s name: %s",
                                 annotations ? "annotation" : "label", name);
        }
        if (yaml_tree_kind(val) == YAML_TREE_SCALAR && yaml_tree_is_null(val))
            text = "";
        else if (yaml_tree_kind(val) != YAML_TREE_SCALAR || yaml_tree_str(val, &text, e) != 0) {
            free(nodes);
            return yaml_tree_err(val ? val : k, TIDE_EINVAL, e, "%s %s: expected a string", key,
                                 name);
        }
        v[i] = (struct label){strv_c(dup(f, name)), strv_c(dup(f, text))};
        nodes[i] = val ? val : k;
    }
    /* Sort labels and their nodes together (n is small). */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strv_cmp(v[j - 1].name, v[j].name) > 0; j--) {
            struct label t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
            const struct yaml_node *tn = nodes[j];
            nodes[j] = nodes[j - 1];
            nodes[j - 1] = tn;
        }
    if (tmpls) {
        *tmpls = arena_alloc(&f->arena, n * sizeof **tmpls);
        if (*tmpls == NULL) {
            free(nodes);
            return oom(e);
        }
        memset(*tmpls, 0, n * sizeof **tmpls);
        for (size_t i = 0; i < n; i++) {
            struct err te = {0};
            int rc = tmpl_parse(v[i].value.p, v[i].value.n, &(*tmpls)[i], &te);
            if (rc != 0) {
                int rc2 = yaml_tree_err(nodes[i], rc, e, "%s %.*s: %s", key, (int)v[i].name.n,
                                        v[i].name.p, te.msg);
                for (size_t k = 0; k < i; k++)
                    tmpl_free((*tmpls)[k]);
                memset(*tmpls, 0, n * sizeof **tmpls);
                free(nodes);
                return rc2;
            }
        }
    }
    free(nodes);
    *out = v;
    *nout = n;
    return 0;
}

static int read_rule(struct rule_file *f, const struct yaml_node *r, struct rule_def *out,
                     struct err *e)
{
    memset(out, 0, sizeof *out);
    out->line = yaml_tree_line(r);
    if (yaml_tree_kind(r) != YAML_TREE_MAP)
        return yaml_tree_err(r, TIDE_EINVAL, e, "rules: expected a mapping");
    const char *record = NULL, *alert = NULL, *expr = NULL;
    if (yaml_tree_get_str(r, "record", &record, e) != 0 ||
        yaml_tree_get_str(r, "alert", &alert, e) != 0 ||
        yaml_tree_get_str(r, "expr", &expr, e) != 0)
        return e->code;
    bool has_for = yaml_tree_get(r, "for") != NULL;
    bool has_keep = yaml_tree_get(r, "keep_firing_for") != NULL;
    bool has_annot = yaml_tree_len(yaml_tree_get(r, "annotations")) > 0;
    if (yaml_tree_get_duration(r, "for", &out->for_ms, e) != 0 ||
        yaml_tree_get_duration(r, "keep_firing_for", &out->keep_firing_for_ms, e) != 0)
        return e->code;
    if (record && record[0] == 0)
        record = NULL;
    if (alert && alert[0] == 0)
        alert = NULL;
    if (record && alert)
        return yaml_tree_err(r, TIDE_EINVAL, e, "only one of 'record' and 'alert' must be set");
    if (!record && !alert)
        return yaml_tree_err(r, TIDE_EINVAL, e, "one of 'record' or 'alert' must be set");
    if (expr == NULL || expr[0] == 0)
        return yaml_tree_err(r, TIDE_EINVAL, e, "field 'expr' must be set in rule");
    out->kind = record ? RULE_RECORD : RULE_ALERT;
    out->name = dup(f, record ? record : alert);
    out->expr = dup(f, expr);
    if (out->name == NULL || out->expr == NULL)
        return oom(e);
    if (record) {
        if (has_annot)
            return yaml_tree_err(r, TIDE_EINVAL, e,
                                 "invalid field 'annotations' in recording rule");
        if (has_for && out->for_ms != 0)
            return yaml_tree_err(yaml_tree_get(r, "for"), TIDE_EINVAL, e,
                                 "invalid field 'for' in recording rule");
        if (has_keep && out->keep_firing_for_ms != 0)
            return yaml_tree_err(yaml_tree_get(r, "keep_firing_for"), TIDE_EINVAL, e,
                                 "invalid field 'keep_firing_for' in recording rule");
        if (!labels_valid_metric_name(strv_c(record)))
            return yaml_tree_err(yaml_tree_get(r, "record"), TIDE_EINVAL, e,
                                 "invalid recording rule name: %s", record);
    }
    struct buf scratch;
    buf_init(&scratch, 1 << 20);
    struct err qe = {0};
    int rc = query_format(&scratch, expr, strlen(expr), &qe);
    buf_fini(&scratch);
    if (rc != 0)
        return yaml_tree_err(yaml_tree_get(r, "expr"), TIDE_EINVAL, e,
                             "could not parse expression: %s", qe.msg);
    rc = read_map(f, r, "labels", false, &out->labels, &out->nlabels,
                  record ? NULL : &out->label_tmpls, e);
    if (rc == 0)
        rc = read_map(f, r, "annotations", true, &out->annotations, &out->nannotations,
                      record ? NULL : &out->annotation_tmpls, e);
    if (rc == 0 && yaml_tree_check_keys(r, e) != 0)
        rc = e->code;
    return rc;
}

static int read_group(struct rule_file *f, const struct yaml_node *g, struct rule_group_def *out,
                      struct err *e)
{
    memset(out, 0, sizeof *out);
    out->line = yaml_tree_line(g);
    out->file = f->path;
    if (yaml_tree_kind(g) != YAML_TREE_MAP)
        return yaml_tree_err(g, TIDE_EINVAL, e, "groups: expected a mapping");
    const char *name = NULL;
    if (yaml_tree_get_str(g, "name", &name, e) != 0)
        return e->code;
    if (name == NULL || name[0] == 0)
        return yaml_tree_err(g, TIDE_EINVAL, e, "Groupname must not be empty");
    out->name = dup(f, name);
    if (out->name == NULL)
        return oom(e);
    if (yaml_tree_get_duration(g, "interval", &out->interval_ms, e) != 0 ||
        yaml_tree_get_int(g, "limit", 0, INT32_MAX, &out->limit, e) != 0 ||
        yaml_tree_get_duration(g, "query_offset", &out->query_offset_ms, e) != 0 ||
        yaml_tree_get_bool(g, "backfill", &out->backfill, e) != 0)
        return e->code;
    const struct yaml_node *rules = yaml_tree_get(g, "rules");
    if (yaml_tree_expect(rules, YAML_TREE_SEQ, e) != 0)
        return e->code;
    if (yaml_tree_check_keys(g, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(rules);
    if (n) {
        out->rules = arena_alloc(&f->arena, n * sizeof *out->rules);
        if (out->rules == NULL)
            return oom(e);
        memset(out->rules, 0, n * sizeof *out->rules);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = read_rule(f, yaml_tree_item(rules, i), &out->rules[i], e);
        out->nrules = i + 1; /* so rulefile_free() frees its templates */
        if (rc != 0)
            return rc;
    }
    return 0;
}

int rulefile_parse(const char *text, size_t n, const char *path, struct rule_file **out,
                   struct err *e)
{
    *out = NULL;
    struct rule_file *f = calloc(1, sizeof *f);
    if (f == NULL)
        return oom(e);
    arena_init(&f->arena, 0);
    f->path = dup(f, path);
    struct yaml_tree *t = NULL;
    int rc = f->path ? yaml_tree_parse(text, n, path, &t, e) : oom(e);
    if (rc != 0)
        goto fail;
    const struct yaml_node *root = yaml_tree_root(t);
    if (root == NULL)
        goto done;
    if (yaml_tree_kind(root) != YAML_TREE_MAP) {
        rc = yaml_tree_err(root, TIDE_EINVAL, e, "expected a mapping with the key \"groups\"");
        goto fail;
    }
    const struct yaml_node *groups = yaml_tree_get(root, "groups");
    if (yaml_tree_expect(groups, YAML_TREE_SEQ, e) != 0 || yaml_tree_check_keys(root, e) != 0) {
        rc = e->code;
        goto fail;
    }
    size_t ng = yaml_tree_len(groups);
    if (ng) {
        f->groups = arena_alloc(&f->arena, ng * sizeof *f->groups);
        if (f->groups == NULL) {
            rc = oom(e);
            goto fail;
        }
        memset(f->groups, 0, ng * sizeof *f->groups);
    }
    for (size_t i = 0; i < ng; i++) {
        const struct yaml_node *g = yaml_tree_item(groups, i);
        rc = read_group(f, g, &f->groups[i], e);
        f->ngroups = i + 1;
        if (rc != 0)
            goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(f->groups[j].name, f->groups[i].name) == 0) {
                rc = yaml_tree_err(yaml_tree_get(g, "name"), TIDE_EINVAL, e,
                                   "groupname: \"%s\" is repeated in the same file",
                                   f->groups[i].name);
                goto fail;
            }
        f->nrules += f->groups[i].nrules;
    }
done:
    yaml_tree_free(t);
    *out = f;
    return 0;
fail:
    yaml_tree_free(t);
    rulefile_free(f);
    return rc;
}

int rulefile_load(const char *path, struct rule_file **out, struct err *e)
{
    *out = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc = fs_read_file(path, &text, &n);
    if (rc != 0)
        return ERR_SET(e, rc, "%s: %s", path, tide_strerror(rc));
    rc = rulefile_parse(text, n, path, out, e);
    free(text);
    return rc;
}

void rulefile_free(struct rule_file *f)
{
    if (f == NULL)
        return;
    for (size_t g = 0; g < f->ngroups; g++)
        for (size_t r = 0; r < f->groups[g].nrules; r++) {
            struct rule_def *d = &f->groups[g].rules[r];
            for (size_t i = 0; d->label_tmpls && i < d->nlabels; i++)
                tmpl_free(d->label_tmpls[i]);
            for (size_t i = 0; d->annotation_tmpls && i < d->nannotations; i++)
                tmpl_free(d->annotation_tmpls[i]);
        }
    arena_fini(&f->arena);
    free(f);
}

static bool labels_equal(const struct label *a, size_t na, const struct label *b, size_t nb)
{
    return labels_cmp(a, na, b, nb) == 0;
}

bool rule_def_equal(const struct rule_def *a, const struct rule_def *b)
{
    return a->kind == b->kind && strcmp(a->name, b->name) == 0 && strcmp(a->expr, b->expr) == 0 &&
           a->for_ms == b->for_ms && a->keep_firing_for_ms == b->keep_firing_for_ms &&
           labels_equal(a->labels, a->nlabels, b->labels, b->nlabels) &&
           labels_equal(a->annotations, a->nannotations, b->annotations, b->nannotations);
}
