/* targets_files.c: the `target_files:` section (see targets_files.h): the
 * templates read and checked, the file_sd files re-read by
 * model/file_sd.c, and the diff of what the files list against the
 * targets this component added. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/file_sd.h"
#include "collect/targets.h"
#include "collect/targets_files.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/yaml_tree.h"

#define TF_WATCH_MS 1000 /* how often the globs are looked at */

/* One entry of the section. */
struct tf_template {
    struct target_spec spec; /* kind, module, interval, labels, disabled, config */
    struct label labels[TARGETS_LABELS_MAX];
    struct scrape_file_sd sd;
    uint64_t hash; /* of the entry's canonical text: a changed key changes every target */
};

/* The section as loaded: the tree the templates point into. */
struct tf_set {
    struct yaml_tree *tree;
    struct tf_template *t;
    size_t n;
};

/* A target this component added. */
struct tf_target {
    char kind[32];
    char *name; /* the address */
    char *file; /* the file that listed it */
    uint64_t id; /* template and group labels: a change makes a new target */
};

/* A target the files ask for (pointers into the set, during a pass). */
struct tf_want {
    const struct tf_template *t;
    const struct scrape_group *g;
    const char *addr;
    uint64_t id;
    size_t seq; /* file order: the first of duplicates wins */
    bool have;  /* running already, unchanged */
};

struct targets_files {
    struct targets *m; /* borrowed */
    targets_config_changed_fn *added;
    void *ctx;
    pthread_mutex_t mu;
    struct tf_set set;    /* mu */
    struct tf_target *cur; /* mu; sorted by kind, name */
    size_t ncur;
    struct loop watcher;
    bool watching;
};

/* The first warning of a pass is the one kept. */
#define WARN_ONCE(warn, rc_, ...)                 \
    do {                                          \
        if ((warn)->code == 0)                    \
            ERR_SET((warn), (rc_), __VA_ARGS__);  \
    } while (0)

