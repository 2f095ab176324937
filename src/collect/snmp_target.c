/* snmp_target.c: the targets manager's kind "snmp" (collect/targets.h): a
 * target is one device polled with one module. open() reads the target's
 * own keys (credentials, max_repetitions, timeout, retries), start() hands
 * a poll to the engine (snmp_engine.c) and returns at once; the engine's
 * done renders the varbinds (snmp_render.c) into the manager's batch and
 * calls the manager's done. The kind asks for Prometheus' meta series (up,
 * scrape_duration_seconds, scrape_samples_scraped, job, instance) and for
 * spread first runs.
 *
 * Ownership: struct snmp_kind owns the module set and the engine; a target
 * (struct snmp_tgt) owns its conn and borrows its module. snmp_kind_free()
 * comes after targets_free(), whose close() calls need the engine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    /* The poll in flight (set by start, read by the engine's done). */
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t now_ms;
};

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
    int rc = snmp_conn_new(k->eng, spec->address, &creds, timeout_ms, (int)retries, &t->conn, e);
    memset(&creds, 0, sizeof creds);
    if (rc != 0) {
        free(t);
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
        int n = snmp_render(t->mod, res, t->now_ms, t->out);
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
    snmp_conn_free(t->conn);
    free(t);
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
