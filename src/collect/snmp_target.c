/* snmp_target.c: the targets manager's kind "snmp" (collect/targets.h): a
 * target is one device polled with one module. open() reads the target's
 * own keys (credentials, max_repetitions, timeout, retries), start() hands
 * a poll to the engine (snmp_engine.c) and returns at once; the engine's
 * done renders the varbinds (snmp_render.c) into the manager's batch and
 * calls the manager's done. The kind asks for Prometheus' meta series (up,
 * scrape_duration_seconds, scrape_samples_scraped, job, instance) and for
 * spread first runs. A target's `metric_relabel_configs:` (model/relabel.h)
 * rewrites or drops each rendered series before the manager sees it; the
 * rules see the series' labels plus the target's (labels:, job, instance).
 *
 * Ownership: struct snmp_kind owns the module set and the engine; a target
 * (struct snmp_tgt) owns its conn and borrows its module. snmp_kind_free()
 * comes after targets_free(), whose close() calls need the engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/relabel.h"
#include "collect/snmp.h"
#include "collect/targets.h"
#include "core/yaml_tree.h"

struct snmp_kind {
    struct snmp_modules modules; /* read-only once registered */
    struct snmp_engine *eng;
};

struct snmp_tgt {
    const struct snmp_module *mod; /* borrowed from the kind */
    struct snmp_conn *conn;        /* owned */
    int max_repetitions;
    /* metric_relabel_configs: the rules, the target labels they see, and
     * the engine thread's scratch (render into raw, relabel into out). */
    struct relabel_config relabel;
    struct label *tlabels;
    size_t ntlabels;
    char *tlabel_bytes;
    struct batch raw;
    struct relabel_set set;
    /* The poll in flight (set by start, read by the engine's done). */
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t now_ms;
};

static void tgt_free(struct snmp_tgt *t)
{
    snmp_conn_free(t->conn);
    relabel_config_fini(&t->relabel);
    relabel_set_fini(&t->set);
    batch_fini(&t->raw);
    free(t->tlabels);
    free(t->tlabel_bytes);
    free(t);
}

/* The labels the manager will add (targets.h: the spec's, then job and
 * instance), for the relabel rules to see. */
static int copy_target_labels(struct snmp_tgt *t, const struct target_spec *spec, struct err *e)
{
    size_t n = spec->nlabels;
    size_t bytes = 64 + strlen(spec->address ? spec->address : spec->name);
    for (size_t i = 0; i < n; i++)
        bytes += spec->labels[i].name.n + spec->labels[i].value.n + 2;
    t->tlabels = calloc(n + 2, sizeof *t->tlabels);
    t->tlabel_bytes = malloc(bytes);
    if (t->tlabels == NULL || t->tlabel_bytes == NULL)
        return ERR_SET(e, -ENOMEM, "snmp: out of memory");
    char *p = t->tlabel_bytes;
    for (size_t i = 0; i < n; i++) {
        const struct label *l = &spec->labels[i];
        memcpy(p, l->name.p, l->name.n);
        t->tlabels[i].name = (struct strv){p, l->name.n};
        p += l->name.n + 1;
        memcpy(p, l->value.p, l->value.n);
        t->tlabels[i].value = (struct strv){p, l->value.n};
        p += l->value.n + 1;
    }
    if (labels_get(spec->labels, n, STRV_LIT("job")).p == NULL)
        t->tlabels[n++] = (struct label){STRV_LIT("job"), STRV_LIT("snmp")};
    if (labels_get(spec->labels, spec->nlabels, STRV_LIT("instance")).p == NULL) {
        const char *inst = spec->address ? spec->address : spec->name;
        strcpy(p, inst);
        t->tlabels[n++] = (struct label){STRV_LIT("instance"), strv_c(p)};
    }
    t->ntlabels = n;
    return 0;
}

/* metric_relabel_configs over t->raw into out: each series with the
 * target labels it lacks, relabelled, copied when kept. 0 or -ENOMEM. */
static int relabel_into(struct snmp_tgt *t, struct batch *out)
{
    const struct batch *b = &t->raw;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        relabel_set_reset(&t->set);
        int rc = 0;
        for (uint32_t k = 0; rc == 0 && k < s->nlabels; k++)
            rc = relabel_set_put(&t->set, ls[k].name, ls[k].value);
        for (size_t k = 0; rc == 0 && k < t->ntlabels; k++)
            if (relabel_set_get(&t->set, t->tlabels[k].name).p == NULL)
                rc = relabel_set_put(&t->set, t->tlabels[k].name, t->tlabels[k].value);
        bool keep = true;
        if (rc == 0)
            rc = relabel_apply(&t->relabel, &t->set, &keep);
        if (rc != 0)
            return rc;
        if (!keep || relabel_set_get(&t->set, STRV_LIT("__name__")).p == NULL)
            continue;
        rc = batch_begin_series(out);
        for (size_t k = 0; rc == 0 && k < t->set.n; k++) {
            const struct label *l = &t->set.v[k];
            char *nm = batch_strdup(out, l->name.p, l->name.n);
            char *v = batch_strdup(out, l->value.p, l->value.n);
            rc = nm && v ? batch_add_label(out, (struct strv){nm, l->name.n},
                                           (struct strv){v, l->value.n})
                         : -ENOMEM;
        }
        for (uint32_t k = 0; rc == 0 && k < s->nsamples; k++) {
            const struct sample *sm = &b->samples[s->sample_off + k];
            rc = batch_add_sample(out, sm->t_ms, sm->v);
        }
        if (rc == 0)
            rc = batch_end_series(out);
        if (rc != 0) {
            batch_abort_series(out);
            return rc;
        }
    }
    return 0;
}

