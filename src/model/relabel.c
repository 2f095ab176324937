/* relabel.c: Prometheus' relabel_config parsed from YAML and applied to a
 * label set (see relabel.h for the semantics kept). In model/ because
 * producers and consumers of series alike use it: scraping (target and
 * metric relabelling), SNMP targets' metric relabelling, forwarding
 * (write_relabel_configs) and alerting (alert_relabel_configs).
 * The parse checks mirror Prometheus' relabel.Config.UnmarshalYAML; the
 * apply step mirrors its relabel() switch, case by case.
 * Invariant: a relabel_set never holds an empty value or a name twice.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/relabel.h"
#include "model/matcher.h"
#include "core/buf.h"
#include "core/yaml_tree.h"

#define OVECTOR_PAIRS 100 /* capture groups readable by a replacement */

static const struct {
    const char *name;
    enum relabel_action action;
} actions[] = {
    {"replace", RELABEL_REPLACE},     {"keep", RELABEL_KEEP},
    {"drop", RELABEL_DROP},           {"keepequal", RELABEL_KEEPEQUAL},
    {"dropequal", RELABEL_DROPEQUAL}, {"hashmod", RELABEL_HASHMOD},
    {"labelmap", RELABEL_LABELMAP},   {"labeldrop", RELABEL_LABELDROP},
    {"labelkeep", RELABEL_LABELKEEP}, {"lowercase", RELABEL_LOWERCASE},
    {"uppercase", RELABEL_UPPERCASE},
};

/* ---- regexes ---- */

/* Compile ^(?:src)$ as Go's regexp would read it: no dotall, $ only at the
 * end, invalid UTF-8 in a subject matched byte-wise rather than refused. */
static pcre2_code *compile_anchored(const char *src, char *why, size_t cap)
{
    struct buf pat;
    buf_init(&pat, 0);
    if (buf_puts(&pat, "^(?:") || buf_puts(&pat, src) || buf_puts(&pat, ")$")) {
        buf_fini(&pat);
        snprintf(why, cap, "out of memory");
        return NULL;
    }
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat.p, pat.len,
                                   PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_MATCH_INVALID_UTF, &ec,
                                   &off, NULL);
    buf_fini(&pat);
    if (re == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof msg);
        snprintf(why, cap, "%s", (char *)msg);
        return NULL;
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* the interpreter when JIT is unavailable */
    return re;
}

static bool valid_label_name(const char *s)
{
    return labels_valid_label_name(strv_c(s)) != 0;
}

/* Prometheus' relabelTarget: ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$,
 * a label name that may hold $1 / ${name} references. */
static bool valid_target_template(const char *s)
{
    static const char pat[] = "(?:(?:[a-zA-Z_]|\\$(?:\\{\\w+\\}|\\w+))+\\w*)+";
    char why[64];
    pcre2_code *re = compile_anchored(pat, why, sizeof why);
    if (re == NULL)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    bool ok = md && pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL) >= 0;
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return ok;
}

/* ---- parsing ---- */

static char *keep_str(struct relabel_config *c, const char *s)
{
    return arena_strndup(&c->strings, s, strlen(s));
}

static int oom(struct err *e)
{
    return ERR_SET(e, -ENOMEM, "relabel: out of memory");
}

