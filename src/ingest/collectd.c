/* collectd.c: collectd's write_http JSON and PUTVAL formats to a batch
 * (ingest/; see collectd.h for the mapping). Both readers fill one
 * `struct vlist` per value list and hand it to emit(), which applies
 * collectd_exporter's naming, so the two formats give the same series.
 * Invariant: nothing is read at or past `end`; the input needs no NUL.
 */
#include "ingest/collectd.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ingest/expfmt.h"
#include "ingest/jsontok.h"

enum ds_type { DS_GAUGE, DS_COUNTER, DS_DERIVE, DS_ABSOLUTE };

/* One value list, as both formats describe it. Strings borrow. */
struct vlist {
    struct strv host, plugin, plugin_instance, type, type_instance;
    int64_t t_ms;
    size_t nvalues, ndsnames, ndstypes;
    double values[COLLECTD_MAX_VALUES];
    bool unknown[COLLECTD_MAX_VALUES]; /* null / U */
    struct strv dsnames[COLLECTD_MAX_VALUES];
    enum ds_type dstypes[COLLECTD_MAX_VALUES];
};

/* ---- collectd's common types (types.db), for PUTVAL ---- */

#define G DS_GAUGE
#define D DS_DERIVE
static const struct {
    const char *type;
    const char *ds[4]; /* NULL-terminated data source names */
    enum ds_type t;    /* all data sources of a type share it here */
} types[] = {
    {"absolute", {"value"}, DS_ABSOLUTE},
    {"bytes", {"value"}, G},
    {"contextswitch", {"value"}, D},
    {"count", {"value"}, G},
    {"counter", {"value"}, DS_COUNTER},
    {"cpu", {"value"}, D},
    {"current", {"value"}, G},
    {"derive", {"value"}, D},
    {"df_complex", {"value"}, G},
    {"df_inodes", {"value"}, G},
    {"disk_io_time", {"io_time", "weighted_io_time"}, D},
    {"disk_merged", {"read", "write"}, D},
    {"disk_octets", {"read", "write"}, D},
    {"disk_ops", {"read", "write"}, D},
    {"disk_time", {"read", "write"}, D},
    {"entropy", {"value"}, G},
    {"fork_rate", {"value"}, D},
    {"frequency", {"value"}, G},
    {"gauge", {"value"}, G},
    {"if_dropped", {"rx", "tx"}, D},
    {"if_errors", {"rx", "tx"}, D},
    {"if_octets", {"rx", "tx"}, D},
    {"if_packets", {"rx", "tx"}, D},
    {"irq", {"value"}, D},
    {"load", {"shortterm", "midterm", "longterm"}, G},
    {"memory", {"value"}, G},
    {"pending_operations", {"value"}, G},
    {"percent", {"value"}, G},
    {"percent_bytes", {"value"}, G},
    {"percent_inodes", {"value"}, G},
    {"ping", {"value"}, G},
    {"ping_droprate", {"value"}, G},
    {"ping_stddev", {"value"}, G},
    {"power", {"value"}, G},
    {"ps_code", {"value"}, G},
    {"ps_count", {"processes", "threads"}, G},
    {"ps_cputime", {"user", "syst"}, D},
    {"ps_data", {"value"}, G},
    {"ps_rss", {"value"}, G},
    {"ps_stacksize", {"value"}, G},
    {"ps_state", {"value"}, G},
    {"ps_vm", {"value"}, G},
    {"queue_length", {"value"}, G},
    {"swap", {"value"}, G},
    {"swap_io", {"value"}, D},
    {"tcp_connections", {"value"}, G},
    {"temperature", {"value"}, G},
    {"uptime", {"value"}, G},
    {"users", {"value"}, G},
    {"vmpage_action", {"value"}, D},
    {"vmpage_faults", {"minflt", "majflt"}, D},
    {"vmpage_io", {"in", "out"}, D},
    {"vmpage_number", {"value"}, G},
    {"voltage", {"value"}, G},
};
#undef G
#undef D

static const char *const index_names[] = {"0", "1", "2",  "3",  "4",  "5",  "6",  "7",
                                          "8", "9", "10", "11", "12", "13", "14", "15"};

/* Data source names and types for a PUTVAL list of vl->nvalues values.
 * false when the list is longer than any name we can give. */
