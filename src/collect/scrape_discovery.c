/* scrape_discovery.c: from target groups (static_configs, file_sd_configs)
 * to targets of kind "scrape" in the manager, the way Prometheus 2.42's
 * scrape.PopulateLabels does it, and the file_sd watcher that re-reads the
 * files when they change (checked every second: names, sizes, mtimes and
 * inodes of what the globs match) or when refresh_interval passes.
 *
 * Each job keeps the targets it has in the manager (name and identity: a
 * hash of the URL and the target labels). A discovery pass resolves every
 * group again and diffs: targets gone or changed are removed (the manager
 * writes their stale markers), new ones added. A file that does not parse
 * keeps its previous groups, as Prometheus' file SD does.
 * Thread: scrape_new/stop/free on the owner's thread; the watcher on its
 * loop thread; `mu` serialises discovery passes.
 */
#include <errno.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect/scrape.h"
#include "collect/targets.h"
#include "core/buf.h"
#include "core/hash.h"
#include "core/loop.h"
#include "core/time.h"

struct scrape {
    struct targets *m;         /* borrowed */
    struct scrape_job *jobs;   /* owned */
    size_t njobs;
    void *kind;                /* scrape_target.c's kind context, owned */
    struct scrape_engine *eng; /* owned by the kind */
    struct loop watcher;       /* file_sd; started only when a job has file_sd */
    pthread_mutex_t mu;        /* discovery passes */
    struct relabel_set set;    /* mu: scratch of scrape_resolve */
};

/* ---- resolving one target ---- */

/* Prometheus' model.Duration.String(): 1m30s, 15s, 500ms, 0s. */
static void format_duration(int64_t ms, char *out, size_t cap)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", 31536000000}, {"w", 604800000}, {"d", 86400000}, {"h", 3600000},
                 {"m", 60000},       {"s", 1000},      {"ms", 1}};
    size_t n = 0;
    out[0] = 0;
    if (ms == 0) {
        snprintf(out, cap, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && n < cap; i++) {
        if (ms >= units[i].ms) {
            n += (size_t)snprintf(out + n, cap - n, "%lld%s", (long long)(ms / units[i].ms),
                                  units[i].unit);
            ms %= units[i].ms;
        }
    }
}

/* Go's url.QueryEscape. */
static int query_escape(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int c = *p;
        int rc;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            rc = buf_putc(b, (char)c);
        else if (c == ' ')
            rc = buf_putc(b, '+');
        else
            rc = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Prometheus' addPort: true when s has no port and would be a valid
 * host:port with one ("h", "[::1]"), false when it has a port or is not an
 * address a port would mend ("::1", "h:1"). */
static bool needs_port(const char *s)
{
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        return close != NULL && close[1] == 0;
    }
    return strchr(s, ':') == NULL;
}

/* A URL parameter: a name and values, for sorting. */
struct qparam {
    const char *name;
    size_t nname;
    const char *const *values; /* job's values, or one override */
    size_t nvalues;
    const char *one;
};

static int qparam_cmp(const void *a, const void *b)
{
    const struct qparam *x = a, *y = b;
    size_t n = x->nname < y->nname ? x->nname : y->nname;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->nname > y->nname) - (x->nname < y->nname);
}