static int parse_rule(struct relabel_config *c, const struct yaml_node *m, struct relabel_rule *r,
                      struct err *e)
{
    const char *action = "replace", *regex = "(.*)", *sep = ";", *target = "", *repl = "$1";
    const char *const *src = NULL;
    size_t nsrc = 0;
    int64_t modulus = 0;
    if (yaml_tree_kind(m) != YAML_TREE_MAP)
        return yaml_tree_err(m, TIDE_EINVAL, e, "expected a mapping (source_labels, action, ...)");
    if (yaml_tree_get_str(m, "action", &action, e) != 0 ||
        yaml_tree_get_strings(m, "source_labels", &src, &nsrc, e) != 0 ||
        yaml_tree_get_str(m, "separator", &sep, e) != 0 ||
        yaml_tree_get_str(m, "regex", &regex, e) != 0 ||
        yaml_tree_get_str(m, "target_label", &target, e) != 0 ||
        yaml_tree_get_str(m, "replacement", &repl, e) != 0 ||
        yaml_tree_get_int(m, "modulus", 0, INT64_MAX, &modulus, e) != 0 ||
        yaml_tree_check_keys(m, e) != 0)
        return e->code;
    const struct yaml_node *an = yaml_tree_get(m, "action");
    bool found = false;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
        if (strcasecmp(action, actions[i].name) == 0) {
            r->action = actions[i].action;
            found = true;
        }
    if (action[0] == 0)
        return yaml_tree_err(an, TIDE_EINVAL, e, "relabel action cannot be empty");
    if (!found)
        return yaml_tree_err(an, TIDE_EINVAL, e, "unknown relabel action \"%s\"", action);
    const char *aname = action;
    enum relabel_action a = r->action;
    const struct yaml_node *tn = yaml_tree_get(m, "target_label");
    const struct yaml_node *where_t = tn ? tn : m;
    for (size_t i = 0; i < nsrc; i++)
        if (!valid_label_name(src[i]))
            return yaml_tree_err(yaml_tree_item(yaml_tree_get(m, "source_labels"), i),
                                 TIDE_EINVAL, e, "\"%s\" is not a valid label name", src[i]);
    if (a == RELABEL_HASHMOD && modulus == 0)
        return yaml_tree_err(m, TIDE_EINVAL, e,
                             "relabel configuration for hashmod requires non-zero modulus");
    bool writes = a == RELABEL_REPLACE || a == RELABEL_HASHMOD || a == RELABEL_LOWERCASE ||
                  a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL;
    if (writes && target[0] == 0)
        return yaml_tree_err(m, TIDE_EINVAL, e,
                             "relabel configuration for %s action requires 'target_label' value",
                             aname);
    if (writes && a != RELABEL_HASHMOD && !valid_target_template(target))
        return yaml_tree_err(where_t, TIDE_EINVAL, e, "\"%s\" is invalid 'target_label' for %s action",
                             target, aname);
    if ((a == RELABEL_LOWERCASE || a == RELABEL_UPPERCASE || a == RELABEL_KEEPEQUAL ||
         a == RELABEL_DROPEQUAL || a == RELABEL_HASHMOD) &&
        !valid_label_name(target))
        return yaml_tree_err(where_t, TIDE_EINVAL, e, "\"%s\" is invalid 'target_label' for %s action",
                             target, aname);
    if ((a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) && strcmp(repl, "$1") != 0)
        return yaml_tree_err(yaml_tree_get(m, "replacement"), TIDE_EINVAL, e,
                             "'replacement' can not be set for %s action", aname);
    if ((a == RELABEL_KEEPEQUAL || a == RELABEL_DROPEQUAL) && strcmp(regex, "(.*)") != 0)
        return yaml_tree_err(yaml_tree_get(m, "regex"), TIDE_EINVAL, e,
                             "'regex' can not be set for %s action", aname);
    if (a == RELABEL_LABELMAP && !valid_target_template(repl))
        return yaml_tree_err(yaml_tree_get(m, "replacement"), TIDE_EINVAL, e,
                             "\"%s\" is invalid 'replacement' for %s action", repl, aname);
    if ((a == RELABEL_LABELDROP || a == RELABEL_LABELKEEP) &&
        (src != NULL || target[0] != 0 || modulus != 0 || strcmp(sep, ";") != 0 ||
         strcmp(repl, "$1") != 0))
        return yaml_tree_err(m, TIDE_EINVAL, e, "%s action requires only 'regex', and no other fields",
                             aname);
    char why[160];
    r->re = compile_anchored(regex, why, sizeof why);
    if (r->re == NULL)
        return yaml_tree_err(yaml_tree_get(m, "regex"), TIDE_EINVAL, e,
                             "invalid regular expression \"%.*s%s\": %s", MATCHER_RE_SHOWN, regex,
                             strlen(regex) > MATCHER_RE_SHOWN ? "..." : "", why);
    r->modulus = (uint64_t)modulus;
    r->separator = keep_str(c, sep);
    r->target_label = keep_str(c, target);
    r->replacement = keep_str(c, repl);
    r->nsource = nsrc;
    r->source_labels = nsrc ? arena_alloc(&c->strings, nsrc * sizeof *r->source_labels) : NULL;
    if (!r->separator || !r->target_label || !r->replacement || (nsrc && !r->source_labels))
        return oom(e);
    for (size_t i = 0; i < nsrc; i++) {
        r->source_labels[i] = keep_str(c, src[i]);
        if (r->source_labels[i] == NULL)
            return oom(e);
    }
    return 0;
}

