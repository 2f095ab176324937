/* template.h: the subset of Go's text/template that Prometheus rule files
 * use in alert labels and annotations, parsed once when a rule file is
 * loaded and expanded at every evaluation (rules/group.c).
 *
 * Accepted (what people write; docs/rules.md#templates):
 *   text, {{ pipeline }}, trim markers {{- and -}}, comment actions
 *   {{ if P }} … {{ else if P }} … {{ else }} … {{ end }}
 *   operands: $labels, $labels.x, $value, $externalLabels(.x), $externalURL,
 *             .Labels(.x), .Value, .ExternalLabels(.x), .ExternalURL, $, .,
 *             "strings", `raw strings`, numbers, true, false, ( pipeline )
 *   functions: humanize, humanizePercentage, humanizeDuration, printf,
 *             toUpper, toLower, eq, ne, lt, le, gt, ge, and, or, not
 *   pipes:    {{ $value | humanize }}
 * Anything else is refused at parse time with the offset of the action:
 * `range`, `with`, `define`, variables assignments, and Prometheus'
 * functions Tide does not implement (`query`, `first`, `reReplaceAll`, …)
 * get "… is not supported by Tide's templates"; an unknown name gets Go's
 * "function "x" not defined".
 *
 * Expansion follows Go: a float prints as %v does (strconv 'g', shortest),
 * a map as map[k:v …], humanize* as Prometheus' template functions.
 *
 * Ownership: a struct tmpl owns all it holds (one arena); tmpl_free().
 * Thread: a parsed template is immutable; tmpl_exec() may run on several
 * threads at once.
 */
#ifndef TIDE_RULES_TEMPLATE_H
#define TIDE_RULES_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"
#include "model/labels.h"

#define TMPL_MAX_INPUT (64u << 10)  /* bytes of template text */
#define TMPL_MAX_OUTPUT (64u << 10) /* bytes one expansion may produce */

struct tmpl;

/* What a template sees: Prometheus' AlertTemplateData. All borrowed for the
 * call. `labels` are the alert's labels (sorted, no __name__). */
struct tmpl_data {
    const struct label *labels;
    size_t nlabels;
    const struct label *external_labels;
    size_t nexternal_labels;
    const char *external_url; /* NULL = "" */
    double value;
};

/* Parse n bytes of template text. 0 and *out, or TIDE_EPARSE with e->col
 * the 1-based byte offset of the action at fault (e->line 0: the caller
 * knows the YAML position), TIDE_ELIMIT past TMPL_MAX_INPUT, -ENOMEM.
 * On failure *out is NULL. */
int tmpl_parse(const char *text, size_t n, struct tmpl **out, struct err *e);

void tmpl_free(struct tmpl *t);

/* True when the text has no action ("{{"): expanding it gives it back. */
bool tmpl_is_plain(const struct tmpl *t);

/* Expand into `out` (appended). 0, or TIDE_EINVAL for an execution error
 * (a comparison of incompatible types, a bad printf argument) with the
 * reason in e, or a buf error (TIDE_ELIMIT past TMPL_MAX_OUTPUT). */
int tmpl_exec(const struct tmpl *t, const struct tmpl_data *d, struct buf *out, struct err *e);

/* Go's %v of a float64 (strconv.FormatFloat(v, 'g', -1, 64)) appended. */
int tmpl_format_value(struct buf *out, double v);

#endif
