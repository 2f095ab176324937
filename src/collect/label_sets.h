/* label_sets.h: a compact, append-only list of label sets, for a collector
 * that must remember what it delivered (the targets manager's record of a
 * target's last series, from which it writes stale markers).
 *
 * A struct batch keeps a 32-byte struct label and two arena copies per
 * label; a fleet of a thousand routers with ~600 series each then holds
 * hundreds of MiB only to be able to say "gone". Here a set is a uvarint
 * count, then per label a uvarint index into a table of distinct names and
 * the value as uvarint length + bytes, all in one buffer, with the set's
 * hash beside it: about a fifth of the batch's bytes.
 *
 * Ownership: the list owns every byte; label_sets_get() lends views into
 * them, valid until the next label_sets_add(), _reset() or _fini().
 * Thread: none; a list belongs to one thread at a time.
 */
#ifndef TIDE_COLLECT_LABEL_SETS_H
#define TIDE_COLLECT_LABEL_SETS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "model/labels.h"

struct label_sets {
    struct buf bytes;         /* the encoded sets, one after the other */
    uint32_t *off;            /* off[i]: where set i starts in `bytes` */
    uint64_t *hash;           /* hash[i]: the hash given with set i */
    size_t n;                 /* sets held */
    size_t cap_off, cap_hash; /* room in off, hash */
    struct buf names;         /* distinct label names, each NUL-terminated */
    uint32_t *name_off;       /* name_off[k]: where name k starts in `names` */
    size_t nnames, cap_names;
};

void label_sets_init(struct label_sets *ls);
void label_sets_fini(struct label_sets *ls);
/* Forget every set (the name table and the memory are kept). */
void label_sets_reset(struct label_sets *ls);
/* Append the set v[0..n) with its hash (the caller's: labels_hash() of the
 * set, say). The strings are copied. 0, or -ENOMEM / TIDE_ELIMIT (a list
 * past 4 GiB) with the list as it was. */
int label_sets_add(struct label_sets *ls, const struct label *v, size_t n, uint64_t hash);
/* Set i (i < ls->n) into *v (grown as needed, *cap its room), its label
 * count in *n; the views borrow the list's bytes (see above). 0, -ENOMEM,
 * or TIDE_ECORRUPT when the bytes do not decode (a bug). */
int label_sets_get(const struct label_sets *ls, size_t i, struct label **v, size_t *cap, size_t *n);
static inline uint64_t label_sets_hash(const struct label_sets *ls, size_t i)
{
    return ls->hash[i];
}

#endif
