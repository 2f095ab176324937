/* targets_config.c: the `targets:` section of the configuration file read
 * into targets_add() calls (see targets_config.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/targets.h"
#include "collect/targets_config.h"
#include "core/buf.h"
#include "core/yaml_tree.h"
#include "model/labels.h"

/* Kinds that are configured elsewhere (see targets_config.h). */
static const char *const refused_kinds[][2] = {
    {"host", "the host collector is set with the collect_* keys"},
    {"agent", "agents' intervals are set with /api/v1/agent/config"},
};

static int read_labels(const struct yaml_node *map, struct label *out, size_t *n, struct err *e)
{
    const struct yaml_node *l = yaml_tree_get(map, "labels");
    *n = 0;
    if (yaml_tree_expect(l, YAML_TREE_MAP, e) != 0)
        return e->code;
    size_t len = yaml_tree_len(l);
    if (len > TARGETS_LABELS_MAX)
        return yaml_tree_err(l, TIDE_EINVAL, e, "more than %d labels", TARGETS_LABELS_MAX);
    for (size_t i = 0; i < len; i++) {
        const struct yaml_node *v = NULL;
        const struct yaml_node *k = yaml_tree_pair(l, i, &v);
        const char *name = yaml_tree_text(k);
        const char *value = NULL;
        struct strv sn = strv_c(name);
        if (!labels_valid_label_name(sn) || strncmp(name, "__", 2) == 0)
            return yaml_tree_err(k, TIDE_EINVAL, e,
                                 "\"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not "
                                 "starting with __)",
                                 name);
        if (yaml_tree_kind(v) != YAML_TREE_SCALAR || yaml_tree_str(v, &value, e) != 0 ||
            value[0] == 0)
            return yaml_tree_err(v ? v : k, TIDE_EINVAL, e, "label %s: expected a non-empty string",
                                 name);
        out[i] = (struct label){sn, strv_c(value)};
    }
    *n = len;
    return 0;
}

static bool same_id(const struct target_id *a, const struct target_id *b)
{
    return strcmp(a->kind, b->kind) == 0 && strcmp(a->name, b->name) == 0;
}

/* Put an error the manager or a kind reported without a position at `n`. */
static int place(const struct yaml_node *n, int rc, struct err *e)
{
    if (e->line == 0) {
        e->line = yaml_tree_line(n);
        e->col = yaml_tree_col(n);
    }
    return rc;
}

int targets_config_read_template(const struct yaml_node *item, struct target_spec *spec,
                                 struct label *labels, const struct yaml_node **kind_node_out,
                                 struct err *e)
{
    const struct yaml_node *kind_node = NULL;
    const char *kind = NULL, *module = NULL;
    int64_t interval_ms = TARGETS_CONFIG_INTERVAL_MS;
    bool enabled = true;
    if (yaml_tree_kind(item) != YAML_TREE_MAP)
        return yaml_tree_err(item, TIDE_EINVAL, e, "expected a mapping (kind, address, ...)");
    if (yaml_tree_require(item, "kind", &kind_node, e) != 0 ||
        yaml_tree_str(kind_node, &kind, e) != 0 ||
        yaml_tree_get_str(item, "module", &module, e) != 0 ||
        yaml_tree_get_duration(item, "interval", &interval_ms, e) != 0 ||
        yaml_tree_get_bool(item, "enabled", &enabled, e) != 0)
        return e->code;
    *kind_node_out = kind_node;
    for (size_t i = 0; i < sizeof refused_kinds / sizeof refused_kinds[0]; i++)
        if (strcmp(kind, refused_kinds[i][0]) == 0)
            return yaml_tree_err(kind_node, TIDE_EINVAL, e,
                                 "kind \"%s\" cannot be configured here: %s", kind,
                                 refused_kinds[i][1]);
    const struct yaml_node *iv = yaml_tree_get(item, "interval");
    if (interval_ms < TARGETS_INTERVAL_MIN_MS || interval_ms > TARGETS_INTERVAL_MAX_MS)
        return yaml_tree_err(iv, TIDE_EINVAL, e, "interval %lldms is outside 100ms..1d",
                             (long long)interval_ms);
    if (module && module[0] == 0)
        module = NULL;
    size_t nlabels = 0;
    if (read_labels(item, labels, &nlabels, e) != 0)
        return e->code;
    *spec = (struct target_spec){
        .kind = kind,
        .module = module,
        .interval_ms = interval_ms,
        .labels = labels,
        .nlabels = nlabels,
        .disabled = !enabled,
        .config = item,
    };
    return 0;
}

