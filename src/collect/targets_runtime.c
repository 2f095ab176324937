/* targets_runtime.c: the API's targets and enabled states, persisted in
 * DATA/targets.json (see targets_runtime.h). */
#include "collect/targets_runtime.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/targets.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/yaml_tree.h"

struct rt_entry {
    struct target_id id;
    char *text; /* the entry as the client sent it */
};

struct rt_state {
    struct target_id id;
    bool enabled;
};

struct targets_rt {
    struct targets *m; /* borrowed */
    char *path;
    pthread_mutex_t mu;
    struct rt_entry *entries;
    size_t nentries, capentries;
    struct rt_state *states;
    size_t nstates, capstates;
};

static bool same(const struct target_id *id, const char *kind, const char *name)
{
    return strcmp(id->kind, kind) == 0 && strcmp(id->name, name) == 0;
}

static struct rt_entry *find_entry(struct targets_rt *rt, const char *kind, const char *name)
{
    for (size_t i = 0; i < rt->nentries; i++)
        if (same(&rt->entries[i].id, kind, name))
            return &rt->entries[i];
    return NULL;
}

static struct rt_state *find_state(struct targets_rt *rt, const char *kind, const char *name)
{
    for (size_t i = 0; i < rt->nstates; i++)
        if (same(&rt->states[i].id, kind, name))
            return &rt->states[i];
    return NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*v, nc * size);
    if (p == NULL)
        return -ENOMEM;
    *v = p;
    *cap = nc;
    return 0;
}

static int push_entry(struct targets_rt *rt, const struct target_id *id, const char *text,
                      size_t n)
{
    if (grow((void **)&rt->entries, &rt->capentries, rt->nentries, sizeof rt->entries[0]) != 0)
        return -ENOMEM;
    char *t = strndup(text, n);
    if (t == NULL)
        return -ENOMEM;
    rt->entries[rt->nentries++] = (struct rt_entry){*id, t};
    return 0;
}

static void drop_entry(struct targets_rt *rt, struct rt_entry *x)
{
    free(x->text);
    size_t i = (size_t)(x - rt->entries);
    memmove(x, x + 1, (rt->nentries - i - 1) * sizeof *x);
    rt->nentries--;
}

static void drop_state(struct targets_rt *rt, struct rt_state *x)
{
    size_t i = (size_t)(x - rt->states);
    memmove(x, x + 1, (rt->nstates - i - 1) * sizeof *x);
    rt->nstates--;
}

static int put_state(struct targets_rt *rt, const char *kind, const char *name, bool enabled)
{
    struct rt_state *x = find_state(rt, kind, name);
    if (x == NULL) {
        if (grow((void **)&rt->states, &rt->capstates, rt->nstates, sizeof rt->states[0]) != 0)
            return -ENOMEM;
        x = &rt->states[rt->nstates++];
        snprintf(x->id.kind, sizeof x->id.kind, "%s", kind);
        snprintf(x->id.name, sizeof x->id.name, "%s", name);
    }
    x->enabled = enabled;
    return 0;
}

static int json_str(struct buf *b, const char *s)
{
    int rc = buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; rc == 0 && *p; p++) {
        if (*p == '"' || *p == '\\')
            rc = buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            rc = buf_printf(b, "\\u%04x", *p);
        else
            rc = buf_putc(b, (char)*p);
    }
    return rc ? rc : buf_putc(b, '"');
}

