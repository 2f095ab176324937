/* collectd.h: what collectd's write_http plugin sends, to a `struct batch`.
 * Used by api/write.c for POST /api/v1/import/collectd (and /collectd-post,
 * collectd_exporter's path). Both of write_http's formats:
 *
 *   Format "JSON"     [{"values":[1901474177],"dstypes":["derive"],
 *                       "dsnames":["value"],"time":1280959128.123,
 *                       "interval":10.000,"host":"h1","plugin":"cpu",
 *                       "plugin_instance":"0","type":"cpu",
 *                       "type_instance":"idle"}, ...]
 *   Format "Command"  PUTVAL "h1/cpu-0/cpu-idle" interval=10.000 1280959128.123:1901474177
 *
 * Each value of a value list becomes one series, named and labelled as
 * collectd_exporter does: collectd_<plugin>_<type> (collectd_<type> when the
 * two are equal), then _<dsname> unless the data source is "value", then
 * _total for counter and derive data sources; characters outside
 * [a-zA-Z0-9_:] become '_'. Labels: <plugin>=plugin_instance and
 * type=type_instance, or <plugin>=type_instance when there is no plugin
 * instance; instance=host. The batch's metadata gets each family's type
 * (counter or gauge). The Command format carries no data source names or
 * types: they come from a built-in table of collectd's common types
 * (types.db), else a one-value list is a gauge named after its type and the
 * values of a longer one are data sources "0", "1", ... (docs/import.md).
 * An unknown value (null in JSON, U in PUTVAL) is skipped.
 *
 * Partial input (ingest.h): a bad value list or line is skipped and
 * reported with its line number and reason ("line 3: 2 values but 1 data
 * source type"); a JSON syntax error stops the parse there. Labels borrow
 * from the input or the batch arena; the input must outlive the batch's use.
 * Thread: none; no shared state.
 */
#ifndef TIDE_INGEST_COLLECTD_H
#define TIDE_INGEST_COLLECTD_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"

#define COLLECTD_MAX_VALUES 64 /* values in one value list */

enum collectd_format {
    COLLECTD_AUTO = 0, /* JSON when the first non-blank byte is '[' or '{', else PUTVAL */
    COLLECTD_JSON,
    COLLECTD_PUTVAL,
};

struct collectd_opts {
    enum collectd_format format;
    int64_t now_ms; /* for PUTVAL's "N" time and a JSON list without time */
};

/* Parse p[0..n). Returns 0 (bad input is only reported) or -ENOMEM. */
int collectd_parse(const char *p, size_t n, const struct collectd_opts *o, struct batch *b,
                   struct ingest_report *r);

#endif
