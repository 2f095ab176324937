/* meta_store.h: what senders said about metric families (type, help, unit),
 * kept for /api/v1/metadata. Sits in api/: write.c hands it the metadata of
 * every batch a write endpoint parsed (remote write's MetricMetadata, text
 * exposition's # TYPE/# HELP/# UNIT, OTLP's kind, description and unit);
 * prom_status.c serves it. Storage knows nothing of it.
 *
 * One entry per family name: a later sender's type, help or unit replaces
 * the earlier one field by field (a field the sender did not give is kept).
 * Bounded: at most `max_families` names (new ones past it are dropped and
 * counted), help cut at META_STORE_HELP_MAX bytes, unit and name at
 * META_STORE_NAME_MAX. Persistent: when `path` is set, the store is loaded
 * from it on open and rewritten atomically (fs_write_file_atomic) after a
 * change, at most once a second; meta_store_close() writes what is left.
 * File format (docs/api/metadata.md): a first line "# tide metadata v1",
 * then one family a line, "name TAB type TAB unit TAB help", with `\\`,
 * `\t` and `\n` escaped in unit and help.
 *
 * Ownership: the wiring (src/cmd/serve.c) opens and closes the store and
 * keeps it alive while the HTTP server runs; every string is copied in.
 * Thread: every function but open/close is thread-safe (one mutex).
 */
#ifndef TIDE_API_META_STORE_H
#define TIDE_API_META_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strv.h"
#include "model/batch.h"

#define META_STORE_DEFAULT_FAMILIES 20000
#define META_STORE_HELP_MAX 1024
#define META_STORE_NAME_MAX 256

struct meta_store;
struct json;

/* Open a store of at most `max_families` names (0 = the default). `path`
 * (may be NULL: memory only) is read when it exists; a line that does not
 * parse is skipped. 0, -ENOMEM or -errno reading the file (detail in `e`);
 * *out is NULL on failure. */
int meta_store_open(struct meta_store **out, const char *path, size_t max_families, struct err *e);

/* Write pending changes and free. NULL is a no-op. Returns the write's
 * error (-errno), the store being freed in every case. */
int meta_store_close(struct meta_store *ms);

/* Merge n entries (a batch's meta array) into the store; entries with an
 * empty or over-long family name are skipped. Rewrites the file when
 * something changed and the last write is over a second old. 0, -ENOMEM,
 * or the write's -errno (the memory store is updated anyway). */
int meta_store_update(struct meta_store *ms, const struct batch_meta *m, size_t n);

/* Write the data object of /api/v1/metadata to `w`:
 * {"name":[{"type":"counter","help":"...","unit":""}],...}, names sorted.
 * `metric` (n = 0: every name) selects one name; `limit` < 0 means no limit
 * on names (0 gives {}), as in Prometheus; `limit_per_metric` is accepted
 * for compatibility (each name has one entry). */
void meta_store_json(struct meta_store *ms, struct json *w, struct strv metric, long limit,
                     long limit_per_metric);

/* Families held, and new families dropped for the bound, since open. */
size_t meta_store_count(struct meta_store *ms);
uint64_t meta_store_dropped(struct meta_store *ms);

#endif