static void set_free(struct tf_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        scrape_file_sd_fini(&s->t[i].sd);
    free(s->t);
    yaml_tree_free(s->tree);
    memset(s, 0, sizeof *s);
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

/* Read and check entry i (the kind's open on a disabled stand-in). */
static int template_read(struct targets *m, const struct yaml_node *item, size_t i,
                         const char *base_dir, struct tf_template *t, struct err *e)
{
    if (yaml_tree_kind(item) != YAML_TREE_MAP)
        return yaml_tree_err(item, TIDE_EINVAL, e, "expected a mapping (files, kind, ...)");
    const struct yaml_node *fixed = yaml_tree_get(item, "address");
    if (fixed == NULL)
        fixed = yaml_tree_get(item, "name");
    if (fixed != NULL)
        return yaml_tree_err(fixed, TIDE_EINVAL, e,
                             "the files give the addresses (and names) of target_files targets");
    const struct yaml_node *kind_node = NULL;
    if (scrape_file_sd_parse(item, base_dir, &t->sd, e) != 0 ||
        targets_config_read_template(item, &t->spec, t->labels, &kind_node, e) != 0)
        return e->code;
    char name[48];
    snprintf(name, sizeof name, "\x01target_files %zu", i);
    struct target_spec s = t->spec;
    s.name = name;
    s.address = "127.0.0.1";
    s.disabled = true;
    int rc = targets_add(m, &s, e);
    if (rc == TIDE_ENOTFOUND && e->line == 0)
        return yaml_tree_err(kind_node, rc, e, "unknown kind \"%s\"", s.kind);
    if (rc != 0)
        return place(item, rc, e);
    rc = yaml_tree_check_keys(item, e);
    targets_remove(m, s.kind, name);
    if (rc != 0)
        return rc;
    struct buf b;
    buf_init(&b, 0);
    rc = targets_config_print(item, &b);
    t->hash = hash_bytes(b.p ? b.p : "", b.len);
    buf_fini(&b);
    return rc ? ERR_SET(e, -ENOMEM, "out of memory") : 0;
}

static int set_read(struct targets *m, const char *config_path, struct tf_set *s, struct err *e)
{
    memset(s, 0, sizeof *s);
    if (config_path == NULL || config_path[0] == 0)
        return 0;
    int rc = yaml_tree_load(config_path, &s->tree, e);
    if (rc != 0)
        return rc;
    const struct yaml_node *section = yaml_tree_get(yaml_tree_root(s->tree), "target_files");
    if (yaml_tree_is_null(section))
        return 0;
    if (yaml_tree_expect(section, YAML_TREE_SEQ, e) != 0)
        return e->code;
    char dir[4096];
    fs_dir_of(config_path, dir, sizeof dir);
    size_t n = yaml_tree_len(section);
    s->t = calloc(n ? n : 1, sizeof *s->t);
    if (s->t == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        s->n = i + 1;
        rc = template_read(m, yaml_tree_item(section, i), i, dir, &s->t[i], e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- a pass ---- */

static int target_cmp(const void *a, const void *b)
{
    const struct tf_target *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

static int want_cmp(const void *a, const void *b)
{
    const struct tf_want *x = a, *y = b;
    int c = strcmp(x->t->spec.kind, y->t->spec.kind);
    if (c == 0)
        c = strcmp(x->addr, y->addr);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static struct tf_want *want_find(struct tf_want *v, size_t n, const char *kind, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first of equal kind/name: duplicates are dropped already */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].t->spec.kind, kind);
        if (c == 0)
            c = strcmp(v[mid].addr, name);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool is_hidden(struct strv name)
{
    return name.n >= 2 && name.p[0] == '_' && name.p[1] == '_';
}

/* The group's labels over the template's, without "__" names and empty
 * values. -1 when more than TARGETS_LABELS_MAX. */
static int merge_labels(const struct tf_template *t, const struct scrape_group *g,
                        struct label *out)
{
    size_t n = 0;
    for (size_t i = 0; i < g->nlabels; i++) {
        if (is_hidden(g->labels[i].name) || g->labels[i].value.n == 0)
            continue;
        if (n == TARGETS_LABELS_MAX)
            return -1;
        out[n++] = g->labels[i];
    }
    for (size_t i = 0; i < t->spec.nlabels; i++) {
        if (labels_get(out, n, t->spec.labels[i].name).p != NULL)
            continue;
        if (n == TARGETS_LABELS_MAX)
            return -1;
        out[n++] = t->spec.labels[i];
    }
    return (int)n;
}

static uint64_t want_id(const struct tf_template *t, const struct scrape_group *g, const char *addr)
{
    uint64_t id = hash_combine(t->hash, addr, strlen(addr) + 1);
    for (size_t i = 0; i < g->nlabels; i++) {
        id = hash_combine(id, g->labels[i].name.p, g->labels[i].name.n + 1);
        id = hash_combine(id, g->labels[i].value.p, g->labels[i].value.n + 1);
    }
    return id;
}

/* Every address the files list, sorted by kind/name, duplicates dropped. */
static int want_build(struct tf_set *s, struct tf_want **out, size_t *nout, struct err *warn)
{
    size_t total = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t g = 0; g < s->t[i].sd.ngroups; g++)
            total += s->t[i].sd.groups[g].ntargets;
    struct tf_want *v = calloc(total ? total : 1, sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t gi = 0; gi < s->t[i].sd.ngroups; gi++) {
            const struct scrape_group *g = &s->t[i].sd.groups[gi];
            for (size_t a = 0; a < g->ntargets; a++) {
                const char *addr = g->targets[a];
                if (addr[0] == 0 || strlen(addr) > TARGETS_NAME_MAX || strpbrk(addr, "\t\n\r")) {
                    WARN_ONCE(warn, TIDE_EINVAL, "%s: \"%.100s\" cannot be a target name",
                              g->source, addr);
                    continue;
                }
                v[n] = (struct tf_want){&s->t[i], g, addr, want_id(&s->t[i], g, addr), n, false};
                n++;
            }
        }
    qsort(v, n, sizeof *v, want_cmp);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && strcmp(v[w - 1].t->spec.kind, v[i].t->spec.kind) == 0 &&
            strcmp(v[w - 1].addr, v[i].addr) == 0) {
            WARN_ONCE(warn, TIDE_EINVAL, "%s: %s is listed again (the first one is kept)",
                      v[i].g->source, v[i].addr);
            continue;
        }
        v[w++] = v[i];
    }
    *out = v;
    *nout = w;
    return 0;
}

static void target_fini(struct tf_target *t)
{
    free(t->name);
    free(t->file);
}

/* Add one wanted target; on success appended to tf->cur (room made by the
 * caller). */
static void add_want(struct targets_files *tf, const struct tf_want *w, struct err *warn)
{
    struct label labels[TARGETS_LABELS_MAX];
    int nl = merge_labels(w->t, w->g, labels);
    if (nl < 0) {
        WARN_ONCE(warn, TIDE_EINVAL, "%s: %s: more than %d target labels", w->g->source,
                  w->addr, TARGETS_LABELS_MAX);
        return;
    }
    struct target_spec spec = w->t->spec;
    spec.name = w->addr;
    spec.address = w->addr;
    spec.labels = labels;
    spec.nlabels = (size_t)nl;
    struct err ae = {0};
    int rc = targets_add(tf->m, &spec, &ae);
    if (rc != 0) {
        char who[TARGETS_NAME_MAX + 40];
        snprintf(who, sizeof who, "%s/%s", spec.kind, spec.name);
        WARN_ONCE(warn, rc, "%s: %s: %s", w->g->source, who,
                  ae.msg[0] ? ae.msg : tide_strerror(rc));
        return;
    }
    struct strv fp = labels_get(w->g->labels, w->g->nlabels, STRV_LIT("__meta_filepath"));
    struct tf_target *t = &tf->cur[tf->ncur];
    memset(t, 0, sizeof *t);
    snprintf(t->kind, sizeof t->kind, "%s", spec.kind);
    t->name = strdup(spec.name);
    t->file = strndup(fp.p ? fp.p : "", fp.n);
    t->id = w->id;
    if (t->name == NULL || t->file == NULL) { /* forget it rather than keep it unnamed */
        targets_remove(tf->m, spec.kind, spec.name);
        target_fini(t);
        return;
    }
    tf->ncur++;
    if (tf->added)
        tf->added(tf->ctx, spec.kind, spec.name);
}

/* Under mu. */
static int sync_locked(struct targets_files *tf, bool force, struct targets_files_diff *d,
                       struct err *warn)
{
    bool changed = force;
    for (size_t i = 0; i < tf->set.n; i++) {
        struct err fe = {0};
        changed |= scrape_file_sd_refresh(&tf->set.t[i].sd, force, &fe);
        if (fe.code != 0 && warn->code == 0)
            *warn = fe;
    }
    if (!changed)
        return 0;
    struct tf_want *v = NULL;
    size_t n = 0;
    if (want_build(&tf->set, &v, &n, warn) != 0)
        return -ENOMEM;
    struct tf_target *cur = realloc(tf->cur, (tf->ncur + n + 1) * sizeof *cur);
    if (cur == NULL) {
        free(v);
        return -ENOMEM;
    }
    tf->cur = cur;
    /* Remove what is gone or changed; keep the rest as it runs. */
    size_t keep = 0;
    for (size_t c = 0; c < tf->ncur; c++) {
        struct tf_want *w = want_find(v, n, cur[c].kind, cur[c].name);
        if (w != NULL && w->id == cur[c].id) {
            w->have = true;
            cur[keep++] = cur[c];
            continue;
        }
        targets_remove(tf->m, cur[c].kind, cur[c].name);
        target_fini(&cur[c]);
        d->removed++;
    }
    tf->ncur = keep;
    d->kept += keep;
    for (size_t i = 0; i < n; i++) {
        if (v[i].have)
            continue;
        size_t before = tf->ncur;
        add_want(tf, &v[i], warn);
        d->added += tf->ncur - before;
    }
    free(v);
    qsort(tf->cur, tf->ncur, sizeof *tf->cur, target_cmp);
    return 0;
}

int targets_files_sync(struct targets_files *tf, bool force, struct targets_files_diff *d,
                       struct err *warn)
{
    memset(d, 0, sizeof *d);
    pthread_mutex_lock(&tf->mu);
    int rc = sync_locked(tf, force, d, warn);
    pthread_mutex_unlock(&tf->mu);
    return rc;
}

static bool same_patterns(const struct scrape_file_sd *a, const struct scrape_file_sd *b)
{
    if (a->npatterns != b->npatterns)
        return false;
    for (size_t i = 0; i < a->npatterns; i++)
        if (strcmp(a->patterns[i], b->patterns[i]) != 0)
            return false;
    return true;
}

/* A template whose files are the same globs as an old one's starts with
 * the old one's groups: a file that does not parse at the reload then keeps
 * its targets there too. */
static void inherit_groups(struct tf_set *next, struct tf_set *old)
{
    for (size_t i = 0; i < next->n; i++)
        for (size_t j = 0; j < old->n; j++) {
            struct scrape_file_sd *o = &old->t[j].sd;
            if (o->groups == NULL || !same_patterns(&next->t[i].sd, o))
                continue;
            next->t[i].sd.groups = o->groups;
            next->t[i].sd.ngroups = o->ngroups;
            o->groups = NULL;
            o->ngroups = 0;
            break;
        }
}

int targets_files_load(struct targets_files *tf, const char *config_path,
                       struct targets_files_diff *d, struct err *warn, struct err *e)
{
    memset(d, 0, sizeof *d);
    struct tf_set next;
    int rc = set_read(tf->m, config_path, &next, e);
    if (rc != 0) {
        set_free(&next);
        return rc;
    }
    pthread_mutex_lock(&tf->mu);
    struct tf_set old = tf->set;
    inherit_groups(&next, &old);
    tf->set = next;
    rc = sync_locked(tf, true, d, warn);
    pthread_mutex_unlock(&tf->mu);
    set_free(&old); /* the kinds copied what they keep of their entries */
    return rc ? ERR_SET(e, rc, "out of memory") : 0;
}

/* ---- the component ---- */

static void watch(void *ctx, struct loop *l)
{
    (void)l;
    struct targets_files *tf = ctx;
    struct targets_files_diff d;
    struct err w = {0};
    if (targets_files_sync(tf, false, &d, &w) != 0)
        log_warn("collect", "target_files: out of memory");
    if (w.code != 0)
        log_warn("collect", "target_files: %s", w.msg);
    if (d.added || d.removed)
        log_info("collect", "target_files: %zu added, %zu removed, %zu kept", d.added, d.removed,
                 d.kept);
}

int targets_files_new(struct targets *m, targets_config_changed_fn *added, void *ctx,
                      struct targets_files **out)
{
    *out = calloc(1, sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    (*out)->m = m;
    (*out)->added = added;
    (*out)->ctx = ctx;
    pthread_mutex_init(&(*out)->mu, NULL);
    return 0;
}

int targets_files_watch(struct targets_files *tf, struct err *e)
{
    int rc = loop_start(&tf->watcher, "target-files", watch, tf, TF_WATCH_MS, e);
    tf->watching = rc == 0;
    return rc;
}

bool targets_files_source(struct targets_files *tf, const char *kind, const char *name, char *file,
                          size_t cap)
{
    if (tf == NULL)
        return false;
    struct tf_target key = {.name = (char *)name};
    snprintf(key.kind, sizeof key.kind, "%s", kind);
    pthread_mutex_lock(&tf->mu);
    const struct tf_target *t = bsearch(&key, tf->cur, tf->ncur, sizeof key, target_cmp);
    if (t && file && cap)
        snprintf(file, cap, "%s", t->file);
    pthread_mutex_unlock(&tf->mu);
    return t != NULL;
}

void targets_files_stop(struct targets_files *tf)
{
    if (tf == NULL || !tf->watching)
        return;
    loop_stop(&tf->watcher);
    tf->watching = false;
}

void targets_files_free(struct targets_files *tf)
{
    if (tf == NULL)
        return;
    targets_files_stop(tf);
    for (size_t i = 0; i < tf->ncur; i++)
        target_fini(&tf->cur[i]);
    free(tf->cur);
    set_free(&tf->set);
    pthread_mutex_destroy(&tf->mu);
    free(tf);
}