static bool lookup_types(struct vlist *vl)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (!strv_eq_c(vl->type, types[i].type))
            continue;
        size_t nds = 0;
        while (nds < 4 && types[i].ds[nds])
            nds++;
        if (nds != vl->nvalues)
            break; /* not the shape we know: fall back */
        for (size_t j = 0; j < nds; j++) {
            vl->dsnames[j] = strv_c(types[i].ds[j]);
            vl->dstypes[j] = types[i].t;
        }
        vl->ndsnames = vl->ndstypes = nds;
        return true;
    }
    if (vl->nvalues > sizeof index_names / sizeof index_names[0])
        return false;
    for (size_t j = 0; j < vl->nvalues; j++) {
        vl->dsnames[j] = vl->nvalues == 1 ? STRV_LIT("value") : strv_c(index_names[j]);
        vl->dstypes[j] = DS_GAUGE;
    }
    vl->ndsnames = vl->ndstypes = vl->nvalues;
    return true;
}

/* ---- the series of one value list ---- */

static bool name_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == ':';
}

/* Append s to buf, characters outside [a-zA-Z0-9_:] (and ':' too for a
 * label name) as '_'. */
static void put_clean(char *buf, size_t *n, size_t cap, struct strv s, bool label)
{
    for (size_t i = 0; i < s.n && *n < cap; i++) {
        char c = s.p[i];
        buf[(*n)++] = name_ok(c) && !(label && c == ':') ? c : '_';
    }
}

static int emit(const struct vlist *vl, struct batch *b, struct err *e)
{
    char name[512];
    char lname[256];
    size_t ln = 0;
    if (vl->plugin.n > 0 && (vl->plugin.p[0] >= '0' && vl->plugin.p[0] <= '9'))
        lname[ln++] = '_';
    put_clean(lname, &ln, sizeof lname, vl->plugin, true);
    struct strv plugin_label = {NULL, 0};
    if (ln > 0) {
        plugin_label.p = batch_strdup(b, lname, ln);
        if (plugin_label.p == NULL)
            return -ENOMEM;
        plugin_label.n = ln;
    }
    for (size_t i = 0; i < vl->nvalues; i++) {
        if (vl->unknown[i])
            continue;
        size_t n = 0;
        put_clean(name, &n, sizeof name, STRV_LIT("collectd_"), false);
        if (!strv_eq(vl->plugin, vl->type)) {
            put_clean(name, &n, sizeof name, vl->plugin, false);
            put_clean(name, &n, sizeof name, STRV_LIT("_"), false);
        }
        put_clean(name, &n, sizeof name, vl->type, false);
        if (!strv_eq_c(vl->dsnames[i], "value")) {
            put_clean(name, &n, sizeof name, STRV_LIT("_"), false);
            put_clean(name, &n, sizeof name, vl->dsnames[i], false);
        }
        bool counter = vl->dstypes[i] == DS_COUNTER || vl->dstypes[i] == DS_DERIVE;
        if (counter)
            put_clean(name, &n, sizeof name, STRV_LIT("_total"), false);
        if (n == sizeof name)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "metric name too long");
        char *nm = batch_strdup(b, name, n);
        if (nm == NULL)
            return -ENOMEM;
        int rc = batch_begin_series(b);
        rc = rc ? rc : batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME), (struct strv){nm, n});
        rc = rc ? rc : batch_add_label(b, STRV_LIT("instance"), vl->host);
        if (rc == 0 && vl->plugin_instance.n > 0) {
            rc = batch_add_label(b, plugin_label, vl->plugin_instance);
            if (rc == 0 && vl->type_instance.n > 0)
                rc = batch_add_label(b, STRV_LIT("type"), vl->type_instance);
        } else if (rc == 0 && vl->type_instance.n > 0) {
            rc = batch_add_label(b, plugin_label, vl->type_instance);
        }
        rc = rc ? rc : batch_add_sample(b, vl->t_ms, vl->values[i]);
        if (rc != 0)
            return rc;
        rc = batch_end_series_checked(b, e);
        if (rc != 0)
            return rc;
        struct batch_meta m = {.family = {nm, n},
                               .type = counter ? METRIC_TYPE_COUNTER : METRIC_TYPE_GAUGE};
        rc = batch_add_meta(b, &m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Check a value list and emit it; a refusal is described in `e`. A list
 * that fails part way keeps the series it already emitted. */
static int finish(struct vlist *vl, struct batch *b, struct err *e)
{
    if (vl->nvalues == 0)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "no values");
    if (vl->ndstypes != vl->nvalues)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%zu values but %zu data source type(s)",
                          vl->nvalues, vl->ndstypes);
    if (vl->ndsnames != vl->nvalues)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%zu values but %zu data source name(s)",
                          vl->nvalues, vl->ndsnames);
    if (vl->plugin.n == 0 || vl->type.n == 0)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "plugin and type are required");
    return emit(vl, b, e);
}

