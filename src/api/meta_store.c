/* meta_store.c: the metric-family metadata store behind /api/v1/metadata
 * (see meta_store.h). A sorted array of families under one mutex: lookups
 * are a binary search, an insert a memmove. Metadata changes rarely (a new
 * exporter, a new release), so the array stays small and settled, and the
 * file is rewritten whole, atomically, at most once a second.
 * Invariant: `fams` is sorted by name, names unique; every string is the
 * store's own malloc'd copy.
 */
#include "api/meta_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/time.h"

#define FILE_MAGIC "# tide metadata v1\n"
#define WRITE_EVERY_MS 1000

struct fam {
    char *name;            /* family name, NUL-terminated */
    enum metric_type type; /* METRIC_TYPE_NONE until a sender names one */
    char *help;            /* never NULL; "" when unknown */
    char *unit;            /* never NULL */
};

/* Owner: the wiring; see meta_store.h. Everything below `mu` only with it held. */
struct meta_store {
    char *path;          /* the file; NULL = memory only. Immutable. */
    size_t max_families; /* the bound. Immutable. */
    pthread_mutex_t mu;
    struct fam *fams; /* sorted by name */
    size_t nfams, cap;
    uint64_t dropped;      /* new families refused for the bound */
    bool dirty;            /* changed since the last write */
    int64_t last_write_ms; /* monotonic time of the last write */
};

static void fam_free(struct fam *f)
{
    free(f->name);
    free(f->help);
    free(f->unit);
}

/* Index of `name`, or where it would go (*found false). */
static size_t find(const struct meta_store *ms, struct strv name, bool *found)
{
    size_t lo = 0, hi = ms->nfams;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = ms->fams[mid].name;
        size_t sn = strlen(s);
        int c = memcmp(s, name.p, sn < name.n ? sn : name.n);
        if (c == 0)
            c = sn < name.n ? -1 : sn > name.n;
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static char *dup(struct strv s, size_t max)
{
    size_t n = s.n > max ? max : s.n;
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    if (n > 0)
        memcpy(p, s.p, n);
    p[n] = 0;
    return p;
}

/* Set *dst to a copy of s (cut at max) unless equal. 1 changed, 0 same, -ENOMEM. */
static int set_str(char **dst, struct strv s, size_t max)
{
    size_t n = s.n > max ? max : s.n;
    if (*dst != NULL && strlen(*dst) == n && memcmp(*dst, s.p ? s.p : "", n) == 0)
        return 0;
    char *p = dup((struct strv){s.p, n}, max);
    if (p == NULL)
        return -ENOMEM;
    free(*dst);
    *dst = p;
    return 1;
}

/* Merge one entry; the lock is held. 1 changed, 0 same, -ENOMEM. */
static int merge(struct meta_store *ms, const struct batch_meta *m)
{
    if (m->family.n == 0 || m->family.n > META_STORE_NAME_MAX)
        return 0;
    bool found;
    size_t i = find(ms, m->family, &found);
    if (!found) {
        if (ms->nfams >= ms->max_families) {
            ms->dropped++;
            return 0;
        }
        if (ms->nfams == ms->cap) {
            size_t cap = ms->cap ? ms->cap * 2 : 64;
            struct fam *nf = realloc(ms->fams, cap * sizeof *nf);
            if (nf == NULL)
                return -ENOMEM;
            ms->fams = nf;
            ms->cap = cap;
        }
        struct fam f = {.name = dup(m->family, META_STORE_NAME_MAX),
                        .type = METRIC_TYPE_NONE,
                        .help = dup((struct strv){"", 0}, 0),
                        .unit = dup((struct strv){"", 0}, 0)};
        if (f.name == NULL || f.help == NULL || f.unit == NULL) {
            fam_free(&f);
            return -ENOMEM;
        }
        memmove(ms->fams + i + 1, ms->fams + i, (ms->nfams - i) * sizeof *ms->fams);
        ms->fams[i] = f;
        ms->nfams++;
    }
    struct fam *f = &ms->fams[i];
    int changed = !found;
    if (m->type != METRIC_TYPE_NONE && m->type != f->type) {
        f->type = m->type;
        changed = 1;
    }
    if (m->help.p != NULL) {
        int rc = set_str(&f->help, m->help, META_STORE_HELP_MAX);
        if (rc < 0)
            return rc;
        changed |= rc;
    }
    if (m->unit.p != NULL) {
        int rc = set_str(&f->unit, m->unit, META_STORE_NAME_MAX);
        if (rc < 0)
            return rc;
        changed |= rc;
    }
    return changed;
}

/* ---- the file ---- */

static int put_escaped(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = buf_puts(b, "\\\\");
        else if (*s == '\t')
            rc = buf_puts(b, "\\t");
        else if (*s == '\n')
            rc = buf_puts(b, "\\n");
        else
            rc = buf_putc(b, *s);
    }
    return rc;
}

