/* host_target.c: the host collector as the targets manager's first kind.
 * Each enabled group (cpu, mem, disk, net, proc, service) is one target,
 * "host/<group>", whose state is a pointer into the collector: opening and
 * closing allocate nothing, and the shared serial key keeps the collector on
 * one worker at a time (host.h's thread rule). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "collect/host.h"
#include "collect/host_int.h"
#include "collect/targets.h"

static int host_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    struct host_collector *h = kind_ctx;
    int g = spec->module ? host_group_parse(spec->module) : -1;
    if (g < 0)
        return ERR_INVAL(e, "target %s: host module \"%s\" is not one of cpu, mem, disk, net, "
                            "proc, service",
                         spec->name, spec->module ? spec->module : "");
    *state = &h->group_ctx[g];
    return 0;
}

static int host_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    struct host_group_ctx *c = state;
    return host_collect_group(c->h, c->g, now_ms, out, e);
}

const struct target_kind host_target_kind = {
    .name = "host",
    .open = host_open,
    .collect = host_collect,
};

int host_targets_add(struct host_collector *h, struct targets *m, struct err *e)
{
    int rc = targets_register_kind(m, &host_target_kind, h);
    if (rc != 0)
        return ERR_SET(e, rc, "host: cannot register the host kind");
    for (int g = 0; g < HOST_NGROUPS; g++) {
        if (h->interval_ms[g] < 0)
            continue;
        if (g == HOST_SERVICE && h->nservices == 0)
            continue;
        char name[32];
        snprintf(name, sizeof name, "host/%s", host_group_name((enum host_group)g));
        struct target_spec s = {
            .kind = "host",
            .name = name,
            .module = host_group_name((enum host_group)g),
            .interval_ms = h->interval_ms[g],
            .serial = h,
        };
        rc = targets_add(m, &s, e);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int64_t host_targets_storage_ms(struct targets *m)
{
    struct target_status *ts = NULL;
    size_t n = 0;
    if (targets_list(m, host_target_kind.name, &ts, &n) != 0)
        return 0;
    int64_t fastest = 0;
    for (size_t i = 0; i < n; i++)
        if (fastest == 0 || ts[i].interval_ms < fastest)
            fastest = ts[i].interval_ms;
    free(ts);
    return fastest;
}

int host_targets_lease(struct targets *m, int64_t display_ms, int64_t until_mono_ns,
                       int64_t *storage_ms)
{
    *storage_ms = 0;
    struct target_status *ts = NULL;
    size_t n = 0;
    int rc = targets_list(m, host_target_kind.name, &ts, &n);
    if (rc != 0)
        return rc;
    int64_t fastest = 0;
    for (size_t i = 0; i < n; i++)
        if (fastest == 0 || ts[i].interval_ms < fastest)
            fastest = ts[i].interval_ms;
    *storage_ms = fastest;
    bool on = display_ms > 0 && display_ms < fastest;
    for (size_t i = 0; i < n; i++) {
        if (ts[i].interval_ms != fastest)
            continue;
        int r = targets_lease_interval(m, ts[i].kind, ts[i].name, on ? display_ms : 0,
                                       until_mono_ns);
        if (r != 0 && r != TIDE_ENOTFOUND && rc == 0)
            rc = r;
    }
    free(ts);
    return rc;
}
