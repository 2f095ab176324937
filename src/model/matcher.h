/* matcher.h: label matchers =, !=, =~, !~ as Prometheus defines them.
 *
 * Regular expressions are PCRE2 with JIT, fully anchored (Prometheus wraps
 * every regex in ^(?:...)$). A matcher matches the empty string when the label
 * is absent: {a!="x"} selects series without `a`, {a=~".*"} selects all.
 *
 * Ownership: matcher_init() copies name and value into the matcher and
 * compiles the regex; matcher_fini() frees both. Thread: a compiled matcher
 * may be used by one thread at a time (the match data is per matcher).
 */
#ifndef TIDE_MODEL_MATCHER_H
#define TIDE_MODEL_MATCHER_H

#include <stdbool.h>

#include "core/err.h"
#include "core/strv.h"
#include "model/labels.h"

enum matcher_type { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

/* Bytes of a regex an error message shows (then "..."): struct err holds
 * 200, and the reason comes after the regex. */
#define MATCHER_RE_SHOWN 64

struct matcher {
    enum matcher_type type;
    char *name;       /* owned, NUL-terminated */
    char *value;      /* owned, NUL-terminated; the regex source for RE/NRE */
    size_t value_len; /* bytes in value */
    void *re;         /* pcre2_code * for RE/NRE, else NULL */
    void *md;         /* pcre2_match_data * for RE/NRE */
};

int matcher_init(struct matcher *m, enum matcher_type type, struct strv name, struct strv value,
                 struct err *e);
void matcher_fini(struct matcher *m);

/* Does the label value `v` (empty when the label is absent) satisfy m? */
bool matcher_matches(const struct matcher *m, struct strv v);
/* Does the series' sorted label set satisfy m? */
bool matcher_matches_labels(const struct matcher *m, const struct label *ls, size_t n);

/* Parse a series selector as the API's match[] takes it: `metric{a="b",c=~"d"}`,
 * `{a="b"}` or `metric`. Fills up to `cap` matchers in `out`, sets *n.
 * The caller runs matcher_fini() on each of the *n matchers. */
int matcher_parse_selector(const char *s, struct matcher *out, size_t cap, size_t *n,
                           struct err *e);

/* "=", "!=", "=~", "!~" */
const char *matcher_op(enum matcher_type t);

#endif