static int build_url(const struct scrape_job *job, const struct relabel_set *set, const char *addr,
                     char *out, size_t cap, struct err *e)
{
    struct qparam q[64];
    size_t nq = 0;
    for (size_t i = 0; i < job->nparams && nq < 64; i++)
        q[nq++] = (struct qparam){job->params[i].name, strlen(job->params[i].name),
                                  (const char *const *)job->params[i].values,
                                  job->params[i].nvalues, NULL};
    for (size_t i = 0; i < set->n; i++) {
        const struct label *l = &set->v[i];
        if (l->name.n <= 8 || memcmp(l->name.p, "__param_", 8) != 0)
            continue;
        struct strv pn = {l->name.p + 8, l->name.n - 8};
        size_t k = 0;
        while (k < nq && !(q[k].nname == pn.n && memcmp(q[k].name, pn.p, pn.n) == 0))
            k++;
        if (k == nq) {
            if (nq == 64)
                continue;
            q[nq++] = (struct qparam){pn.p, pn.n, NULL, 0, NULL};
        }
        q[k].one = l->value.p; /* replaces the first value */
    }
    qsort(q, nq, sizeof q[0], qparam_cmp);
    struct buf b;
    buf_init(&b, cap - 1);
    struct strv path = relabel_set_get(set, STRV_LIT("__metrics_path__"));
    struct strv scheme = relabel_set_get(set, STRV_LIT("__scheme__"));
    int rc = buf_printf(&b, "%.*s://%s%.*s", (int)scheme.n, scheme.p, addr, (int)path.n, path.p);
    for (size_t i = 0; rc == 0 && i < nq; i++) {
        /* As Go's url.Values.Encode: a name with no value (`params: {k: []}`,
         * or `k:` null) adds nothing; a __param_ label sets the first. */
        size_t nv = q[i].nvalues == 0 && q[i].one != NULL ? 1 : q[i].nvalues;
        for (size_t v = 0; rc == 0 && v < nv; v++) {
            const char *val = v == 0 && q[i].one ? q[i].one : q[i].values[v];
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)q[i].nname, q[i].name);
            rc = buf_putc(&b, b.len && strchr(b.p, '?') ? '&' : '?');
            if (rc == 0)
                rc = query_escape(&b, name);
            if (rc == 0)
                rc = buf_putc(&b, '=');
            if (rc == 0)
                rc = query_escape(&b, val);
        }
    }
    if (rc == 0)
        snprintf(out, cap, "%s", b.p);
    buf_fini(&b);
    return rc == 0 ? 0 : ERR_SET(e, TIDE_EINVAL, "the scrape URL is longer than %zu bytes", cap);
}

