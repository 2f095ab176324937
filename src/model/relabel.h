/* relabel.h: Prometheus' relabel_config (relabel_configs,
 * metric_relabel_configs, write_relabel_configs) with its exact semantics:
 * a list of rules applied in order to one label set, each either rewriting
 * it or dropping it whole.
 *
 *   - action (case-insensitive, default replace): replace, keep, drop,
 *     keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep,
 *     lowercase, uppercase;
 *   - source_labels joined with separator (default ";"); an absent label
 *     reads as "";
 *   - regex (default "(.*)") fully anchored, ^(?:regex)$, RE2 flags (no
 *     dotall, $ only at the very end), run by PCRE2;
 *   - replacement (default "$1") expanded as Go's Regexp.Expand does:
 *     $1, ${1}, $name, ${name}, $$; a reference to a group that does not
 *     exist or did not match is "", and "$1x" names group "1x";
 *   - replace: no match leaves the set alone; the expanded target_label
 *     must be a valid label name, else nothing happens; an empty result
 *     removes the target label;
 *   - hashmod: the last 8 bytes of MD5(joined values), big-endian, modulo
 *     `modulus`, written in decimal;
 *   - labelmap: every label whose name matches is copied under the name
 *     the replacement expands to (the original stays);
 *   - a label set to "" is removed, as Prometheus' labels.Builder does.
 * The configuration checks are Prometheus' (target_label required and valid
 * for the actions that write one, modulus for hashmod, labeldrop/labelkeep
 * taking only regex, keepequal/dropequal taking no regex or replacement),
 * with the file position of the key at fault.
 *
 * Ownership: a struct relabel_config owns its rules, their strings and the
 * compiled regexes; it is read-only once parsed, so any number of threads
 * may relabel with it at once, each with its own struct relabel_set.
 */
#ifndef TIDE_MODEL_RELABEL_H
#define TIDE_MODEL_RELABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/labels.h"

struct yaml_node;

enum relabel_action {
    RELABEL_REPLACE = 0,
    RELABEL_KEEP,
    RELABEL_DROP,
    RELABEL_KEEPEQUAL,
    RELABEL_DROPEQUAL,
    RELABEL_HASHMOD,
    RELABEL_LABELMAP,
    RELABEL_LABELDROP,
    RELABEL_LABELKEEP,
    RELABEL_LOWERCASE,
    RELABEL_UPPERCASE,
};

/* One rule, as parsed (strings owned by the config). */
struct relabel_rule {
    enum relabel_action action;
    const char **source_labels; /* nsource names */
    size_t nsource;
    const char *separator;      /* default ";" */
    const char *target_label;   /* "" when not given */
    const char *replacement;    /* default "$1" */
    uint64_t modulus;           /* hashmod only; 0 = not given */
    void *re;                   /* pcre2_code *: ^(?:regex)$ */
};

struct relabel_config {
    struct relabel_rule *rules;
    size_t n;
    struct arena strings; /* the rules' strings and arrays */
};

/* A label set being relabelled: unsorted, names unique, no empty values.
 * Strings are borrowed from whoever set them (they must outlive the set's
 * use) or copied into the set's arena by the rules. Reuse one set per
 * thread: relabel_set_reset() keeps its memory. */
struct relabel_set {
    struct label *v;
    size_t n, cap;
    struct arena arena; /* strings the rules made */
    void *md;           /* pcre2_match_data *, made on first use */
};

/* Parse a relabel_configs list (NULL or null = no rules) into `c`, which
 * is zeroed first. Unknown keys are refused. 0, or TIDE_EINVAL /
 * TIDE_ENOTFOUND / -ENOMEM with the node's line:col in `e`; `c` is then
 * empty (nothing to free, though relabel_config_fini() is harmless). */
int relabel_config_parse(const struct yaml_node *list, struct relabel_config *c, struct err *e);
/* Free the rules. A zeroed config is fine. */
void relabel_config_fini(struct relabel_config *c);

void relabel_set_init(struct relabel_set *s);
void relabel_set_fini(struct relabel_set *s);
/* Empty the set (its arena too: strings it made are gone). */
void relabel_set_reset(struct relabel_set *s);
/* Set name=value (borrowed); an empty value removes the name. 0 or -ENOMEM. */
int relabel_set_put(struct relabel_set *s, struct strv name, struct strv value);
/* The value of `name`, {NULL,0} when absent. */
struct strv relabel_set_get(const struct relabel_set *s, struct strv name);
/* Remove `name` when present. */
void relabel_set_del(struct relabel_set *s, struct strv name);
/* Sort the set by name (for handing to a batch or comparing). */
void relabel_set_sort(struct relabel_set *s);

/* Apply every rule of `c` in order to `s`. *keep is false when a rule
 * dropped the set (s is then partly rewritten; ignore it). 0 or -ENOMEM. */
int relabel_apply(const struct relabel_config *c, struct relabel_set *s, bool *keep);

/* MD5 of p[0..n) into out (RFC 1321), for hashmod. */
void relabel_md5(const void *p, size_t n, unsigned char out[16]);

#endif