int relabel_config_parse(const struct yaml_node *list, struct relabel_config *c, struct err *e)
{
    memset(c, 0, sizeof *c);
    arena_init(&c->strings, 0);
    if (yaml_tree_is_null(list))
        return 0;
    if (yaml_tree_expect(list, YAML_TREE_SEQ, e) != 0)
        return e->code;
    size_t n = yaml_tree_len(list);
    if (n == 0)
        return 0;
    c->rules = calloc(n, sizeof *c->rules);
    if (c->rules == NULL)
        return oom(e);
    for (size_t i = 0; i < n; i++) {
        c->n = i + 1; /* so fini frees a half-made rule's regex */
        int rc = parse_rule(c, yaml_tree_item(list, i), &c->rules[i], e);
        if (rc != 0) {
            relabel_config_fini(c);
            return rc;
        }
    }
    return 0;
}

void relabel_config_fini(struct relabel_config *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->rules[i].re)
            pcre2_code_free(c->rules[i].re);
    free(c->rules);
    arena_fini(&c->strings);
    memset(c, 0, sizeof *c);
}

/* ---- label sets ---- */

void relabel_set_init(struct relabel_set *s)
{
    memset(s, 0, sizeof *s);
    arena_init(&s->arena, 0);
}

void relabel_set_fini(struct relabel_set *s)
{
    free(s->v);
    arena_fini(&s->arena);
    if (s->md)
        pcre2_match_data_free(s->md);
    memset(s, 0, sizeof *s);
}

void relabel_set_reset(struct relabel_set *s)
{
    s->n = 0;
    arena_reset(&s->arena);
}

static ssize_t find(const struct relabel_set *s, struct strv name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strv_eq(s->v[i].name, name))
            return (ssize_t)i;
    return -1;
}

struct strv relabel_set_get(const struct relabel_set *s, struct strv name)
{
    ssize_t i = find(s, name);
    return i < 0 ? (struct strv){NULL, 0} : s->v[i].value;
}

void relabel_set_del(struct relabel_set *s, struct strv name)
{
    ssize_t i = find(s, name);
    if (i < 0)
        return;
    memmove(&s->v[i], &s->v[i + 1], (s->n - (size_t)i - 1) * sizeof *s->v);
    s->n--;
}

int relabel_set_put(struct relabel_set *s, struct strv name, struct strv value)
{
    if (value.n == 0) {
        relabel_set_del(s, name);
        return 0;
    }
    ssize_t i = find(s, name);
    if (i >= 0) {
        s->v[i].value = value;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct label *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct label){name, value};
    return 0;
}

void relabel_set_sort(struct relabel_set *s)
{
    labels_sort(s->v, s->n);
}

/* ---- applying ---- */

/* A string kept in the set's arena; {NULL,0} on -ENOMEM. */
static struct strv set_copy(struct relabel_set *s, const char *p, size_t n)
{
    char *d = arena_strndup(&s->arena, p ? p : "", n);
    return d ? (struct strv){d, n} : (struct strv){NULL, 0};
}

/* Match `val` against r's regex; the ovector when it matched, else NULL. */
static const PCRE2_SIZE *match(const struct relabel_rule *r, struct relabel_set *s,
                               struct strv val, int *ngroups)
{
    int rc = pcre2_match(r->re, (PCRE2_SPTR)(val.p ? val.p : ""), val.n, 0, 0, s->md, NULL);
    if (rc < 0)
        return NULL;
    *ngroups = rc == 0 ? OVECTOR_PAIRS : rc; /* 0: more groups than the ovector holds */
    return pcre2_get_ovector_pointer(s->md);
}

