/* file_sd.c: target groups and Prometheus' file-based discovery (see
 * file_sd.h): the groups' reader, the `files:` settings and the re-read of
 * the files when what the globs match changes. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/file_sd.h"
#include "core/hash.h"
#include "core/time.h"
#include "core/yaml_tree.h"

char *scrape_path_resolve(const char *base_dir, const char *path)
{
    if (path[0] == '/' || base_dir == NULL || base_dir[0] == 0)
        return strdup(path);
    size_t n = strlen(base_dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", base_dir, path);
    return out;
}

/* ---- target groups ---- */

void scrape_groups_free(struct scrape_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < g[i].ntargets; j++)
            free(g[i].targets[j]);
        free(g[i].targets);
        for (size_t j = 0; j < g[i].nlabels; j++) {
            free((char *)g[i].labels[j].name.p);
            free((char *)g[i].labels[j].value.p);
        }
        free(g[i].labels);
        free(g[i].source);
    }
    free(g);
}

static int add_label(struct scrape_group *g, const char *name, const char *value)
{
    struct label *v = realloc(g->labels, (g->nlabels + 1) * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    g->labels = v;
    char *n = strdup(name), *val = strdup(value);
    if (n == NULL || val == NULL) {
        free(n);
        free(val);
        return -ENOMEM;
    }
    v[g->nlabels++] = (struct label){strv_c(n), strv_c(val)};
    return 0;
}

/* Label name = value in g, replacing the value of one of that name already
 * there (as Prometheus' file SD sets __meta_filepath over a group's own). */
static int set_label(struct scrape_group *g, const char *name, const char *value)
{
    for (size_t i = 0; i < g->nlabels; i++) {
        if (!strv_eq_c(g->labels[i].name, name))
            continue;
        char *val = strdup(value);
        if (val == NULL)
            return -ENOMEM;
        free((char *)g->labels[i].value.p);
        g->labels[i].value = strv_c(val);
        return 0;
    }
    return add_label(g, name, value);
}

/* One {targets: [...], labels: {...}} mapping into g (zeroed). */
static int parse_group(const struct yaml_node *m, const char *source, struct scrape_group *g,
                       struct err *e)
{
    memset(g, 0, sizeof *g);
    g->source = strdup(source);
    if (g->source == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    if (yaml_tree_kind(m) != YAML_TREE_MAP)
        return yaml_tree_err(m, TIDE_EINVAL, e, "expected a mapping (targets, labels)");
    const char *const *t = NULL;
    size_t nt = 0;
    if (yaml_tree_get_strings(m, "targets", &t, &nt, e) != 0)
        return e->code;
    g->targets = calloc(nt ? nt : 1, sizeof *g->targets);
    if (g->targets == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    const struct yaml_node *tl = yaml_tree_get(m, "targets");
    for (size_t i = 0; i < nt; i++) {
        if (strchr(t[i], '/'))
            return yaml_tree_err(yaml_tree_item(tl, i), TIDE_EINVAL, e,
                                 "\"%s\" is not a valid hostname", t[i]);
        g->targets[i] = strdup(t[i]);
        if (g->targets[i] == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        g->ntargets = i + 1;
    }
    const struct yaml_node *l = yaml_tree_get(m, "labels");
    if (yaml_tree_expect(l, YAML_TREE_MAP, e) != 0)
        return e->code;
    for (size_t i = 0; i < yaml_tree_len(l); i++) {
        const struct yaml_node *v = NULL;
        const struct yaml_node *k = yaml_tree_pair(l, i, &v);
        const char *name = yaml_tree_text(k), *value = NULL;
        if (!labels_valid_label_name(strv_c(name)))
            return yaml_tree_err(k, TIDE_EINVAL, e, "\"%s\" is not a valid label name", name);
        if (yaml_tree_kind(v) != YAML_TREE_SCALAR || yaml_tree_str(v, &value, e) != 0)
            return yaml_tree_err(v ? v : k, TIDE_EINVAL, e, "label %s: expected a string", name);
        if (add_label(g, name, value) != 0)
            return ERR_SET(e, -ENOMEM, "out of memory");
    }
    return yaml_tree_check_keys(m, e) != 0 ? e->code : 0;
}

int scrape_groups_parse(const struct yaml_node *list, const char *file,
                        struct scrape_group **out, size_t *n, struct err *e)
{
    *out = NULL;
    *n = 0;
    if (yaml_tree_is_null(list))
        return 0;
    if (yaml_tree_expect(list, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t len = yaml_tree_len(list);
    struct scrape_group *g = calloc(len ? len : 1, sizeof *g);
    if (g == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        const struct yaml_node *item = yaml_tree_item(list, i);
        char source[300];
        snprintf(source, sizeof source, "%s:%d", file ? file : "static_configs",
                 yaml_tree_line(item));
        int rc = parse_group(item, source, &g[i], e);
        if (rc == 0 && file != NULL && set_label(&g[i], "__meta_filepath", file) != 0)
            rc = ERR_SET(e, -ENOMEM, "out of memory");
        if (rc != 0) {
            scrape_groups_free(g, i + 1);
            return rc;
        }
    }
    *out = g;
    *n = len;
    return 0;
}

int scrape_file_sd_read(const char *path, struct scrape_group **groups, size_t *n, struct err *e)
{
    struct yaml_tree *t = NULL;
    *groups = NULL;
    *n = 0;
    int rc = yaml_tree_load(path, &t, e);
    if (rc != 0)
        return rc;
    rc = scrape_groups_parse(yaml_tree_root(t), path, groups, n, e);
    yaml_tree_free(t);
    return rc;
}

/* ---- file_sd: files: and refresh_interval:, the re-read ---- */

static bool has_sd_suffix(const char *p)
{
    size_t n = strlen(p);
    return (n >= 5 && strcmp(p + n - 5, ".json") == 0) ||
           (n >= 4 && strcmp(p + n - 4, ".yml") == 0) ||
           (n >= 5 && strcmp(p + n - 5, ".yaml") == 0);
}

int scrape_file_sd_parse(const struct yaml_node *f, const char *base_dir,
                         struct scrape_file_sd *sd, struct err *e)
{
    memset(sd, 0, sizeof *sd);
    sd->refresh_ms = SCRAPE_FILE_SD_REFRESH_MS;
    const char *const *files = NULL;
    size_t nf = 0;
    if (yaml_tree_expect(f, YAML_TREE_MAP, e) != 0 ||
        yaml_tree_get_strings(f, "files", &files, &nf, e) != 0 ||
        yaml_tree_get_duration(f, "refresh_interval", &sd->refresh_ms, e) != 0)
        return e->code;
    if (nf == 0)
        return yaml_tree_err(f, TIDE_EINVAL, e, "file service discovery config must contain "
                                                "at least one path name");
    if (sd->refresh_ms < 1000)
        sd->refresh_ms = 1000;
    sd->patterns = calloc(nf, sizeof *sd->patterns);
    if (sd->patterns == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    const struct yaml_node *fl = yaml_tree_get(f, "files");
    for (size_t k = 0; k < nf; k++) {
        const char *slash = strrchr(files[k], '/');
        const char *dir_part_end = slash ? slash : files[k];
        if (!has_sd_suffix(files[k]))
            return yaml_tree_err(yaml_tree_item(fl, k), TIDE_EINVAL, e,
                                 "path name \"%s\" is not valid for file discovery (only "
                                 "json, yml, or yaml files)",
                                 files[k]);
        if (memchr(files[k], '*', (size_t)(dir_part_end - files[k])) ||
            memchr(files[k], '?', (size_t)(dir_part_end - files[k])) ||
            memchr(files[k], '[', (size_t)(dir_part_end - files[k])))
            return yaml_tree_err(yaml_tree_item(fl, k), TIDE_EINVAL, e,
                                 "path name \"%s\" is not valid for file discovery (only the "
                                 "last element may be a pattern)",
                                 files[k]);
        sd->patterns[k] = scrape_path_resolve(base_dir, files[k]);
        if (sd->patterns[k] == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        sd->npatterns = k + 1;
    }
    return 0;
}

void scrape_file_sd_fini(struct scrape_file_sd *sd)
{
    for (size_t k = 0; k < sd->npatterns; k++)
        free(sd->patterns[k]);
    free(sd->patterns);
    scrape_groups_free(sd->groups, sd->ngroups);
    memset(sd, 0, sizeof *sd);
}

bool scrape_file_sd_refresh(struct scrape_file_sd *sd, bool force, struct err *e)
{
    uint64_t fp = 0x9e3779b97f4a7c15ull;
    glob_t gl[8];
    size_t ngl = 0;
    for (size_t i = 0; i < sd->npatterns && ngl < 8; i++) {
        memset(&gl[ngl], 0, sizeof gl[ngl]);
        if (glob(sd->patterns[i], 0, NULL, &gl[ngl]) != 0) {
            globfree(&gl[ngl]);
            continue;
        }
        for (size_t k = 0; k < gl[ngl].gl_pathc; k++) {
            struct stat st;
            const char *p = gl[ngl].gl_pathv[k];
            fp = hash_combine(fp, p, strlen(p));
            if (stat(p, &st) == 0) {
                int64_t parts[4] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                                    (int64_t)st.st_mtim.tv_nsec, (int64_t)st.st_ino};
                fp = hash_combine(fp, parts, sizeof parts);
            }
        }
        ngl++;
    }
    int64_t now = time_mono_ns() / 1000000;
    bool due = force || fp != sd->fingerprint || now - sd->last_read_ms >= sd->refresh_ms;
    if (!due) {
        for (size_t i = 0; i < ngl; i++)
            globfree(&gl[i]);
        return false;
    }
    sd->fingerprint = fp;
    sd->last_read_ms = now;
    /* Read every matched file; a file that fails keeps its old groups. */
    struct scrape_group *all = NULL;
    size_t nall = 0;
    for (size_t i = 0; i < ngl; i++)
        for (size_t k = 0; k < gl[i].gl_pathc; k++) {
            const char *path = gl[i].gl_pathv[k];
            struct scrape_group *g = NULL;
            size_t ng = 0;
            struct err fe = {0};
            int rc = scrape_file_sd_read(path, &g, &ng, &fe);
            if (rc != 0) {
                if (e->code == 0)
                    err_set_at(e, rc, fe.where, fe.line, fe.col, "%s:%d:%d: %s", path, fe.line,
                               fe.col, fe.msg);
                /* Keep the previous groups of this file. */
                size_t plen = strlen(path);
                for (size_t x = 0; x < sd->ngroups; x++) {
                    const char *src = sd->groups[x].source;
                    if (strncmp(src, path, plen) != 0 || src[plen] != ':')
                        continue;
                    struct scrape_group *na = realloc(all, (nall + 1) * sizeof *na);
                    if (na == NULL)
                        break;
                    all = na;
                    all[nall++] = sd->groups[x];
                    memset(&sd->groups[x], 0, sizeof sd->groups[x]);
                }
                continue;
            }
            struct scrape_group *na = realloc(all, (nall + ng + 1) * sizeof *na);
            if (na == NULL) {
                scrape_groups_free(g, ng);
                continue;
            }
            all = na;
            memcpy(all + nall, g, ng * sizeof *g);
            nall += ng;
            free(g);
        }
    for (size_t i = 0; i < ngl; i++)
        globfree(&gl[i]);
    scrape_groups_free(sd->groups, sd->ngroups);
    sd->groups = all;
    sd->ngroups = nall;
    return true;
}