int scrape_resolve(const struct scrape_job *job, const struct scrape_group *g, size_t ti,
                   struct relabel_set *set, struct scrape_resolved *out, struct err *e)
{
    relabel_set_reset(set);
    memset(out, 0, sizeof *out);
    out->job = job;
    int rc = relabel_set_put(set, STRV_LIT("__address__"), strv_c(g->targets[ti]));
    for (size_t i = 0; rc == 0 && i < g->nlabels; i++)
        if (relabel_set_get(set, g->labels[i].name).p == NULL)
            rc = relabel_set_put(set, g->labels[i].name, g->labels[i].value);
    char iv[32], to[32];
    format_duration(job->interval_ms, iv, sizeof iv);
    format_duration(job->timeout_ms, to, sizeof to);
    const struct label defaults[] = {
        {STRV_LIT("job"), strv_c(job->name)},
        {STRV_LIT("__scrape_interval__"), strv_c(iv)},
        {STRV_LIT("__scrape_timeout__"), strv_c(to)},
        {STRV_LIT("__metrics_path__"), strv_c(job->metrics_path)},
        {STRV_LIT("__scheme__"), strv_c(job->scheme)},
    };
    /* The defaults' strings must outlive this call: copy iv/to. */
    for (size_t i = 0; rc == 0 && i < sizeof defaults / sizeof defaults[0]; i++) {
        if (relabel_set_get(set, defaults[i].name).p != NULL)
            continue;
        char *v = arena_strndup(&set->arena, defaults[i].value.p, defaults[i].value.n);
        rc = v ? relabel_set_put(set, defaults[i].name, (struct strv){v, defaults[i].value.n})
               : -ENOMEM;
    }
    for (size_t i = 0; rc == 0 && i < job->nparams; i++) {
        if (job->params[i].nvalues == 0)
            continue;
        size_t n = strlen(job->params[i].name) + 9;
        char *name = arena_alloc(&set->arena, n);
        if (name == NULL) {
            rc = -ENOMEM;
            break;
        }
        snprintf(name, n, "__param_%s", job->params[i].name);
        if (relabel_set_get(set, strv_c(name)).p == NULL)
            rc = relabel_set_put(set, strv_c(name), strv_c(job->params[i].values[0]));
    }
    bool keep = true;
    if (rc == 0)
        rc = relabel_apply(&job->relabel, set, &keep);
    if (rc != 0)
        return ERR_SET(e, rc, "scrape: out of memory");
    if (!keep)
        return 0;
    struct strv a = relabel_set_get(set, STRV_LIT("__address__"));
    if (a.n == 0)
        return 0; /* Prometheus: "no address", the target is dropped */
    struct strv scheme = relabel_set_get(set, STRV_LIT("__scheme__"));
    bool https = strv_eq_c(scheme, "https");
    if (!https && !strv_eq_c(scheme, "http"))
        return ERR_SET(e, TIDE_EINVAL, "%s: invalid scheme: \"%.*s\"", g->source, (int)scheme.n,
                       scheme.p);
    char *addr = arena_strndup(&set->arena, a.p, a.n);
    if (addr == NULL)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    if (strchr(addr, '/'))
        return ERR_SET(e, TIDE_EINVAL, "%s: \"%s\" is not a valid hostname", g->source, addr);
    if (needs_port(addr)) {
        size_t n = a.n + 5;
        char *with = arena_alloc(&set->arena, n);
        if (with == NULL)
            return ERR_SET(e, -ENOMEM, "scrape: out of memory");
        snprintf(with, n, "%s:%s", addr, https ? "443" : "80");
        addr = with;
        relabel_set_put(set, STRV_LIT("__address__"), strv_c(addr));
    }
    struct strv siv = relabel_set_get(set, STRV_LIT("__scrape_interval__"));
    struct strv sto = relabel_set_get(set, STRV_LIT("__scrape_timeout__"));
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*s", (int)siv.n, siv.p);
    if (time_parse_duration_ms(tmp, &out->interval_ms, NULL) != 0 || out->interval_ms <= 0)
        return ERR_SET(e, TIDE_EINVAL, "%s: error parsing interval \"%s\"", g->source, tmp);
    snprintf(tmp, sizeof tmp, "%.*s", (int)sto.n, sto.p);
    if (time_parse_duration_ms(tmp, &out->timeout_ms, NULL) != 0 || out->timeout_ms <= 0)
        return ERR_SET(e, TIDE_EINVAL, "%s: error parsing timeout \"%s\"", g->source, tmp);
    if (out->timeout_ms > out->interval_ms)
        return ERR_SET(e, TIDE_EINVAL, "%s: scrape timeout greater than scrape interval",
                       g->source);
    if (out->interval_ms < TARGETS_INTERVAL_MIN_MS)
        out->interval_ms = TARGETS_INTERVAL_MIN_MS;
    /* __meta_* goes; instance defaults to the address. */
    for (size_t i = 0; i < set->n;)
        if (set->v[i].name.n >= 7 && memcmp(set->v[i].name.p, "__meta_", 7) == 0)
            relabel_set_del(set, set->v[i].name);
        else
            i++;
    if (relabel_set_get(set, STRV_LIT("instance")).p == NULL)
        relabel_set_put(set, STRV_LIT("instance"), strv_c(addr));
    for (size_t i = 0; i < set->n; i++)
        if (!labels_valid_label_name(set->v[i].name))
            return ERR_SET(e, TIDE_EINVAL, "%s: invalid label name \"%.*s\"", g->source,
                           (int)set->v[i].name.n, set->v[i].name.p);
    if (build_url(job, set, addr, out->url, sizeof out->url, e) != 0)
        return e->code;
    /* Target labels: the set sorted, without the __ names. */
    relabel_set_sort(set);
    size_t w = 0;
    for (size_t i = 0; i < set->n; i++) {
        struct strv nm = set->v[i].name;
        if (nm.n >= 2 && nm.p[0] == '_' && nm.p[1] == '_')
            continue;
        set->v[w++] = set->v[i];
    }
    /* The __ labels are no longer needed: only the URL and address were. */
    set->n = w;
    out->labels = set->v;
    out->nlabels = w;
    out->address = addr;
    snprintf(out->name, sizeof out->name, "%s/%s", job->name, addr);
    uint64_t id = hash_bytes(out->url, strlen(out->url));
    id = hash_combine(id, &out->interval_ms, sizeof out->interval_ms);
    id = hash_combine(id, &out->timeout_ms, sizeof out->timeout_ms);
    uint64_t lh = labels_hash(out->labels, out->nlabels);
    out->id = hash_combine(id, &lh, sizeof lh);
    return 1;
}

/* ---- diffing a job's targets against the manager ---- */

struct want {
    struct scrape_resolved r;
    struct label *labels; /* a copy: the set is reused for the next target */
    char *bytes;
};

static void want_free(struct want *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(w[i].labels);
        free(w[i].bytes);
    }
    free(w);
}