/* Read an entry's common keys into spec (strings point into the tree,
 * labels into `labels`, a made-up name into `fallback`). */
static int read_entry(const struct yaml_node *item, size_t index, struct target_spec *spec,
                      struct label *labels, char *fallback, size_t fallback_cap,
                      const struct yaml_node **kind_node_out, struct err *e)
{
    const char *name = NULL, *address = NULL;
    if (yaml_tree_kind(item) == YAML_TREE_MAP &&
        (yaml_tree_get_str(item, "name", &name, e) != 0 ||
         yaml_tree_get_str(item, "address", &address, e) != 0))
        return e->code;
    if (targets_config_read_template(item, spec, labels, kind_node_out, e) != 0)
        return e->code;
    if (address && address[0] == 0)
        address = NULL;
    if (name == NULL || name[0] == 0) {
        if (address) {
            name = address;
        } else {
            snprintf(fallback, fallback_cap, "%.40s/%zu", spec->kind, index);
            name = fallback;
        }
    }
    const struct yaml_node *where_name = yaml_tree_get(item, "name");
    if (where_name == NULL)
        where_name = yaml_tree_get(item, "address");
    if (strlen(name) > TARGETS_NAME_MAX || strpbrk(name, "\t\n\r"))
        return yaml_tree_err(where_name ? where_name : item, TIDE_EINVAL, e,
                             "the name must be 1 to %d bytes without tabs or newlines",
                             TARGETS_NAME_MAX);
    spec->name = name;
    spec->address = address;
    return 0;
}

static int add_one(struct targets *m, const struct yaml_node *item, size_t index,
                   struct target_id *id, struct err *e)
{
    struct target_spec spec;
    struct label labels[TARGETS_LABELS_MAX];
    char fallback[64];
    const struct yaml_node *kind_node = NULL;
    int rc = read_entry(item, index, &spec, labels, fallback, sizeof fallback, &kind_node, e);
    if (rc != 0)
        return rc;
    if (id) {
        snprintf(id->kind, sizeof id->kind, "%s", spec.kind);
        snprintf(id->name, sizeof id->name, "%s", spec.name);
        struct target_status st;
        if (targets_get(m, spec.kind, spec.name, &st) == 0)
            return yaml_tree_err(kind_node, -EEXIST, e, "target %s/%s exists", spec.kind,
                                 spec.name);
    }
    rc = targets_add(m, &spec, e);
    if (rc == TIDE_ENOTFOUND && e->line == 0)
        return yaml_tree_err(kind_node, rc, e, "unknown kind \"%s\"", spec.kind);
    if (rc != 0)
        return place(item, rc, e);
    rc = yaml_tree_check_keys(item, e);
    if (rc != 0)
        targets_remove(m, spec.kind, spec.name);
    return rc;
}

int targets_config_test(struct targets *m, const struct yaml_node *item, int64_t timeout_ms,
                        struct target_test *out, struct err *e)
{
    struct target_spec spec;
    struct label labels[TARGETS_LABELS_MAX];
    char fallback[64];
    const struct yaml_node *kind_node = NULL;
    memset(out, 0, sizeof *out);
    int rc = read_entry(item, 0, &spec, labels, fallback, sizeof fallback, &kind_node, e);
    if (rc != 0)
        return rc;
    /* The kind reads its own keys while testing, so keys nobody read are
     * refused after the test (its result is then not reported). */
    rc = targets_test(m, &spec, timeout_ms, out, e);
    if (rc == TIDE_ENOTFOUND && e->line == 0)
        return yaml_tree_err(kind_node, rc, e, "unknown kind \"%s\"", spec.kind);
    if (rc != 0)
        return place(item, rc, e);
    return yaml_tree_check_keys(item, e);
}

