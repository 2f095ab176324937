/* retention_rules.c: the retention policy: reading `tiers:`,
 * `retention_rules:` and `buckets:` from the configuration into a struct
 * storage_policy, and deciding which rule a series falls under.
 *
 * Rules are tried in order (buckets first, then retention_rules, as
 * written), the first whose matchers all accept the series' labels wins, and
 * a series no rule takes keeps storage_opts.retention_ms and the tiers' own
 * retentions. A bucket NAME is the rule {bucket="NAME"}: /api/v2/write
 * ?bucket=NAME adds that label (api/write.c), the InfluxDB 2 workflow.
 * Retention itself is applied by retention.c; this file only answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/yaml_tree.h"
#include "storage/engine.h"

#define DAY_MS 86400000LL

void storage_policy_default(struct storage_policy *out)
{
    memset(out, 0, sizeof *out);
    out->tiers[0] = (struct storage_tier_spec){"5m", 300000, 365 * DAY_MS};
    out->tiers[1] = (struct storage_tier_spec){"1h", 3600000, 5 * 365 * DAY_MS};
    out->ntiers = 2;
}

void storage_policy_fini(struct storage_policy *p)
{
    for (size_t i = 0; i < p->nrules; i++) {
        struct storage_retention_rule *r = &p->rules[i];
        for (size_t j = 0; j < r->nm; j++)
            matcher_fini(&r->m[j]);
        free(r->m);
        free(r->bucket);
        free(r->selector);
    }
    free(p->rules);
    memset(p, 0, sizeof *p);
}

const struct storage_policy *storage_get_policy(struct storage *s)
{
    return s ? s->o.policy : NULL;
}

const struct storage_retention_rule *storage_policy_bucket(const struct storage_policy *p,
                                                           const char *name)
{
    for (size_t i = 0; p && i < p->nrules; i++)
        if (p->rules[i].bucket && strcmp(p->rules[i].bucket, name) == 0)
            return &p->rules[i];
    return NULL;
}

static int parse_tiers(const struct yaml_node *n, int64_t partition_ms, struct storage_policy *p,
                       struct err *e)
{
    if (n == NULL)
        return 0; /* the defaults stay */
    p->ntiers = 0;
    int rc = yaml_tree_expect(n, YAML_TREE_SEQ, e);
    if (rc)
        return rc;
    size_t len = yaml_tree_len(n);
    if (len > STORAGE_MAX_TIERS)
        return yaml_tree_err(n, TIDE_ELIMIT, e, "at most %d tiers", STORAGE_MAX_TIERS);
    for (size_t i = 0; i < len; i++) {
        const struct yaml_node *t = yaml_tree_item(n, i);
        struct storage_tier_spec *ts = &p->tiers[i];
        const char *name = NULL;
        int64_t res = 0, ret = 0;
        if ((rc = yaml_tree_expect(t, YAML_TREE_MAP, e)) != 0 ||
            (rc = yaml_tree_require(t, "resolution", &(const struct yaml_node *){NULL}, e)) != 0 ||
            (rc = yaml_tree_get_duration(t, "resolution", &res, e)) != 0 ||
            (rc = yaml_tree_get_duration(t, "retention", &ret, e)) != 0 ||
            (rc = yaml_tree_get_str(t, "name", &name, e)) != 0 ||
            (rc = yaml_tree_check_keys(t, e)) != 0)
            return rc;
        const struct yaml_node *rn = yaml_tree_get(t, "resolution");
        if (res < 1000 || partition_ms % res != 0)
            return yaml_tree_err(rn, TIDE_EINVAL, e,
                                 "a tier's resolution must be at least 1s and divide the "
                                 "partition duration (%" PRId64 " ms)",
                                 partition_ms);
        if (i > 0 && (res <= p->tiers[i - 1].resolution_ms || res % p->tiers[i - 1].resolution_ms))
            return yaml_tree_err(rn, TIDE_EINVAL, e,
                                 "tiers go from fine to coarse: each resolution a multiple of "
                                 "the one before");
        char auto_name[32];
        if (name == NULL || name[0] == 0) {
            if (res % 86400000 == 0)
                snprintf(auto_name, sizeof auto_name, "%" PRId64 "d", res / 86400000);
            else if (res % 3600000 == 0)
                snprintf(auto_name, sizeof auto_name, "%" PRId64 "h", res / 3600000);
            else if (res % 60000 == 0)
                snprintf(auto_name, sizeof auto_name, "%" PRId64 "m", res / 60000);
            else
                snprintf(auto_name, sizeof auto_name, "%" PRId64 "s", res / 1000);
            name = auto_name;
        }
        bool plain = true;
        for (const char *q = name; *q; q++)
            plain &= (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                     (*q >= '0' && *q <= '9') || *q == '_' || *q == '-' || *q == '.';
        if (!plain || strlen(name) >= sizeof ts->name || strcmp(name, "raw") == 0 ||
            strcmp(name, "auto") == 0)
            return yaml_tree_err(yaml_tree_get(t, "name"), TIDE_EINVAL, e,
                                 "a tier name is 1 to 15 letters, digits, _ - or ., "
                                 "and not \"raw\" or \"auto\"");
        memcpy(ts->name, name, strlen(name) + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->tiers[j].name, ts->name) == 0)
                return yaml_tree_err(t, TIDE_EINVAL, e, "two tiers named \"%s\"", ts->name);
        ts->resolution_ms = res;
        ts->retention_ms = ret;
        p->ntiers = i + 1;
    }
    return 0;
}