/* Keep a copy of r's labels in w (the set is scratch). */
static int want_take(struct want *w, const struct scrape_resolved *r)
{
    w->r = *r;
    size_t bytes = strlen(r->address) + 1;
    for (size_t i = 0; i < r->nlabels; i++)
        bytes += r->labels[i].name.n + r->labels[i].value.n + 2;
    w->labels = calloc(r->nlabels ? r->nlabels : 1, sizeof *w->labels);
    w->bytes = malloc(bytes);
    if (w->labels == NULL || w->bytes == NULL)
        return -ENOMEM;
    char *p = w->bytes;
    for (size_t i = 0; i < r->nlabels; i++) {
        const struct label *l = &r->labels[i];
        memcpy(p, l->name.p, l->name.n);
        p[l->name.n] = 0;
        w->labels[i].name = (struct strv){p, l->name.n};
        p += l->name.n + 1;
        memcpy(p, l->value.p, l->value.n);
        p[l->value.n] = 0;
        w->labels[i].value = (struct strv){p, l->value.n};
        p += l->value.n + 1;
    }
    strcpy(p, r->address);
    w->r.address = p;
    w->r.labels = w->labels;
    return 0;
}

static int resolve_groups(struct scrape *s, struct scrape_job *j, const struct scrape_group *g,
                          size_t ng, struct want **v, size_t *n, size_t *cap, struct err *e)
{
    for (size_t i = 0; i < ng; i++)
        for (size_t t = 0; t < g[i].ntargets; t++) {
            struct scrape_resolved r;
            struct err re = {0};
            int rc = scrape_resolve(j, &g[i], t, &s->set, &r, &re);
            if (rc == -ENOMEM)
                return ERR_SET(e, rc, "scrape: out of memory");
            if (rc < 0) {
                *e = re; /* remembered; the other targets go on */
                continue;
            }
            if (rc == 0)
                continue;
            if (*n == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                struct want *nv = realloc(*v, nc * sizeof *nv);
                if (nv == NULL)
                    return ERR_SET(e, -ENOMEM, "scrape: out of memory");
                *v = nv;
                *cap = nc;
            }
            struct want *w = &(*v)[*n];
            memset(w, 0, sizeof *w);
            (*n)++;
            if (want_take(w, &r) != 0)
                return ERR_SET(e, -ENOMEM, "scrape: out of memory");
        }
    return 0;
}

/* Bring job j's targets in the manager in line with its groups. Errors of
 * single targets are left in `e` (the first one) and skipped; the return is
 * -ENOMEM or 0. Under s->mu. */
static int sync_job(struct scrape *s, struct scrape_job *j, struct err *e)
{
    struct want *v = NULL;
    size_t n = 0, cap = 0;
    int rc = resolve_groups(s, j, j->static_groups, j->nstatic, &v, &n, &cap, e);
    for (size_t i = 0; rc == 0 && i < j->nfile_sd; i++)
        rc = resolve_groups(s, j, j->file_sd[i].groups, j->file_sd[i].ngroups, &v, &n, &cap, e);
    if (rc != 0) {
        want_free(v, n);
        return rc;
    }
    /* Names: "job/address", then "job/address/2"... for the same address.
     * Identical targets (same id) are one target, as Prometheus dedups. */
    size_t keepn = 0;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        int same_addr = 0;
        for (size_t k = 0; k < keepn && !dup; k++) {
            dup = v[k].r.id == v[i].r.id;
            if (strcmp(v[k].r.address, v[i].r.address) == 0)
                same_addr++;
        }
        if (dup) {
            free(v[i].labels);
            free(v[i].bytes);
            continue;
        }
        if (same_addr > 0)
            snprintf(v[i].r.name, sizeof v[i].r.name, "%s/%s/%d", j->name, v[i].r.address,
                     same_addr + 1);
        v[keepn++] = v[i];
    }
    n = keepn;
    /* Remove what is gone or changed. */
    size_t w = 0;
    for (size_t c = 0; c < j->ncurrent; c++) {
        bool still = false;
        for (size_t i = 0; i < n && !still; i++)
            still = v[i].r.id == j->current[c].id && strcmp(v[i].r.name, j->current[c].name) == 0;
        if (still) {
            j->current[w++] = j->current[c];
            continue;
        }
        targets_remove(s->m, "scrape", j->current[c].name);
        free(j->current[c].name);
    }
    j->ncurrent = w;
    /* Add what is new. */
    struct scrape_added *cur = realloc(j->current, (j->ncurrent + n + 1) * sizeof *cur);
    if (cur == NULL) {
        want_free(v, n);
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    }
    j->current = cur;
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t c = 0; c < j->ncurrent && !have; c++)
            have = j->current[c].id == v[i].r.id && strcmp(v[i].r.name, j->current[c].name) == 0;
        if (have)
            continue;
        struct err ae = {0};
        int arc = scrape_kind_add(s->kind, s->m, &v[i].r, &ae);
        if (arc == -ENOMEM) {
            want_free(v, n);
            return ERR_SET(e, arc, "scrape: out of memory");
        }
        if (arc != 0) {
            if (e->code == 0)
                *e = ae;
            continue;
        }
        char *name = strdup(v[i].r.name);
        if (name == NULL) {
            targets_remove(s->m, "scrape", v[i].r.name);
            continue;
        }
        j->current[j->ncurrent++] = (struct scrape_added){name, v[i].r.id};
    }
    want_free(v, n);
    return 0;
}