int targets_config_add(struct targets *m, const struct yaml_node *section, struct err *e)
{
    if (yaml_tree_is_null(section))
        return 0;
    if (yaml_tree_expect(section, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(section);
    for (size_t i = 0; i < n; i++) {
        int rc = add_one(m, yaml_tree_item(section, i), i, NULL, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int targets_config_add_entry(struct targets *m, const struct yaml_node *item, struct target_id *id,
                             struct err *e)
{
    return add_one(m, item, 0, id, e);
}

/* ---- reload: the diff by kind/name ---- */

struct tc_item {
    struct target_id id;
    char *print; /* the entry's canonical text: a changed key changes it */
};

struct targets_config_set {
    struct tc_item *v;
    size_t n;
};

int targets_config_print(const struct yaml_node *n, struct buf *b)
{
    int rc = 0;
    switch (yaml_tree_kind(n)) {
    case YAML_TREE_MAP:
        rc = buf_putc(b, '{');
        for (size_t i = 0; rc == 0 && i < yaml_tree_len(n); i++) {
            const struct yaml_node *v = NULL;
            const struct yaml_node *k = yaml_tree_pair(n, i, &v);
            rc = targets_config_print(k, b);
            if (rc == 0)
                rc = buf_putc(b, ':');
            if (rc == 0)
                rc = targets_config_print(v, b);
            if (rc == 0)
                rc = buf_putc(b, ',');
        }
        return rc ? rc : buf_putc(b, '}');
    case YAML_TREE_SEQ:
        rc = buf_putc(b, '[');
        for (size_t i = 0; rc == 0 && i < yaml_tree_len(n); i++) {
            rc = targets_config_print(yaml_tree_item(n, i), b);
            if (rc == 0)
                rc = buf_putc(b, ',');
        }
        return rc ? rc : buf_putc(b, ']');
    default: {
        const char *t = yaml_tree_is_null(n) ? NULL : yaml_tree_text(n);
        if (t == NULL)
            return buf_puts(b, "~");
        rc = buf_printf(b, "%zu:", strlen(t)); /* length-prefixed: no escaping needed */
        return rc ? rc : buf_puts(b, t);
    }
    }
}

/* The id and fingerprint of entry i (common keys checked). */
static int item_of(const struct yaml_node *item, size_t i, struct tc_item *out, struct err *e)
{
    struct target_spec spec;
    struct label labels[TARGETS_LABELS_MAX];
    char fallback[64];
    const struct yaml_node *kind_node = NULL;
    int rc = read_entry(item, i, &spec, labels, fallback, sizeof fallback, &kind_node, e);
    if (rc != 0)
        return rc;
    out->print = NULL;
    snprintf(out->id.kind, sizeof out->id.kind, "%s", spec.kind);
    snprintf(out->id.name, sizeof out->id.name, "%s", spec.name);
    return 0;
}

static int print_item(const struct yaml_node *item, struct tc_item *out, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = targets_config_print(item, &b);
    if (rc != 0) {
        buf_fini(&b);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    out->print = b.p ? b.p : strdup("");
    return out->print ? 0 : ERR_SET(e, -ENOMEM, "out of memory");
}

static void set_clear(struct targets_config_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i].print);
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

void targets_config_set_free(struct targets_config_set *set)
{
    if (set == NULL)
        return;
    set_clear(set);
    free(set);
}

/* Read every entry of `section` into *set (common keys checked). */
static int set_read(const struct yaml_node *section, struct targets_config_set *set, bool print,
                    struct err *e)
{
    memset(set, 0, sizeof *set);
    if (yaml_tree_is_null(section))
        return 0;
    if (yaml_tree_expect(section, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(section);
    set->v = calloc(n ? n : 1, sizeof set->v[0]);
    if (set->v == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = item_of(yaml_tree_item(section, i), i, &set->v[i], e);
        if (rc == 0 && print)
            rc = print_item(yaml_tree_item(section, i), &set->v[i], e);
        if (rc != 0) {
            set_clear(set);
            return rc;
        }
        set->n++;
        for (size_t j = 0; j < i; j++)
            if (same_id(&set->v[j].id, &set->v[i].id)) {
                rc = yaml_tree_err(yaml_tree_item(section, i), TIDE_EINVAL, e,
                                   "target %s/%s is listed twice", set->v[i].id.kind,
                                   set->v[i].id.name);
                set_clear(set);
                return rc;
            }
    }
    return 0;
}

int targets_config_set_new(const struct yaml_node *section, struct targets_config_set **out)
{
    struct err e = {0};
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    int rc = set_read(section, *out, true, &e);
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

static const struct tc_item *set_find(const struct targets_config_set *set,
                                      const struct target_id *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (same_id(&set->v[i].id, id))
            return &set->v[i];
    return NULL;
}

/* Check an entry with the kind's open on a disabled stand-in, removed again. */
static int check_entry(struct targets *m, const struct yaml_node *item, size_t index,
                       struct err *e)
{
    struct target_spec spec;
    struct label labels[TARGETS_LABELS_MAX];
    char fallback[64], name[TARGETS_NAME_MAX + 32];
    const struct yaml_node *kind_node = NULL;
    int rc = read_entry(item, index, &spec, labels, fallback, sizeof fallback, &kind_node, e);
    if (rc != 0)
        return rc;
    snprintf(name, sizeof name, "\x01reload %.*s", TARGETS_NAME_MAX - 8, spec.name);
    spec.name = name;
    spec.disabled = true;
    rc = targets_add(m, &spec, e);
    if (rc == TIDE_ENOTFOUND && e->line == 0)
        return yaml_tree_err(kind_node, rc, e, "unknown kind \"%s\"", spec.kind);
    if (rc != 0)
        return place(item, rc, e);
    rc = yaml_tree_check_keys(item, e);
    targets_remove(m, spec.kind, spec.name);
    return rc;
}

int targets_config_reload(struct targets *m, struct targets_config_set *cur,
                          const struct yaml_node *section, targets_config_changed_fn *changed,
                          void *ctx, struct targets_config_diff *d, struct err *e)
{
    memset(d, 0, sizeof *d);
    struct targets_config_set next;
    int rc = set_read(section, &next, false, e);
    if (rc != 0)
        return rc;
    /* check every entry before touching anything (before the fingerprints:
     * listing a mapping's pairs marks its keys read) */
    for (size_t i = 0; rc == 0 && i < next.n; i++) {
        const struct tc_item *old = set_find(cur, &next.v[i].id);
        const struct yaml_node *item = yaml_tree_item(section, i);
        struct target_status st;
        if (old == NULL && targets_get(m, next.v[i].id.kind, next.v[i].id.name, &st) == 0)
            rc = yaml_tree_err(item, TIDE_EINVAL, e,
                               "target %s/%s exists already (added through the API?)",
                               next.v[i].id.kind, next.v[i].id.name);
        else
            rc = check_entry(m, item, i, e);
    }
    for (size_t i = 0; rc == 0 && i < next.n; i++)
        rc = print_item(yaml_tree_item(section, i), &next.v[i], e);
    if (rc != 0) {
        set_clear(&next);
        return rc;
    }
    for (size_t i = 0; i < cur->n; i++)
        if (set_find(&next, &cur->v[i].id) == NULL) {
            targets_remove(m, cur->v[i].id.kind, cur->v[i].id.name);
            d->removed++;
        }
    for (size_t i = 0; i < next.n; i++) {
        const struct tc_item *old = set_find(cur, &next.v[i].id);
        if (old && strcmp(old->print, next.v[i].print) == 0) {
            d->kept++;
            continue;
        }
        if (old) {
            targets_remove(m, old->id.kind, old->id.name);
            d->replaced++;
        } else {
            d->added++;
        }
        struct err ae = {0};
        int r = add_one(m, yaml_tree_item(section, i), i, NULL, &ae);
        if (r != 0 && rc == 0) { /* checked above: only a race or memory */
            rc = r;
            *e = ae;
        }
        if (r == 0 && changed)
            changed(ctx, next.v[i].id.kind, next.v[i].id.name);
    }
    set_clear(cur);
    *cur = next;
    return rc;
}