/* Report `e` at `line`; -ENOMEM passes through. */
static int report(struct ingest_report *r, int rc, struct err *e, int line)
{
    if (rc == -ENOMEM)
        return rc;
    struct err x = *e;
    char msg[sizeof x.msg];
    snprintf(msg, sizeof msg, "line %d: %.*s", line, (int)sizeof msg - 24, e->msg);
    memcpy(x.msg, msg, sizeof msg);
    x.line = line;
    x.col = 0;
    if (r)
        ingest_report_bad(r, &x);
    return 0;
}

/* ---- Format "Command": PUTVAL lines ---- */

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* The next blank-separated word, or a quoted string (\" and \\ escapes
 * kept as written; identifiers rarely have them). */
static struct strv word(const char **pp, const char *end, bool *quoted)
{
    const char *p = skip_blanks(*pp, end);
    *quoted = p < end && *p == '"';
    const char *s = p;
    if (*quoted) {
        s = ++p;
        while (p < end && *p != '"') {
            if (*p == '\\' && p + 1 < end)
                p++;
            p++;
        }
        struct strv w = {s, (size_t)(p - s)};
        *pp = p < end ? p + 1 : p;
        return w;
    }
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    *pp = p;
    return (struct strv){s, (size_t)(p - s)};
}

/* Split at the first '-' of s into a and b (b empty when none). */
static void split_dash(struct strv s, struct strv *a, struct strv *b)
{
    const char *d = memchr(s.p, '-', s.n);
    if (d == NULL) {
        *a = s;
        *b = (struct strv){s.p + s.n, 0};
        return;
    }
    *a = (struct strv){s.p, (size_t)(d - s.p)};
    *b = (struct strv){d + 1, s.n - (size_t)(d - s.p) - 1};
}

static int putval_line(const char *p, const char *end, const struct collectd_opts *o,
                       struct batch *b, struct err *e)
{
    bool q;
    struct strv cmd = word(&p, end, &q);
    if (!strv_eq_c(cmd, "PUTVAL"))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected PUTVAL, got \"%.*s\"",
                          (int)(cmd.n > 32 ? 32 : cmd.n), cmd.p);
    struct strv id = word(&p, end, &q);
    const char *s1 = memchr(id.p, '/', id.n);
    const char *s2 = s1 ? memchr(s1 + 1, '/', (size_t)(id.p + id.n - s1 - 1)) : NULL;
    if (s1 == NULL || s2 == NULL || s1 == id.p)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                          "identifier must be host/plugin[-instance]/type[-instance]");
    struct vlist vl = {.host = {id.p, (size_t)(s1 - id.p)}};
    split_dash((struct strv){s1 + 1, (size_t)(s2 - s1 - 1)}, &vl.plugin, &vl.plugin_instance);
    split_dash((struct strv){s2 + 1, (size_t)(id.p + id.n - s2 - 1)}, &vl.type, &vl.type_instance);
    bool any = false;
    for (;;) {
        struct strv w = word(&p, end, &q);
        if (w.n == 0)
            break;
        if (memchr(w.p, '=', w.n) != NULL)
            continue; /* interval=10.000, meta: nothing to keep */
        if (any)      /* several value sets: each is its own value list */
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                              "more than one time:values set (send one per PUTVAL)");
        any = true;
        const char *c = memchr(w.p, ':', w.n);
        if (c == NULL)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0,
                              "values must be time:value[:value...]");
        struct strv t = {w.p, (size_t)(c - w.p)};
        if (strv_eq_c(t, "N")) {
            vl.t_ms = o->now_ms;
        } else {
            double ts;
            if (expfmt_parse_float(t.p, t.n, &ts) != 0 || !isfinite(ts))
                return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "bad time \"%.*s\"",
                                  (int)(t.n > 32 ? 32 : t.n), t.p);
            vl.t_ms = llround(ts * 1000.0);
        }
        const char *v = c + 1, *wend = w.p + w.n;
        while (v <= wend) {
            const char *vc = memchr(v, ':', (size_t)(wend - v));
            const char *ve = vc ? vc : wend;
            if (vl.nvalues == COLLECTD_MAX_VALUES)
                return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "more than %d values",
                                  COLLECTD_MAX_VALUES);
            size_t k = vl.nvalues++;
            if (ve - v == 1 && *v == 'U') {
                vl.unknown[k] = true;
            } else if (expfmt_parse_float(v, (size_t)(ve - v), &vl.values[k]) != 0) {
                return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "bad value \"%.*s\"",
                                  (int)(ve - v > 32 ? 32 : ve - v), v);
            }
            v = ve + 1;
        }
    }
    if (!any)
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "no time:values");
    if (!lookup_types(&vl))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%zu values of unknown type \"%.*s\"",
                          vl.nvalues, (int)(vl.type.n > 32 ? 32 : vl.type.n), vl.type.p);
    return finish(&vl, b, e);
}