/* ---- file_sd ---- */

/* Returns whether any file_sd of any job exists. */
static int discover(struct scrape *s, bool force, struct err *e)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; rc == 0 && i < s->njobs; i++) {
        struct scrape_job *j = &s->jobs[i];
        bool changed = force;
        for (size_t k = 0; k < j->nfile_sd; k++)
            changed |= scrape_file_sd_refresh(&j->file_sd[k], force, e);
        if (changed)
            rc = sync_job(s, j, e);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void watch(void *ctx, struct loop *l)
{
    (void)l;
    struct err e = {0};
    discover(ctx, false, &e); /* a bad file keeps its old targets */
}

/* ---- the whole ---- */

/* Remove every target the jobs added (a start that failed half-way). */
static void remove_all(struct scrape *s)
{
    for (size_t i = 0; i < s->njobs; i++) {
        struct scrape_job *j = &s->jobs[i];
        for (size_t c = 0; c < j->ncurrent; c++) {
            targets_remove(s->m, "scrape", j->current[c].name);
            free(j->current[c].name);
        }
        j->ncurrent = 0;
    }
}

int scrape_new(struct targets *m, const struct yaml_node *global,
               const struct yaml_node *scrape_configs, const char *base_dir, batch_sink_fn *sink,
               void *sink_ctx, struct scrape **out, struct err *e)
{
    *out = NULL;
    struct scrape *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    s->m = m;
    pthread_mutex_init(&s->mu, NULL);
    relabel_set_init(&s->set);
    int rc = scrape_config_parse(global, scrape_configs, base_dir, &s->jobs, &s->njobs, e);
    if (rc == 0)
        rc = scrape_kind_new(m, sink, sink_ctx, &s->eng, &s->kind, e);
    if (rc != 0) {
        scrape_free(s);
        return rc;
    }
    struct err de = {0};
    rc = discover(s, true, &de);
    if (rc != 0) {
        *e = de;
        remove_all(s);
        scrape_free(s);
        return rc;
    }
    if (de.code != 0 && de.code != -ENOMEM) {
        /* A static target that cannot be scraped is a configuration error. */
        bool static_err = strncmp(de.msg, "static_configs:", 15) == 0;
        if (static_err) {
            *e = de;
            remove_all(s);
            scrape_free(s);
            return de.code;
        }
    }
    bool any_sd = false;
    for (size_t i = 0; i < s->njobs; i++)
        any_sd |= s->jobs[i].nfile_sd > 0;
    if (any_sd) {
        rc = loop_start(&s->watcher, "scrape-file-sd", watch, s, 1000, e);
        if (rc != 0) {
            remove_all(s);
            scrape_free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void scrape_stop(struct scrape *s)
{
    if (s == NULL)
        return;
    loop_stop(&s->watcher);
    pthread_mutex_lock(&s->mu);
    pthread_mutex_unlock(&s->mu);
}

void scrape_free(struct scrape *s)
{
    if (s == NULL)
        return;
    scrape_kind_free(s->kind);
    scrape_jobs_free(s->jobs, s->njobs);
    relabel_set_fini(&s->set);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
