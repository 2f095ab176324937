/* routeros_target.c: the targets manager's kind "routeros" (collect/targets.h):
 * a target is one router, with one long-lived API connection on the engine
 * (routeros_engine.c) serving every tier.
 *
 * Tiers: each catalog group has a tier (5s, 60s, 5m, 1h by default; a
 * target's `tiers:` map overrides them). The target runs at the fastest
 * tier (its tick: `interval` when given, else the smallest tier, set on the
 * first run); each run asks for the groups that are due, so a 1h group is
 * read once an hour on the same connection. The kind is a partial_runs
 * kind: series of groups not due in a run are not marked stale.
 *
 * A query the router does not know ("no such command": a menu of another
 * RouterOS version or of a package not installed) is recorded once per
 * target, logged once, and not asked again. Another !trap fails the run
 * (the rest of what was read is still delivered).
 *
 * Ownership: struct ros_kind owns the engine; a target owns its device,
 * its run and its copies of the spec's strings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/routeros.h"
#include "collect/targets.h"
#include "core/log.h"
#include "core/yaml_tree.h"

#define ROS_PINGS_MAX 16

struct ros_kind {
    struct targets *m; /* for the tick: targets_set_interval */
    struct ros_engine *eng;
};

struct ros_tgt {
    struct ros_kind *k;
    char name[TARGETS_NAME_MAX + 1];
    char address[300];
    struct ros_dev *dev;
    struct ros_run run;
    struct ros_memory mem;
    int64_t tier_ms[ROS_G_COUNT];
    int64_t last_ms[ROS_G_COUNT]; /* wall clock of the group's last run; 0 = never */
    bool off[ROS_G_COUNT];        /* tier "off" */
    char *pings[ROS_PINGS_MAX];
    size_t npings;
    int64_t tick_ms;
    bool set_tick; /* the tick is to be set on the first run */
    /* The run in flight. */
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t now_ms;
};

/* ---- configuration ---- */

static int read_password(const struct yaml_node *item, struct ros_conn_cfg *cfg, struct err *e)
{
    const char *pw = NULL, *file = NULL, *env = NULL;
    if (yaml_tree_get_str(item, "password", &pw, e) != 0 ||
        yaml_tree_get_str(item, "password_file", &file, e) != 0 ||
        yaml_tree_get_str(item, "password_env", &env, e) != 0)
        return e->code;
    int given = (pw != NULL) + (file != NULL) + (env != NULL);
    if (given > 1)
        return yaml_tree_err(item, TIDE_EINVAL, e,
                             "give one of password, password_file, password_env");
    if (pw) {
        if (strlen(pw) >= sizeof cfg->password)
            return yaml_tree_err(yaml_tree_get(item, "password"), TIDE_EINVAL, e,
                                 "the password is longer than %d bytes", ROS_PASSWORD_MAX - 1);
        snprintf(cfg->password, sizeof cfg->password, "%s", pw);
    } else if (file) {
        FILE *f = fopen(file, "r");
        if (f == NULL)
            return yaml_tree_err(yaml_tree_get(item, "password_file"), -errno, e,
                                 "cannot read password_file %s: %s", file, strerror(errno));
        size_t n = fread(cfg->password, 1, sizeof cfg->password - 1, f);
        fclose(f);
        cfg->password[n] = 0;
        while (n > 0 && (cfg->password[n - 1] == '\n' || cfg->password[n - 1] == '\r'))
            cfg->password[--n] = 0;
    } else if (env) {
        const char *v = getenv(env);
        if (v == NULL)
            return yaml_tree_err(yaml_tree_get(item, "password_env"), TIDE_EINVAL, e,
                                 "the environment variable %s is not set", env);
        if (strlen(v) >= sizeof cfg->password)
            return yaml_tree_err(yaml_tree_get(item, "password_env"), TIDE_EINVAL, e,
                                 "the password is longer than %d bytes", ROS_PASSWORD_MAX - 1);
        snprintf(cfg->password, sizeof cfg->password, "%s", v);
    }
    return 0;
}