/* Serialise the store into b; the lock is held. */
static int serialise(const struct meta_store *ms, struct buf *b)
{
    int rc = buf_puts(b, FILE_MAGIC);
    for (size_t i = 0; i < ms->nfams && rc == 0; i++) {
        const struct fam *f = &ms->fams[i];
        const char *t = metric_type_name(f->type);
        rc = buf_printf(b, "%s\t%s\t", f->name, t ? t : "");
        rc = rc ? rc : put_escaped(b, f->unit);
        rc = rc ? rc : buf_putc(b, '\t');
        rc = rc ? rc : put_escaped(b, f->help);
        rc = rc ? rc : buf_putc(b, '\n');
    }
    return rc;
}

/* Write the file when dirty (and, unless `force`, not written this second);
 * the lock is held. 0 or -errno. */
static int flush(struct meta_store *ms, bool force)
{
    if (ms->path == NULL || !ms->dirty)
        return 0;
    int64_t now = time_mono_ns() / 1000000;
    if (!force && now - ms->last_write_ms < WRITE_EVERY_MS)
        return 0;
    struct buf b;
    buf_init(&b, 0);
    int rc = serialise(ms, &b);
    if (rc == 0)
        rc = fs_write_file_atomic(ms->path, b.p ? b.p : "", b.len);
    buf_fini(&b);
    if (rc == 0) {
        ms->dirty = false;
        ms->last_write_ms = now;
    }
    return rc;
}

/* Undo put_escaped() in place over s[0..n); returns the new length. */
static size_t unescape(char *s, size_t n)
{
    size_t w = 0;
    for (size_t r = 0; r < n; r++) {
        if (s[r] == '\\' && r + 1 < n) {
            char c = s[++r];
            s[w++] = c == 't' ? '\t' : c == 'n' ? '\n' : c;
        } else {
            s[w++] = s[r];
        }
    }
    return w;
}

static enum metric_type type_from_name(struct strv s)
{
    for (int t = METRIC_TYPE_UNKNOWN; t <= METRIC_TYPE_STATESET; t++)
        if (strv_eq_c(s, metric_type_name((enum metric_type)t)))
            return (enum metric_type)t;
    return METRIC_TYPE_NONE;
}