/* Write the file atomically, mode 0600. */
static int persist(struct targets_rt *rt, struct err *e)
{
    struct buf b;
    buf_init(&b, 0);
    int rc = buf_puts(&b, "{\"targets\":[");
    for (size_t i = 0; rc == 0 && i < rt->nentries; i++) {
        if (i > 0)
            rc = buf_puts(&b, ",\n ");
        if (rc == 0)
            rc = json_str(&b, rt->entries[i].text);
    }
    if (rc == 0)
        rc = buf_puts(&b, "],\n\"state\":[");
    for (size_t i = 0; rc == 0 && i < rt->nstates; i++) {
        const struct rt_state *s = &rt->states[i];
        rc = buf_puts(&b, i > 0 ? ",\n {\"kind\":" : "{\"kind\":");
        if (rc == 0)
            rc = json_str(&b, s->id.kind);
        if (rc == 0)
            rc = buf_puts(&b, ",\"name\":");
        if (rc == 0)
            rc = json_str(&b, s->id.name);
        if (rc == 0)
            rc = buf_printf(&b, ",\"enabled\":%s}", s->enabled ? "true" : "false");
    }
    if (rc == 0)
        rc = buf_puts(&b, "]}\n");
    if (rc != 0) {
        buf_fini(&b);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    rc = fs_write_file_atomic_mode(rt->path, b.p, b.len, 0600); /* it may hold secrets */
    if (rc != 0)
        ERR_SET(e, rc, "writing %s: %s", rt->path, strerror(-rc));
    buf_fini(&b);
    return rc;
}

/* Parse and add one entry's text; *id is set once its common keys are read. */
static int add_text(struct targets *m, const char *text, size_t n, const char *file,
                    struct target_id *id, struct err *e)
{
    struct yaml_tree *tree = NULL;
    memset(id, 0, sizeof *id);
    int rc = yaml_tree_parse(text, n, file, &tree, e);
    if (rc == 0)
        rc = targets_config_add_entry(m, yaml_tree_root(tree), id, e);
    yaml_tree_free(tree);
    return rc;
}

static int load(struct targets_rt *rt, struct err *warn, struct err *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = fs_read_file(rt->path, &text, &len);
    if (rc == -ENOENT)
        return 0;
    if (rc != 0)
        return ERR_SET(e, rc, "reading %s: %s", rt->path, strerror(-rc));
    struct yaml_tree *tree = NULL;
    rc = yaml_tree_parse(text, len, rt->path, &tree, e);
    free(text);
    if (rc != 0)
        return rc;
    const struct yaml_node *root = yaml_tree_root(tree);
    const struct yaml_node *list = yaml_tree_get(root, "targets");
    const struct yaml_node *states = yaml_tree_get(root, "state");
    if (yaml_tree_expect(root, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_expect(list, YAML_TREE_SEQ, e) != 0 ||
        yaml_tree_expect(states, YAML_TREE_SEQ, e) != 0) {
        yaml_tree_free(tree);
        return TIDE_EPARSE;
    }
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(list); i++) {
        const char *entry = NULL;
        rc = yaml_tree_str(yaml_tree_item(list, i), &entry, e);
        if (rc != 0)
            break;
        char where[64];
        snprintf(where, sizeof where, "targets.json entry %zu", i + 1);
        struct target_id id;
        struct err ae = {0};
        int r = add_text(rt->m, entry, strlen(entry), where, &id, &ae);
        if (r != 0 && warn->code == 0) {
            if (ae.line > 0)
                err_set_at(warn, r, ae.where, ae.line, ae.col, "%s:%d:%d: %s", where, ae.line,
                           ae.col, ae.msg);
            else
                err_set_at(warn, r, ae.where, 0, 0, "%s: %s", where, ae.msg);
        }
        if (id.kind[0] == 0) /* unreadable: keep it under a name of its own */
            snprintf(id.name, sizeof id.name, "?%zu", i + 1);
        rc = push_entry(rt, &id, entry, strlen(entry));
    }
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(states); i++) {
        const struct yaml_node *s = yaml_tree_item(states, i);
        const char *kind = NULL, *name = NULL;
        bool enabled = true;
        rc = yaml_tree_require_str(s, "kind", &kind, e);
        if (rc == 0)
            rc = yaml_tree_require_str(s, "name", &name, e);
        if (rc == 0)
            rc = yaml_tree_get_bool(s, "enabled", &enabled, e);
        if (rc == 0)
            rc = put_state(rt, kind, name, enabled);
        if (rc == 0) /* a target gone from the config keeps its state for later */
            targets_set_enabled(rt->m, kind, name, enabled);
    }
    yaml_tree_free(tree);
    if (rc == -ENOMEM)
        return ERR_SET(e, rc, "out of memory");
    return rc;
}