/* `tiers: {5m: 90d, 1h: 0}` of a rule or bucket. */
static int parse_rule_tiers(const struct yaml_node *n, const struct storage_policy *p,
                            struct storage_retention_rule *r, struct err *e)
{
    for (size_t i = 0; i < STORAGE_MAX_TIERS; i++)
        r->tier_retention_ms[i] = -1;
    if (n == NULL || yaml_tree_is_null(n))
        return 0;
    int rc = yaml_tree_expect(n, YAML_TREE_MAP, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < yaml_tree_len(n); i++) {
        const struct yaml_node *v;
        const struct yaml_node *k = yaml_tree_pair(n, i, &v);
        const char *name = yaml_tree_text(k);
        size_t t = 0;
        while (t < p->ntiers && strcmp(p->tiers[t].name, name) != 0)
            t++;
        if (t == p->ntiers)
            return yaml_tree_err(k, TIDE_EINVAL, e, "no tier named \"%s\" (see tiers:)", name);
        if ((rc = yaml_tree_duration(v, &r->tier_retention_ms[t], e)) != 0)
            return rc;
    }
    return 0;
}

static int push_rule(struct storage_policy *p, const char *selector, const char *bucket,
                     const struct yaml_node *at, struct storage_retention_rule **out,
                     struct err *e)
{
    struct storage_retention_rule *v = realloc(p->rules, (p->nrules + 1) * sizeof *v);
    if (!v)
        return ERR_SET(e, -ENOMEM, "out of memory");
    p->rules = v;
    struct storage_retention_rule *r = &v[p->nrules];
    memset(r, 0, sizeof *r);
    r->m = calloc(32, sizeof *r->m);
    r->selector = strdup(selector);
    r->bucket = bucket ? strdup(bucket) : NULL;
    p->nrules++;
    if (!r->m || !r->selector || (bucket && !r->bucket))
        return ERR_SET(e, -ENOMEM, "out of memory");
    struct err pe = {0};
    int rc = matcher_parse_selector(selector, r->m, 32, &r->nm, &pe);
    if (rc)
        return yaml_tree_err(at, TIDE_EINVAL, e, "bad selector %s: %s", selector, pe.msg);
    *out = r;
    return 0;
}

static int parse_rules(const struct yaml_node *n, struct storage_policy *p, struct err *e)
{
    int rc = yaml_tree_expect(n, YAML_TREE_SEQ, e);
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(n); i++) {
        const struct yaml_node *t = yaml_tree_item(n, i);
        const char *sel = NULL;
        int64_t ret = 0;
        struct storage_retention_rule *r;
        if ((rc = yaml_tree_expect(t, YAML_TREE_MAP, e)) != 0 ||
            (rc = yaml_tree_require_str(t, "match", &sel, e)) != 0 ||
            (rc = yaml_tree_require(t, "retention", &(const struct yaml_node *){NULL}, e)) != 0 ||
            (rc = yaml_tree_get_duration(t, "retention", &ret, e)) != 0 ||
            (rc = push_rule(p, sel, NULL, yaml_tree_get(t, "match"), &r, e)) != 0)
            return rc;
        r->retention_ms = ret;
        if ((rc = parse_rule_tiers(yaml_tree_get(t, "tiers"), p, r, e)) != 0 ||
            (rc = yaml_tree_check_keys(t, e)) != 0)
            return rc;
    }
    return rc;
}

static bool bucket_name_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