/* Load the file's lines; malformed ones are skipped. The lock is not needed. */
static int load(struct meta_store *ms, char *text, size_t n)
{
    size_t magic = strlen(FILE_MAGIC);
    if (n < magic || memcmp(text, FILE_MAGIC, magic) != 0)
        return 0; /* not ours, or empty: start afresh */
    char *p = text + magic, *end = text + n;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        char *f[4];
        size_t fn[4];
        size_t k = 0;
        char *s = p;
        while (k < 4) {
            char *tab = k < 3 ? memchr(s, '\t', (size_t)(le - s)) : NULL;
            char *fe = tab ? tab : le;
            f[k] = s;
            fn[k] = (size_t)(fe - s);
            k++;
            if (tab == NULL)
                break;
            s = tab + 1;
        }
        p = nl ? nl + 1 : end;
        if (k != 4)
            continue;
        fn[2] = unescape(f[2], fn[2]);
        fn[3] = unescape(f[3], fn[3]);
        struct batch_meta m = {.family = {f[0], fn[0]},
                               .type = type_from_name((struct strv){f[1], fn[1]}),
                               .unit = {f[2], fn[2]},
                               .help = {f[3], fn[3]}};
        if (merge(ms, &m) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- the interface ---- */

int meta_store_open(struct meta_store **out, const char *path, size_t max_families, struct err *e)
{
    *out = NULL;
    struct meta_store *ms = calloc(1, sizeof *ms);
    if (ms == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    ms->max_families = max_families ? max_families : META_STORE_DEFAULT_FAMILIES;
    pthread_mutex_init(&ms->mu, NULL);
    int rc = 0;
    if (path != NULL) {
        ms->path = strdup(path);
        if (ms->path == NULL) {
            rc = ERR_SET(e, -ENOMEM, "out of memory");
            goto fail;
        }
        char *text = NULL;
        size_t n = 0;
        rc = fs_read_file(path, &text, &n);
        if (rc == -ENOENT) {
            rc = 0;
        } else if (rc != 0) {
            ERR_SET(e, rc, "reading %s: %s", path, strerror(-rc));
            goto fail;
        } else {
            rc = load(ms, text, n);
            free(text);
            if (rc != 0) {
                ERR_SET(e, rc, "out of memory loading %s", path);
                goto fail;
            }
        }
    }
    ms->dirty = false;
    *out = ms;
    return 0;
fail:
    meta_store_close(ms);
    return rc;
}

int meta_store_close(struct meta_store *ms)
{
    if (ms == NULL)
        return 0;
    int rc = flush(ms, true);
    for (size_t i = 0; i < ms->nfams; i++)
        fam_free(&ms->fams[i]);
    free(ms->fams);
    free(ms->path);
    pthread_mutex_destroy(&ms->mu);
    free(ms);
    return rc;
}

int meta_store_update(struct meta_store *ms, const struct batch_meta *m, size_t n)
{
    if (n == 0)
        return 0;
    int rc = 0;
    pthread_mutex_lock(&ms->mu);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int c = merge(ms, &m[i]);
        if (c < 0)
            rc = c;
        else if (c > 0)
            ms->dirty = true;
    }
    if (rc == 0)
        rc = flush(ms, false);
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

void meta_store_json(struct meta_store *ms, struct json *w, struct strv metric, long limit,
                     long limit_per_metric)
{
    (void)limit_per_metric; /* one entry per name: any limit >= 1 keeps it */
    json_obj(w);
    pthread_mutex_lock(&ms->mu);
    size_t from = 0, to = ms->nfams;
    if (metric.n > 0) {
        bool found;
        from = find(ms, metric, &found);
        to = found ? from + 1 : from;
    }
    long written = 0;
    for (size_t i = from; i < to; i++) {
        if (limit >= 0 && written >= limit)
            break;
        const struct fam *f = &ms->fams[i];
        const char *t = metric_type_name(f->type);
        json_keyv(w, strv_c(f->name));
        json_arr(w);
        json_obj(w);
        json_key(w, "type");
        json_cstr(w, t ? t : "unknown");
        json_key(w, "help");
        json_cstr(w, f->help);
        json_key(w, "unit");
        json_cstr(w, f->unit);
        json_obj_end(w);
        json_arr_end(w);
        written++;
    }
    pthread_mutex_unlock(&ms->mu);
    json_obj_end(w);
}

size_t meta_store_count(struct meta_store *ms)
{
    pthread_mutex_lock(&ms->mu);
    size_t n = ms->nfams;
    pthread_mutex_unlock(&ms->mu);
    return n;
}

uint64_t meta_store_dropped(struct meta_store *ms)
{
    pthread_mutex_lock(&ms->mu);
    uint64_t n = ms->dropped;
    pthread_mutex_unlock(&ms->mu);
    return n;
}