/* "host", "host:port", "[v6]:port" into cfg (the port defaults by tls). */
static int split_address(const char *address, struct ros_conn_cfg *cfg)
{
    const char *host = address, *port = NULL;
    size_t hn;
    if (address[0] == '[') {
        const char *close = strchr(address, ']');
        if (close == NULL)
            return TIDE_EINVAL;
        host = address + 1;
        hn = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != 0)
            return TIDE_EINVAL;
    } else {
        const char *colon = strrchr(address, ':');
        if (colon && strchr(address, ':') == colon) {
            hn = (size_t)(colon - address);
            port = colon + 1;
        } else {
            hn = strlen(address);
        }
    }
    if (hn == 0 || hn >= sizeof cfg->host)
        return TIDE_EINVAL;
    memcpy(cfg->host, host, hn);
    cfg->host[hn] = 0;
    cfg->port = cfg->tls ? ROS_PORT_TLS : ROS_PORT;
    if (port) {
        char *end = NULL;
        long p = strtol(port, &end, 10);
        if (*port == 0 || *end != 0 || p < 1 || p > 65535)
            return TIDE_EINVAL;
        cfg->port = (unsigned)p;
    }
    return 0;
}

int ros_cfg_from_yaml(const struct yaml_node *item, const char *address, struct ros_conn_cfg *cfg,
                      struct err *e)
{
    memset(cfg, 0, sizeof *cfg);
    const char *user = NULL, *ca = NULL;
    int64_t timeout_ms = ROS_TIMEOUT_DEFAULT_MS;
    if (yaml_tree_get_str(item, "username", &user, e) != 0 ||
        yaml_tree_get_bool(item, "tls", &cfg->tls, e) != 0 ||
        yaml_tree_get_bool(item, "tls_insecure", &cfg->tls_insecure, e) != 0 ||
        yaml_tree_get_str(item, "tls_ca_file", &ca, e) != 0 ||
        yaml_tree_get_duration(item, "timeout", &timeout_ms, e) != 0)
        return e->code;
    if (address == NULL || address[0] == 0)
        return yaml_tree_err(item, TIDE_EINVAL, e, "a routeros target needs an address");
    if (user == NULL || user[0] == 0)
        return yaml_tree_err(item, TIDE_EINVAL, e, "a routeros target needs a username");
    if (strlen(user) >= sizeof cfg->user)
        return yaml_tree_err(yaml_tree_get(item, "username"), TIDE_EINVAL, e,
                             "the username is too long");
    snprintf(cfg->user, sizeof cfg->user, "%s", user);
    if (ca) {
        if (strlen(ca) >= sizeof cfg->tls_ca_file)
            return yaml_tree_err(yaml_tree_get(item, "tls_ca_file"), TIDE_EINVAL, e,
                                 "the path is too long");
        snprintf(cfg->tls_ca_file, sizeof cfg->tls_ca_file, "%s", ca);
    }
    if (timeout_ms < 100 || timeout_ms > 600000)
        return yaml_tree_err(yaml_tree_get(item, "timeout"), TIDE_EINVAL, e,
                             "timeout must be 100ms..10m");
    cfg->timeout_ms = timeout_ms;
    if (split_address(address, cfg) != 0)
        return yaml_tree_err(yaml_tree_get(item, "address"), TIDE_EINVAL, e,
                             "address \"%s\": expected host, host:port or [v6]:port", address);
    int rc = read_password(item, cfg, e);
    if (rc != 0)
        memset(cfg->password, 0, sizeof cfg->password);
    return rc;
}

static int read_tiers(const struct yaml_node *item, struct ros_tgt *t, struct err *e)
{
    for (int g = 0; g < ROS_G_COUNT; g++)
        t->tier_ms[g] = ros_group_tier_ms((enum ros_group)g);
    const struct yaml_node *tiers = yaml_tree_get(item, "tiers");
    if (tiers == NULL || yaml_tree_is_null(tiers))
        return 0;
    if (yaml_tree_expect(tiers, YAML_TREE_MAP, e) != 0)
        return e->code;
    for (size_t i = 0; i < yaml_tree_len(tiers); i++) {
        const struct yaml_node *v = NULL;
        const struct yaml_node *k = yaml_tree_pair(tiers, i, &v);
        int g = ros_group_find(yaml_tree_text(k));
        if (g < 0)
            return yaml_tree_err(k, TIDE_ENOTFOUND, e,
                                 "unknown group \"%s\" (system, interface, conntrack, "
                                 "interface_errors, link, ppp, dhcp, ping, wireless, lte, bgp, "
                                 "queue, firewall, health, hardware)",
                                 yaml_tree_text(k));
        const char *text = yaml_tree_text(v);
        if (text && strcmp(text, "off") == 0) {
            t->off[g] = true;
            continue;
        }
        int64_t ms;
        if (yaml_tree_duration(v, &ms, e) != 0)
            return e->code;
        if (ms < TARGETS_INTERVAL_MIN_MS || ms > TARGETS_INTERVAL_MAX_MS)
            return yaml_tree_err(v, TIDE_EINVAL, e, "a tier must be 100ms..1d, or off");
        t->tier_ms[g] = ms;
    }
    return 0;
}