static int parse_buckets(const struct yaml_node *n, struct storage_policy *p, struct err *e)
{
    int rc = yaml_tree_expect(n, YAML_TREE_MAP, e);
    for (size_t i = 0; rc == 0 && i < yaml_tree_len(n); i++) {
        const struct yaml_node *v;
        const struct yaml_node *k = yaml_tree_pair(n, i, &v);
        const char *name = yaml_tree_text(k);
        if (!bucket_name_ok(name))
            return yaml_tree_err(k, TIDE_EINVAL, e, "a bucket name has no quote, backslash or "
                                                    "control character and is not empty");
        char sel[512];
        if (snprintf(sel, sizeof sel, "{bucket=\"%s\"}", name) >= (int)sizeof sel)
            return yaml_tree_err(k, TIDE_EINVAL, e, "bucket name too long");
        struct storage_retention_rule *r;
        if ((rc = push_rule(p, sel, name, k, &r, e)) != 0)
            return rc;
        if (yaml_tree_kind(v) == YAML_TREE_MAP) {
            rc = yaml_tree_require(v, "retention", &(const struct yaml_node *){NULL}, e);
            rc = rc ? rc : yaml_tree_get_duration(v, "retention", &r->retention_ms, e);
            rc = rc ? rc : parse_rule_tiers(yaml_tree_get(v, "tiers"), p, r, e);
            rc = rc ? rc : yaml_tree_check_keys(v, e);
        } else {
            rc = yaml_tree_duration(v, &r->retention_ms, e);
            for (size_t t = 0; t < STORAGE_MAX_TIERS; t++)
                r->tier_retention_ms[t] = -1;
        }
    }
    return rc;
}

int storage_policy_parse(const struct yaml_node *tiers, const struct yaml_node *rules,
                         const struct yaml_node *buckets, int64_t partition_ms,
                         struct storage_policy *out, struct err *e)
{
    storage_policy_default(out);
    if (partition_ms <= 0)
        partition_ms = DAY_MS;
    int rc = parse_tiers(tiers, partition_ms, out, e);
    if (rc == 0 && buckets)
        rc = parse_buckets(buckets, out, e);
    if (rc == 0 && rules)
        rc = parse_rules(rules, out, e);
    if (rc)
        storage_policy_fini(out);
    return rc;
}

/* matcher_matches_labels() on sr's interned labels, with no array built. */
static bool series_matches(const struct storage *s, const struct matcher *m,
                           const struct series *sr)
{
    struct strv name = strv_c(m->name);
    for (uint32_t i = 0; i < sr->nlabels; i++) {
        struct label l = series_label(&s->intern, sr, i);
        if (strv_eq(l.name, name))
            return matcher_matches(m, l.value);
    }
    return matcher_matches(m, labels_get(NULL, 0, name));
}

int64_t policy_rule_of(const struct storage *s, const struct series *sr)
{
    const struct storage_policy *p = s->o.policy;
    for (size_t i = 0; p && i < p->nrules; i++) {
        const struct storage_retention_rule *r = &p->rules[i];
        size_t j = 0;
        while (j < r->nm && series_matches(s, &r->m[j], sr))
            j++;
        if (j == r->nm)
            return (int64_t)i;
    }
    return -1;
}

int64_t policy_retention(const struct storage *s, int64_t rule, int tier)
{
    const struct storage_policy *p = s->o.policy;
    if (tier < 0) /* raw */
        return rule >= 0 ? p->rules[rule].retention_ms : s->o.retention_ms;
    if (rule >= 0 && p->rules[rule].tier_retention_ms[tier] >= 0)
        return p->rules[rule].tier_retention_ms[tier];
    return p->tiers[tier].retention_ms;
}

int64_t policy_max_retention(const struct storage *s, int tier)
{
    const struct storage_policy *p = s->o.policy;
    int64_t mx = tier < 0 ? s->o.retention_ms : p->tiers[tier].retention_ms;
    if (mx == 0)
        return 0;
    for (size_t i = 0; p && i < p->nrules; i++) {
        int64_t r = policy_retention(s, (int64_t)i, tier);
        if (r == 0)
            return 0;
        mx = r > mx ? r : mx;
    }
    return mx;
}

int64_t policy_min_retention(const struct storage *s, int tier)
{
    const struct storage_policy *p = s->o.policy;
    int64_t mn = tier < 0 ? s->o.retention_ms : p->tiers[tier].retention_ms;
    for (size_t i = 0; p && i < p->nrules; i++) {
        int64_t r = policy_retention(s, (int64_t)i, tier);
        if (r > 0 && (mn == 0 || r < mn))
            mn = r;
    }
    return mn;
}