static int snmp_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    struct snmp_kind *k = kind_ctx;
    const struct yaml_node *cfg = spec->config;
    *state = NULL;
    if (spec->address == NULL)
        return yaml_tree_err(cfg, TIDE_EINVAL, e, "target %s: an SNMP target needs an address",
                             spec->name);
    const char *mname = spec->module ? spec->module : "if_mib";
    const struct snmp_module *mod = snmp_modules_find(&k->modules, mname);
    if (mod == NULL)
        return yaml_tree_err(yaml_tree_get(cfg, "module"), TIDE_ENOTFOUND, e,
                             "unknown SNMP module \"%s\" (built in: if_mib; others under "
                             "snmp_modules:)",
                             mname);
    struct snmp_creds creds;
    snmp_creds_init(&creds);
    int64_t reps = mod->max_repetitions ? mod->max_repetitions : SNMP_MAX_REPETITIONS_DEFAULT;
    int64_t retries = mod->retries >= 0 ? mod->retries : SNMP_RETRIES_DEFAULT;
    int64_t timeout_ms = mod->timeout_ms ? mod->timeout_ms : SNMP_TIMEOUT_DEFAULT_MS;
    if (snmp_creds_from_yaml(&creds, cfg, e) != 0 ||
        yaml_tree_get_int(cfg, "max_repetitions", 1, 1000, &reps, e) != 0 ||
        yaml_tree_get_int(cfg, "retries", 0, 20, &retries, e) != 0 ||
        yaml_tree_get_duration(cfg, "timeout", &timeout_ms, e) != 0) {
        memset(&creds, 0, sizeof creds);
        return e->code;
    }
    if (timeout_ms < 10 || timeout_ms > 600000) {
        memset(&creds, 0, sizeof creds);
        return yaml_tree_err(yaml_tree_get(cfg, "timeout"), TIDE_EINVAL, e,
                             "timeout must be 10ms..10m");
    }
    struct snmp_tgt *t = calloc(1, sizeof *t);
    if (t == NULL)
        return ERR_SET(e, -ENOMEM, "snmp: out of memory");
    t->mod = mod;
    t->max_repetitions = (int)reps;
    batch_init(&t->raw);
    relabel_set_init(&t->set);
    int rc = relabel_config_parse(yaml_tree_get(cfg, "metric_relabel_configs"), &t->relabel, e);
    if (rc == 0 && t->relabel.n > 0)
        rc = copy_target_labels(t, spec, e);
    if (rc == 0)
        rc = snmp_conn_new(k->eng, spec->address, &creds, timeout_ms, (int)retries, &t->conn, e);
    memset(&creds, 0, sizeof creds);
    if (rc != 0) {
        tgt_free(t);
        return rc;
    }
    *state = t;
    return 0;
}

/* snmp_done_fn: on the engine thread. */
static void on_poll_done(void *ctx, int rc, const struct err *e, const struct snmp_result *res)
{
    struct snmp_tgt *t = ctx;
    struct err re;
    err_clear(&re);
    if (rc == 0) {
        int n;
        if (t->relabel.n > 0) {
            batch_reset(&t->raw);
            n = snmp_render(t->mod, res, t->now_ms, &t->raw);
            if (n >= 0 && relabel_into(t, t->out) != 0)
                n = -ENOMEM;
        } else {
            n = snmp_render(t->mod, res, t->now_ms, t->out);
        }
        if (n < 0) {
            rc = n;
            ERR_SET(&re, n, "snmp: out of memory rendering %zu varbinds", res->n);
            e = &re;
        }
    }
    if (rc < 0)
        batch_reset(t->out); /* a failed poll delivers only its meta series */
    t->done(t->token, rc, e);
}

static int snmp_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                      void *token, struct err *e)
{
    struct snmp_tgt *t = state;
    t->out = out;
    t->done = done;
    t->token = token;
    t->now_ms = now_ms;
    struct snmp_request req;
    snmp_module_request(t->mod, t->max_repetitions, &req);
    int rc = snmp_conn_poll(t->conn, &req, on_poll_done, t);
    if (rc != 0)
        return ERR_SET(e, rc, "snmp: a poll is still in flight");
    return 0;
}

static void snmp_close(void *state)
{
    struct snmp_tgt *t = state;
    if (t == NULL)
        return;
    tgt_free(t);
}

static const struct target_kind snmp_target_kind = {
    .name = "snmp",
    .meta_series = true,
    .spread = true,
    .open = snmp_open,
    .start = snmp_start,
    .close = snmp_close,
};

int snmp_kind_register(struct targets *m, const struct yaml_node *modules, struct snmp_kind **out,
                       struct err *e)
{
    *out = NULL;
    struct snmp_kind *k = calloc(1, sizeof *k);
    if (k == NULL)
        return ERR_SET(e, -ENOMEM, "snmp: out of memory");
    snmp_modules_init(&k->modules);
    int rc = snmp_modules_add_builtin(&k->modules, e);
    if (rc == 0)
        rc = snmp_modules_add(&k->modules, modules, e);
    if (rc == 0)
        rc = snmp_engine_new(&k->eng, e);
    if (rc == 0) {
        rc = targets_register_kind(m, &snmp_target_kind, k);
        if (rc != 0)
            ERR_SET(e, rc, "snmp: cannot register the snmp kind");
    }
    if (rc != 0) {
        snmp_kind_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void snmp_kind_free(struct snmp_kind *k)
{
    if (k == NULL)
        return;
    snmp_engine_free(k->eng);
    snmp_modules_fini(&k->modules);
    free(k);
}