static int read_pings(const struct yaml_node *item, struct ros_tgt *t, struct err *e)
{
    const char *const *v = NULL;
    size_t n = 0;
    if (yaml_tree_get_strings(item, "ping", &v, &n, e) != 0)
        return e->code;
    if (n > ROS_PINGS_MAX)
        return yaml_tree_err(yaml_tree_get(item, "ping"), TIDE_ELIMIT, e,
                             "at most %d ping addresses", ROS_PINGS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (v[i][0] == 0 || strlen(v[i]) > 200 || strpbrk(v[i], ",= \t"))
            return yaml_tree_err(yaml_tree_get(item, "ping"), TIDE_EINVAL, e,
                                 "ping: \"%s\" is not an address", v[i]);
        t->pings[i] = strdup(v[i]);
        if (t->pings[i] == NULL)
            return ERR_SET(e, -ENOMEM, "routeros: out of memory");
        t->npings = i + 1;
    }
    return 0;
}

static void tgt_free(struct ros_tgt *t)
{
    if (t == NULL)
        return;
    ros_dev_free(t->dev);
    ros_run_fini(&t->run);
    for (size_t i = 0; i < t->npings; i++)
        free(t->pings[i]);
    free(t);
}

static int ros_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    struct ros_kind *k = kind_ctx;
    const struct yaml_node *item = spec->config;
    *state = NULL;
    struct ros_conn_cfg cfg;
    int64_t cmd_timeout_ms = ROS_TIMEOUT_DEFAULT_MS;
    int rc = ros_cfg_from_yaml(item, spec->address, &cfg, e);
    if (rc != 0)
        return rc;
    cmd_timeout_ms = cfg.timeout_ms;
    struct ros_tgt *t = calloc(1, sizeof *t);
    if (t == NULL) {
        memset(&cfg, 0, sizeof cfg);
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    }
    t->k = k;
    ros_run_init(&t->run);
    snprintf(t->name, sizeof t->name, "%s", spec->name);
    snprintf(t->address, sizeof t->address, "%s", spec->address);
    rc = read_tiers(item, t, e);
    if (rc == 0)
        rc = read_pings(item, t, e);
    if (rc == 0)
        rc = ros_dev_new(k->eng, spec->name, &cfg, cmd_timeout_ms, &t->dev, e);
    memset(&cfg, 0, sizeof cfg);
    if (rc != 0) {
        tgt_free(t);
        return rc;
    }
    /* The tick: the interval when the entry gives one, else the fastest tier. */
    t->tick_ms = spec->interval_ms;
    if (item == NULL || yaml_tree_get(item, "interval") == NULL) {
        int64_t fastest = TARGETS_INTERVAL_MAX_MS;
        for (int g = 0; g < ROS_G_COUNT; g++)
            if (!t->off[g] && t->tier_ms[g] < fastest)
                fastest = t->tier_ms[g];
        if (fastest != spec->interval_ms) {
            t->tick_ms = fastest;
            t->set_tick = true;
        }
    }
    *state = t;
    return 0;
}

/* ros_run_done_fn: on the engine thread. */
static void on_run_done(void *ctx, int rc, enum ros_fail fail, const struct err *e)
{
    struct ros_tgt *t = ctx;
    struct err re;
    err_clear(&re);
    int n = ros_catalog_render(&t->run, &t->mem, t->address, t->now_ms, t->out);
    if (n < 0 && rc == 0) {
        rc = n;
        e = &re;
        ERR_SET(&re, n, "routeros: out of memory rendering");
    }
    for (size_t i = 0; i < t->run.n; i++) {
        const struct ros_query *q = &t->run.q[i];
        enum ros_group g = ros_query_group(q->def);
        if (q->missing) {
            if (!t->mem.missing[q->def])
                log_info("routeros", "%s: %s is not on this router (another RouterOS version or "
                                     "a package not installed); not asked again",
                         t->name, ros_query_path(q->def));
            t->mem.missing[q->def] = true;
            continue;
        }
        if (!q->done && g < ROS_G_COUNT)
            t->last_ms[g] = 0; /* not read: due again on the next tick */
        if (q->trapped && rc == 0) {
            rc = -EIO;
            e = &re;
            ERR_SET(&re, rc, "the router refused %s: %s", ros_query_path(q->def), q->trap);
        }
    }
    (void)fail;
    t->done(t->token, rc, e);
}