int targets_rt_open(struct targets *m, const char *path, struct targets_rt **out,
                    struct err *warn, struct err *e)
{
    *out = NULL;
    err_clear(warn);
    struct targets_rt *rt = calloc(1, sizeof *rt);
    if (rt == NULL || (rt->path = strdup(path)) == NULL) {
        free(rt);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    rt->m = m;
    pthread_mutex_init(&rt->mu, NULL);
    int rc = load(rt, warn, e);
    if (rc != 0) {
        targets_rt_free(rt);
        return rc;
    }
    *out = rt;
    return 0;
}

void targets_rt_free(struct targets_rt *rt)
{
    if (rt == NULL)
        return;
    for (size_t i = 0; i < rt->nentries; i++)
        free(rt->entries[i].text);
    free(rt->entries);
    free(rt->states);
    free(rt->path);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

int targets_rt_add(struct targets_rt *rt, const char *text, size_t n, const char *file,
                   struct target_id *id, struct err *e)
{
    pthread_mutex_lock(&rt->mu);
    int rc = add_text(rt->m, text, n, file, id, e);
    if (rc == 0) {
        /* a state left by an earlier target of that name is stale now */
        struct rt_state *s = find_state(rt, id->kind, id->name);
        if (s)
            drop_state(rt, s);
        rc = push_entry(rt, id, text, n);
        if (rc != 0)
            ERR_SET(e, rc, "out of memory");
        else if ((rc = persist(rt, e)) != 0)
            drop_entry(rt, &rt->entries[rt->nentries - 1]);
        if (rc != 0)
            targets_remove(rt->m, id->kind, id->name);
    }
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

int targets_rt_remove(struct targets_rt *rt, const char *kind, const char *name, struct err *e)
{
    pthread_mutex_lock(&rt->mu);
    struct target_status st;
    int rc = 0;
    struct rt_entry *x = find_entry(rt, kind, name);
    if (targets_get(rt->m, kind, name, &st) != 0 && x == NULL) {
        rc = ERR_SET(e, TIDE_ENOTFOUND, "no target %s/%s", kind, name);
    } else if (x == NULL) {
        rc = ERR_SET(e, -EPERM,
                     "target %s/%s was not added through the API: disable it, or remove it "
                     "from where it is configured",
                     kind, name);
    } else {
        targets_remove(rt->m, kind, name);
        drop_entry(rt, x);
        struct rt_state *s = find_state(rt, kind, name);
        if (s)
            drop_state(rt, s);
        rc = persist(rt, e);
    }
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

int targets_rt_set_enabled(struct targets_rt *rt, const char *kind, const char *name,
                           bool enabled, struct err *e)
{
    pthread_mutex_lock(&rt->mu);
    int rc = targets_set_enabled(rt->m, kind, name, enabled);
    if (rc == TIDE_ENOTFOUND)
        ERR_SET(e, rc, "no target %s/%s", kind, name);
    else if (rc != 0)
        ERR_SET(e, rc, "%s", tide_strerror(rc));
    if (rc == 0 && (rc = put_state(rt, kind, name, enabled)) != 0)
        ERR_SET(e, rc, "out of memory");
    if (rc == 0)
        rc = persist(rt, e);
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

bool targets_rt_owns(struct targets_rt *rt, const char *kind, const char *name)
{
    pthread_mutex_lock(&rt->mu);
    bool owns = find_entry(rt, kind, name) != NULL;
    pthread_mutex_unlock(&rt->mu);
    return owns;
}

int targets_rt_state(struct targets_rt *rt, const char *kind, const char *name)
{
    pthread_mutex_lock(&rt->mu);
    struct rt_state *s = find_state(rt, kind, name);
    int v = s ? s->enabled : -1;
    pthread_mutex_unlock(&rt->mu);
    return v;
}