static bool word_char(unsigned char c)
{
    return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Go's Regexp.Expand of `tmpl` with the match `ov` (ngroups pairs) of
 * `src`, appended to dst. Names are [A-Za-z0-9_]+ (Go also takes Unicode
 * letters, which no label name holds); all digits is a group number. */
static int expand(struct buf *dst, const char *tmpl, const pcre2_code *re, struct strv src,
                  const PCRE2_SIZE *ov, int ngroups)
{
    const char *p = tmpl;
    while (*p) {
        const char *d = strchr(p, '$');
        if (d == NULL)
            return buf_puts(dst, p);
        if (buf_append(dst, p, (size_t)(d - p)))
            return -ENOMEM;
        p = d + 1;
        if (*p == '$') {
            if (buf_putc(dst, '$'))
                return -ENOMEM;
            p++;
            continue;
        }
        bool brace = *p == '{';
        const char *q = brace ? p + 1 : p;
        size_t len = 0;
        while (word_char((unsigned char)q[len]))
            len++;
        if (len == 0 || (brace && q[len] != '}')) {
            if (buf_putc(dst, '$')) /* malformed: the $ is text */
                return -ENOMEM;
            continue;
        }
        const char *rest = q + len + (brace ? 1 : 0);
        long num = 0;
        for (size_t i = 0; i < len; i++) {
            if (q[i] < '0' || q[i] > '9' || num >= 100000000) {
                num = -1;
                break;
            }
            num = num * 10 + (q[i] - '0');
        }
        if (num < 0) {
            char name[128];
            if (len < sizeof name) {
                memcpy(name, q, len);
                name[len] = 0;
                int g = pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
                num = g > 0 ? g : -1;
            }
        }
        if (num >= 0 && num < ngroups && ov[2 * num] != PCRE2_UNSET) {
            if (buf_append(dst, src.p + ov[2 * num], ov[2 * num + 1] - ov[2 * num]))
                return -ENOMEM;
        }
        p = rest;
    }
    return 0;
}

/* Expand into a string kept in the set's arena. */
static int expand_kept(struct relabel_set *s, struct buf *tmp, const char *tmpl,
                       const struct relabel_rule *r, struct strv src, const PCRE2_SIZE *ov,
                       int ngroups, struct strv *out)
{
    buf_reset(tmp);
    if (expand(tmp, tmpl, r->re, src, ov, ngroups) != 0)
        return -ENOMEM;
    *out = set_copy(s, tmp->p, tmp->len);
    return out->p ? 0 : -ENOMEM;
}

/* The source labels' values joined by the separator, in `tmp`. */
static int join(const struct relabel_rule *r, const struct relabel_set *s, struct buf *tmp)
{
    buf_reset(tmp);
    for (size_t i = 0; i < r->nsource; i++) {
        if (i > 0 && buf_puts(tmp, r->separator))
            return -ENOMEM;
        struct strv v = relabel_set_get(s, strv_c(r->source_labels[i]));
        if (v.n && buf_append(tmp, v.p, v.n))
            return -ENOMEM;
    }
    if (tmp->p == NULL && buf_reserve(tmp, 1))
        return -ENOMEM;
    return 0;
}

static uint64_t hashmod(struct strv v, uint64_t modulus)
{
    unsigned char h[16];
    relabel_md5(v.p, v.n, h);
    uint64_t x = 0;
    for (int i = 8; i < 16; i++)
        x = x << 8 | h[i];
    return x % modulus;
}

static int apply_rule(const struct relabel_rule *r, struct relabel_set *s, struct buf *tmp,
                      struct buf *tmp2, bool *keep)
{
    int rc = join(r, s, tmp);
    if (rc != 0)
        return rc;
    /* The joined value lives in the arena: tmp is reused below. */
    struct strv val = set_copy(s, tmp->p, tmp->len);
    if (val.p == NULL)
        return -ENOMEM;
    struct strv target = strv_c(r->target_label);
    int ng = 0;
    switch (r->action) {
    case RELABEL_DROP:
        if (match(r, s, val, &ng))
            *keep = false;
        return 0;
    case RELABEL_KEEP:
        if (!match(r, s, val, &ng))
            *keep = false;
        return 0;
    case RELABEL_KEEPEQUAL:
    case RELABEL_DROPEQUAL: {
        struct strv have = relabel_set_get(s, target);
        bool eq = have.n == val.n && (val.n == 0 || memcmp(have.p, val.p, val.n) == 0);
        if (eq == (r->action == RELABEL_DROPEQUAL))
            *keep = false;
        return 0;
    }
    case RELABEL_REPLACE: {
        const PCRE2_SIZE *ov = match(r, s, val, &ng);
        if (ov == NULL)
            return 0;
        struct strv name, res;
        if (expand_kept(s, tmp2, r->target_label, r, val, ov, ng, &name) != 0)
            return -ENOMEM;
        if (!labels_valid_label_name(name))
            return 0;
        if (expand_kept(s, tmp2, r->replacement, r, val, ov, ng, &res) != 0)
            return -ENOMEM;
        return relabel_set_put(s, name, res);
    }
    case RELABEL_LOWERCASE:
    case RELABEL_UPPERCASE: {
        char *d = (char *)val.p; /* the arena copy made above */
        for (size_t i = 0; i < val.n; i++)
            if (r->action == RELABEL_LOWERCASE && d[i] >= 'A' && d[i] <= 'Z')
                d[i] = (char)(d[i] - 'A' + 'a');
            else if (r->action == RELABEL_UPPERCASE && d[i] >= 'a' && d[i] <= 'z')
                d[i] = (char)(d[i] - 'a' + 'A');
        return relabel_set_put(s, target, val);
    }
    case RELABEL_HASHMOD: {
        char num[24];
        int n = snprintf(num, sizeof num, "%llu", (unsigned long long)hashmod(val, r->modulus));
        struct strv v = set_copy(s, num, (size_t)n);
        return v.p ? relabel_set_put(s, target, v) : -ENOMEM;
    }
    case RELABEL_LABELMAP:
    case RELABEL_LABELDROP:
    case RELABEL_LABELKEEP: {
        /* Over a sorted snapshot of the set as it was before this rule. */
        size_t n = s->n;
        struct label *snap = n ? malloc(n * sizeof *snap) : NULL;
        if (n && snap == NULL)
            return -ENOMEM;
        if (n)
            memcpy(snap, s->v, n * sizeof *snap);
        labels_sort(snap, n);
        rc = 0;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const PCRE2_SIZE *ov = match(r, s, snap[i].name, &ng);
            if (r->action == RELABEL_LABELDROP && ov)
                relabel_set_del(s, snap[i].name);
            else if (r->action == RELABEL_LABELKEEP && !ov)
                relabel_set_del(s, snap[i].name);
            else if (r->action == RELABEL_LABELMAP && ov) {
                struct strv name;
                rc = expand_kept(s, tmp2, r->replacement, r, snap[i].name, ov, ng, &name);
                if (rc == 0)
                    rc = relabel_set_put(s, name, snap[i].value);
            }
        }
        free(snap);
        return rc;
    }
    }
    return 0;
}

