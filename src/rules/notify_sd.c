/* notify_sd.c: Alertmanagers from file_sd_configs and static_configs
 * through relabel_configs (notify_sd.h).
 */
#include "rules/notify_sd.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void notify_sd_fini(struct notify_sd *sd)
{
    for (size_t i = 0; i < sd->npatterns; i++)
        free(sd->patterns[i]);
    free(sd->patterns);
    scrape_groups_free(sd->statics, sd->nstatics);
    relabel_config_fini(&sd->relabel);
    memset(sd, 0, sizeof *sd);
}

void notify_sd_result_fini(struct notify_sd_result *r)
{
    free(r->active);
    free(r->dropped);
    memset(r, 0, sizeof *r);
}

/* FNV-1a over more bytes. */
static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

uint64_t notify_sd_fingerprint(const struct notify_sd *sd)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < sd->npatterns; i++) {
        glob_t g;
        if (glob(sd->patterns[i], 0, NULL, &g) != 0)
            continue;
        for (size_t k = 0; k < g.gl_pathc; k++) {
            struct stat st;
            h = mix(h, g.gl_pathv[k], strlen(g.gl_pathv[k]) + 1);
            if (stat(g.gl_pathv[k], &st) == 0) {
                h = mix(h, &st.st_size, sizeof st.st_size);
                h = mix(h, &st.st_mtim, sizeof st.st_mtim);
                h = mix(h, &st.st_ino, sizeof st.st_ino);
            }
        }
        globfree(&g);
    }
    return h;
}

/* Append url to v (n of cap NOTIFY_TARGETS_MAX) unless already there. */
static int add_url(char (**v)[1024], size_t *n, const char *url)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], url) == 0)
            return 0;
    if (*n == NOTIFY_TARGETS_MAX)
        return TIDE_ELIMIT;
    if (*v == NULL && (*v = calloc(NOTIFY_TARGETS_MAX, sizeof **v)) == NULL)
        return -ENOMEM;
    snprintf((*v)[(*n)++], sizeof **v, "%s", url);
    return 0;
}

static void url_of(const struct relabel_set *s, char *out, size_t cap)
{
    struct strv sc = relabel_set_get(s, strv_c("__scheme__"));
    struct strv ad = relabel_set_get(s, strv_c("__address__"));
    struct strv pa = relabel_set_get(s, strv_c("__alerts_path__"));
    snprintf(out, cap, "%.*s://%.*s%s%.*s", (int)sc.n, sc.p ? sc.p : "", (int)ad.n,
             ad.p ? ad.p : "", pa.n && pa.p[0] == '/' ? "" : "/", (int)pa.n, pa.p ? pa.p : "");
}

/* Every address of groups g[0..n) into out. */
static int resolve_groups(const struct notify_sd *sd, const struct scrape_group *g, size_t n,
                          struct relabel_set *s, struct notify_sd_result *out, struct err *e)
{
    char before[1024], url[1024];
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < g[i].ntargets; t++) {
            relabel_set_reset(s);
            int rc = relabel_set_put(s, strv_c("__address__"), strv_c(g[i].targets[t]));
            rc |= relabel_set_put(s, strv_c("__scheme__"), strv_c(sd->scheme));
            rc |= relabel_set_put(s, strv_c("__alerts_path__"), strv_c(sd->alerts_path));
            for (size_t k = 0; k < g[i].nlabels; k++)
                rc |= relabel_set_put(s, g[i].labels[k].name, g[i].labels[k].value);
            if (rc != 0)
                return ERR_SET(e, -ENOMEM, "out of memory");
            url_of(s, before, sizeof before);
            bool keep = true;
            if (sd->relabel.n > 0 && (rc = relabel_apply(&sd->relabel, s, &keep)) != 0)
                return ERR_SET(e, rc, "%s: relabel_configs: %s", g[i].source, tide_strerror(rc));
            struct strv ad = relabel_set_get(s, strv_c("__address__"));
            if (!keep || ad.n == 0) {
                rc = add_url(&out->dropped, &out->ndropped, before);
            } else {
                url_of(s, url, sizeof url);
                rc = add_url(&out->active, &out->nactive, url);
            }
            if (rc == TIDE_ELIMIT)
                return ERR_SET(e, rc, "%s: more than %d alertmanagers", g[i].source,
                               NOTIFY_TARGETS_MAX);
            if (rc != 0)
                return ERR_SET(e, rc, "out of memory");
        }
    return 0;
}

int notify_sd_resolve(const struct notify_sd *sd, struct notify_sd_result *out, struct err *e)
{
    memset(out, 0, sizeof *out);
    struct relabel_set s;
    relabel_set_init(&s);
    int rc = resolve_groups(sd, sd->statics, sd->nstatics, &s, out, e);
    for (size_t i = 0; rc == 0 && i < sd->npatterns; i++) {
        glob_t g;
        int gr = glob(sd->patterns[i], 0, NULL, &g);
        if (gr == GLOB_NOMATCH)
            continue;
        if (gr != 0) {
            rc = ERR_SET(e, -EIO, "%s: cannot expand", sd->patterns[i]);
            break;
        }
        for (size_t k = 0; rc == 0 && k < g.gl_pathc; k++) {
            struct scrape_group *groups = NULL;
            size_t ng = 0;
            struct err fe = {0};
            rc = scrape_file_sd_read(g.gl_pathv[k], &groups, &ng, &fe);
            if (rc != 0)
                ERR_SET(e, rc, "%s:%d:%d: %s", g.gl_pathv[k], fe.line, fe.col, fe.msg);
            else
                rc = resolve_groups(sd, groups, ng, &s, out, e);
            scrape_groups_free(groups, ng);
        }
        globfree(&g);
    }
    relabel_set_fini(&s);
    if (rc != 0)
        notify_sd_result_fini(out);
    return rc;
}