static int parse_putval(const char *p, const char *end, const struct collectd_opts *o,
                        struct batch *b, struct ingest_report *r)
{
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        const char *s = skip_blanks(p, le);
        const char *t = le;
        if (t > s && t[-1] == '\r')
            t--;
        p = nl ? nl + 1 : end;
        if (s == t || *s == '#') {
            if (r)
                r->lines_ok++;
            continue;
        }
        struct err e = {0};
        int rc = putval_line(s, t, o, b, &e);
        if (rc == 0) {
            if (r)
                r->lines_ok++;
            continue;
        }
        batch_abort_series(b);
        rc = report(r, rc, &e, line);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- Format "JSON" ---- */

struct jcur {
    const char *p, *end;
    const char *lp; /* position up to which `line` is counted */
    int line;
    struct batch *b;
    const char *why;
};

static int line_at(struct jcur *c, const char *at)
{
    while (c->lp < at) {
        if (*c->lp == '\n')
            c->line++;
        c->lp++;
    }
    return c->line;
}

static bool expect(struct jcur *c, char ch)
{
    c->p = jsontok_ws(c->p, c->end);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A JSON array of numbers or null into vl->values. */
static int j_values(struct jcur *c, struct vlist *vl, struct err *e)
{
    if (!expect(c, '['))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "\"values\" must be an array");
    if (expect(c, ']'))
        return 0;
    do {
        c->p = jsontok_ws(c->p, c->end);
        if (vl->nvalues == COLLECTD_MAX_VALUES)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "more than %d values",
                              COLLECTD_MAX_VALUES);
        size_t k = vl->nvalues++;
        if (c->end - c->p >= 4 && memcmp(c->p, "null", 4) == 0) {
            vl->unknown[k] = true;
            c->p += 4;
            continue;
        }
        struct strv t;
        if (jsontok_number(&c->p, c->end, &t, &c->why) != 0 ||
            jsontok_strtod(t.p, t.n, &vl->values[k]) != 0)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "values: %s",
                              c->why ? c->why : "not a number");
    } while (expect(c, ','));
    if (!expect(c, ']'))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "values: expected ',' or ']'");
    return 0;
}

/* A JSON array of strings: names, or types when `dst_types` is set. */
static int j_strings(struct jcur *c, struct vlist *vl, bool dst_types, struct err *e)
{
    size_t *n = dst_types ? &vl->ndstypes : &vl->ndsnames;
    if (!expect(c, '['))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%s must be an array",
                          dst_types ? "\"dstypes\"" : "\"dsnames\"");
    if (expect(c, ']'))
        return 0;
    do {
        c->p = jsontok_ws(c->p, c->end);
        struct strv s;
        if (c->p >= c->end || *c->p != '"')
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected a string");
        int rc = jsontok_string(&c->p, c->end, c->b, &s, &c->why);
        if (rc != 0)
            return rc == -ENOMEM ? rc : err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%s", c->why);
        if (*n == COLLECTD_MAX_VALUES)
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "more than %d data sources",
                              COLLECTD_MAX_VALUES);
        if (!dst_types) {
            vl->dsnames[(*n)++] = s;
            continue;
        }
        if (strv_eq_c(s, "gauge"))
            vl->dstypes[*n] = DS_GAUGE;
        else if (strv_eq_c(s, "counter"))
            vl->dstypes[*n] = DS_COUNTER;
        else if (strv_eq_c(s, "derive"))
            vl->dstypes[*n] = DS_DERIVE;
        else if (strv_eq_c(s, "absolute"))
            vl->dstypes[*n] = DS_ABSOLUTE;
        else
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "unknown data source type \"%.*s\"",
                              (int)(s.n > 32 ? 32 : s.n), s.p);
        (*n)++;
    } while (expect(c, ','));
    if (!expect(c, ']'))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected ',' or ']'");
    return 0;
}

/* One value list object. A syntax error returns TIDE_EPARSE with *fatal
 * set (the cursor is lost); a semantic one leaves the cursor after the
 * object. */