int relabel_apply(const struct relabel_config *c, struct relabel_set *s, bool *keep)
{
    *keep = true;
    if (c == NULL || c->n == 0)
        return 0;
    if (s->md == NULL) {
        s->md = pcre2_match_data_create(OVECTOR_PAIRS, NULL);
        if (s->md == NULL)
            return -ENOMEM;
    }
    struct buf tmp, tmp2;
    buf_init(&tmp, 0);
    buf_init(&tmp2, 0);
    int rc = 0;
    for (size_t i = 0; rc == 0 && *keep && i < c->n; i++)
        rc = apply_rule(&c->rules[i], s, &tmp, &tmp2, keep);
    buf_fini(&tmp);
    buf_fini(&tmp2);
    return rc;
}

/* ---- MD5 (RFC 1321), for hashmod ---- */

static uint32_t rol(uint32_t x, int c)
{
    return (x << c) | (x >> (32 - c));
}

static void md5_block(uint32_t h[4], const unsigned char *blk)
{
    static const int sh[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                               5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                               4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                               6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    /* floor(|sin(i + 1)| * 2^32) */
    static const uint32_t k[64] = {
            0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
            0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
            0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
            0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
            0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
            0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
            0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
            0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
            0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
            0xeb86d391};
    uint32_t m[16];
    for (int i = 0; i < 16; i++)
        m[i] = (uint32_t)blk[4 * i] | (uint32_t)blk[4 * i + 1] << 8 |
               (uint32_t)blk[4 * i + 2] << 16 | (uint32_t)blk[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16) {
            f = (b & c) | (~b & d);
            g = i;
        } else if (i < 32) {
            f = (d & b) | (~d & c);
            g = (5 * i + 1) % 16;
        } else if (i < 48) {
            f = b ^ c ^ d;
            g = (3 * i + 5) % 16;
        } else {
            f = c ^ (b | ~d);
            g = (7 * i) % 16;
        }
        uint32_t t = d;
        d = c;
        c = b;
        b = b + rol(a + f + k[i] + m[g], sh[i]);
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void relabel_md5(const void *p, size_t n, unsigned char out[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const unsigned char *s = p;
    size_t left = n;
    while (left >= 64) {
        md5_block(h, s);
        s += 64;
        left -= 64;
    }
    unsigned char tail[128] = {0};
    if (left)
        memcpy(tail, s, left);
    tail[left] = 0x80;
    size_t tlen = left < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 8 + i] = (unsigned char)(bits >> (8 * i));
    md5_block(h, tail);
    if (tlen == 128)
        md5_block(h, tail + 64);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(h[i] >> (8 * j));
}
