/* label_sets.c: the compact list of label sets (label_sets.h), the targets
 * manager's memory of what each target delivered last.
 *
 * Layout of one set in `bytes`: uvarint nlabels, then per label uvarint
 * name index (into `names`), uvarint value length, value bytes. Names are
 * few per target (a module's and the target's), so they are found by a
 * linear scan; values are stored as given, in the set's label order.
 */
#include "collect/label_sets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void label_sets_init(struct label_sets *ls)
{
    memset(ls, 0, sizeof *ls);
    buf_init(&ls->bytes, UINT32_MAX);
    buf_init(&ls->names, UINT32_MAX);
}

void label_sets_fini(struct label_sets *ls)
{
    buf_fini(&ls->bytes);
    buf_fini(&ls->names);
    free(ls->off);
    free(ls->hash);
    free(ls->name_off);
    label_sets_init(ls);
}

void label_sets_reset(struct label_sets *ls)
{
    buf_reset(&ls->bytes);
    ls->n = 0;
}

/* The index of `name` in the table, added when new. 0 or an error. */
static int name_index(struct label_sets *ls, struct strv name, uint32_t *out)
{
    for (size_t k = 0; k < ls->nnames; k++) {
        const char *p = ls->names.p + ls->name_off[k];
        if (strlen(p) == name.n && memcmp(p, name.p, name.n) == 0) {
            *out = (uint32_t)k;
            return 0;
        }
    }
    if (memchr(name.p, 0, name.n) != NULL)
        return TIDE_EINVAL; /* cannot be a label name; never from a batch */
    if (mem_grow((void **)&ls->name_off, &ls->cap_names, ls->nnames + 1, sizeof *ls->name_off) != 0)
        return -ENOMEM;
    size_t at = ls->names.len;
    int rc = buf_append(&ls->names, name.p, name.n);
    if (rc == 0)
        rc = buf_putc(&ls->names, 0);
    if (rc != 0) {
        ls->names.len = at;
        return rc;
    }
    ls->name_off[ls->nnames] = (uint32_t)at;
    *out = (uint32_t)ls->nnames++;
    return 0;
}

int label_sets_add(struct label_sets *ls, const struct label *v, size_t n, uint64_t hash)
{
    if (mem_grow((void **)&ls->off, &ls->cap_off, ls->n + 1, sizeof *ls->off) != 0 ||
        mem_grow((void **)&ls->hash, &ls->cap_hash, ls->n + 1, sizeof *ls->hash) != 0)
        return -ENOMEM;
    size_t at = ls->bytes.len;
    int rc = buf_put_uvarint(&ls->bytes, n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint32_t k = 0;
        rc = name_index(ls, v[i].name, &k);
        if (rc == 0)
            rc = buf_put_uvarint(&ls->bytes, k);
        if (rc == 0)
            rc = buf_put_bytes(&ls->bytes, v[i].value.p, v[i].value.n);
    }
    if (rc != 0) {
        ls->bytes.len = at;
        return rc;
    }
    ls->off[ls->n] = (uint32_t)at;
    ls->hash[ls->n] = hash;
    ls->n++;
    return 0;
}

int label_sets_get(const struct label_sets *ls, size_t i, struct label **v, size_t *cap, size_t *n)
{
    *n = 0;
    size_t end = i + 1 < ls->n ? ls->off[i + 1] : ls->bytes.len;
    struct rd r;
    rd_init(&r, ls->bytes.p + ls->off[i], end - ls->off[i]);
    uint64_t cnt = rd_uvarint(&r);
    if (r.bad || cnt > rd_left(&r))
        return TIDE_ECORRUPT;
    if (mem_grow((void **)v, cap, (size_t)cnt, sizeof **v) != 0)
        return -ENOMEM;
    for (size_t k = 0; k < cnt; k++) {
        uint64_t name = rd_uvarint(&r);
        size_t vn = 0;
        const void *vp = rd_bytes(&r, &vn);
        if (r.bad || name >= ls->nnames)
            return TIDE_ECORRUPT;
        (*v)[k].name = strv_c(ls->names.p + ls->name_off[name]);
        (*v)[k].value = (struct strv){vp, vn};
    }
    *n = (size_t)cnt;
    return 0;
}