static int j_object(struct jcur *c, const struct collectd_opts *o, struct err *e, bool *fatal)
{
    struct vlist vl = {.t_ms = o->now_ms};
    struct err se = {0}; /* the first semantic problem, reported after the object */
    *fatal = true;
    if (!expect(c, '{'))
        return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected '{'");
    if (!expect(c, '}')) {
        do {
            c->p = jsontok_ws(c->p, c->end);
            struct strv k;
            if (c->p >= c->end || *c->p != '"')
                return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected a key");
            int rc = jsontok_string(&c->p, c->end, c->b, &k, &c->why);
            if (rc == -ENOMEM)
                return rc;
            if (rc != 0 || !expect(c, ':'))
                return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "bad key");
            c->p = jsontok_ws(c->p, c->end);
            struct strv *str = strv_eq_c(k, "host")              ? &vl.host
                               : strv_eq_c(k, "plugin")          ? &vl.plugin
                               : strv_eq_c(k, "plugin_instance") ? &vl.plugin_instance
                               : strv_eq_c(k, "type")            ? &vl.type
                               : strv_eq_c(k, "type_instance")   ? &vl.type_instance
                                                                 : NULL;
            if (str != NULL) {
                if (c->p >= c->end || *c->p != '"')
                    return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "\"%.*s\" must be a string",
                                      (int)k.n, k.p);
                rc = jsontok_string(&c->p, c->end, c->b, str, &c->why);
                if (rc != 0)
                    return rc == -ENOMEM
                               ? rc
                               : err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%s", c->why);
            } else if (strv_eq_c(k, "values")) {
                rc = j_values(c, &vl, e);
            } else if (strv_eq_c(k, "dsnames") || strv_eq_c(k, "dstypes")) {
                rc = j_strings(c, &vl, strv_eq_c(k, "dstypes"), e);
            } else if (strv_eq_c(k, "time")) {
                struct strv t;
                double ts;
                if (jsontok_number(&c->p, c->end, &t, &c->why) != 0 ||
                    jsontok_strtod(t.p, t.n, &ts) != 0)
                    return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "\"time\" must be a number");
                vl.t_ms = llround(ts * 1000.0);
            } else { /* interval, meta and anything newer */
                rc = jsontok_skip_value(&c->p, c->end, 1, &c->why);
                if (rc != 0)
                    return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "%s", c->why);
            }
            if (rc != 0)
                return rc;
        } while (expect(c, ','));
        if (!expect(c, '}'))
            return err_set_at(e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected ',' or '}'");
    }
    *fatal = false;
    int rc = finish(&vl, c->b, &se);
    if (rc != 0) {
        batch_abort_series(c->b);
        *e = se;
    }
    return rc;
}

static int parse_json(const char *p, const char *end, const struct collectd_opts *o,
                      struct batch *b, struct ingest_report *r)
{
    struct jcur c = {.p = p, .end = end, .lp = p, .line = 1, .b = b};
    for (;;) {
        c.p = jsontok_ws(c.p, c.end);
        if (c.p >= c.end)
            return 0;
        bool array = *c.p == '[';
        if (array)
            c.p++;
        if (array && expect(&c, ']'))
            continue;
        do {
            c.p = jsontok_ws(c.p, c.end);
            int line = line_at(&c, c.p);
            struct err e = {0};
            bool fatal;
            int rc = j_object(&c, o, &e, &fatal);
            if (rc == 0) {
                if (r)
                    r->lines_ok++;
                continue;
            }
            batch_abort_series(b);
            if (fatal && rc != -ENOMEM) {
                line = line_at(&c, c.p);
                return report(r, rc, &e, line);
            }
            rc = report(r, rc, &e, line);
            if (rc != 0)
                return rc;
        } while (array && expect(&c, ','));
        if (array && !expect(&c, ']')) {
            struct err e = {0};
            err_set_at(&e, TIDE_EPARSE, ERR_WHERE, 0, 0, "expected ',' or ']'");
            return report(r, TIDE_EPARSE, &e, line_at(&c, c.p));
        }
    }
}

int collectd_parse(const char *p, size_t n, const struct collectd_opts *o, struct batch *b,
                   struct ingest_report *r)
{
    if (n == 0)
        return 0;
    const char *end = p + n;
    enum collectd_format f = o->format;
    if (f == COLLECTD_AUTO) {
        const char *s = jsontok_ws(p, end);
        f = s < end && (*s == '[' || *s == '{') ? COLLECTD_JSON : COLLECTD_PUTVAL;
    }
    return f == COLLECTD_JSON ? parse_json(p, end, o, b, r) : parse_putval(p, end, o, b, r);
}