static int ros_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                     void *token, struct err *e)
{
    struct ros_tgt *t = state;
    if (t->set_tick) {
        t->set_tick = false;
        targets_set_interval(t->k->m, "routeros", t->name, t->tick_ms);
    }
    t->out = out;
    t->done = done;
    t->token = token;
    t->now_ms = now_ms;
    ros_run_reset(&t->run);
    bool need_identity = t->mem.identity[0] == 0;
    for (int g = 0; g < ROS_G_COUNT; g++) {
        if (t->off[g])
            continue;
        bool due = t->last_ms[g] == 0 || now_ms - t->last_ms[g] >= t->tier_ms[g] - t->tick_ms / 2;
        if (g == ROS_G_HARDWARE && need_identity)
            due = true;
        if (!due)
            continue;
        int rc = ros_catalog_plan(&t->run, (enum ros_group)g, &t->mem,
                                  (const char *const *)t->pings, t->npings);
        if (rc < 0)
            return ERR_SET(e, rc, "routeros: out of memory");
        if (rc == 0)
            t->last_ms[g] = now_ms;
    }
    int rc = ros_dev_run(t->dev, &t->run, on_run_done, t);
    if (rc != 0)
        return ERR_SET(e, rc, "routeros: a run is still in flight");
    return 0;
}

static void ros_close(void *state) { tgt_free(state); }

/* target_kind.test: log in, read resource and identity (routeros_probe.c). */
static int ros_test(void *kind_ctx, const struct target_spec *spec, struct target_test *out,
                    struct err *e)
{
    static const struct ros_tgt zero;
    struct ros_conn_cfg cfg;
    int rc = ros_cfg_from_yaml(spec->config, spec->address, &cfg, e);
    if (rc != 0)
        return rc;
    struct ros_tgt *t = malloc(sizeof *t); /* only to check tiers and ping */
    if (t == NULL) {
        memset(&cfg, 0, sizeof cfg);
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    }
    *t = zero;
    rc = read_tiers(spec->config, t, e);
    if (rc == 0)
        rc = read_pings(spec->config, t, e);
    for (size_t i = 0; i < t->npings; i++)
        free(t->pings[i]);
    free(t);
    if (rc != 0) {
        memset(&cfg, 0, sizeof cfg);
        return rc;
    }
    struct ros_probe pr;
    int prc = ros_probe(&cfg, &pr);
    memset(&cfg, 0, sizeof cfg);
    out->ok = prc == 0;
    if (prc != 0) {
        snprintf(out->failure, sizeof out->failure, "%s", ros_fail_name(pr.fail));
        snprintf(out->error, sizeof out->error, "%s", pr.error);
        return 0;
    }
    const char *facts[][2] = {{"version", pr.version},
                              {"board", pr.board},
                              {"identity", pr.identity},
                              {"uptime", pr.uptime}};
    for (size_t i = 0; i < 4; i++) {
        snprintf(out->facts[i][0], sizeof out->facts[i][0], "%s", facts[i][0]);
        snprintf(out->facts[i][1], sizeof out->facts[i][1], "%s", facts[i][1]);
    }
    out->nfacts = 4;
    return 0;
}

static const struct target_kind ros_target_kind = {
    .name = "routeros",
    .meta_series = true,
    .spread = false, /* the first run sets the tick; the engine takes many runs at once */
    .partial_runs = true,
    .open = ros_open,
    .start = ros_start,
    .close = ros_close,
    .test = ros_test,
};

int ros_kind_register(struct targets *m, struct ros_kind **out, struct err *e)
{
    *out = NULL;
    struct ros_kind *k = calloc(1, sizeof *k);
    if (k == NULL)
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    k->m = m;
    int rc = ros_engine_new(&k->eng, e);
    if (rc == 0) {
        rc = targets_register_kind(m, &ros_target_kind, k);
        if (rc != 0)
            ERR_SET(e, rc, "routeros: cannot register the routeros kind");
    }
    if (rc != 0) {
        ros_kind_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

void ros_kind_free(struct ros_kind *k)
{
    if (k == NULL)
        return;
    ros_engine_free(k->eng);
    free(k);
}

struct ros_engine *ros_kind_engine(struct ros_kind *k) { return k->eng; }
