/* host_cpu.c: the "cpu" group of the host collector: /proc/stat (per-CPU
 * time, interrupts, context switches, forks, boot time, runnable and blocked
 * processes), /proc/loadavg, /proc/uptime, the clock, and the two info
 * series (tide_host_info, node_uname_info).
 *
 * Names and units are node_exporter's (cpu, stat, loadavg, time, uname
 * collectors): seconds, not ticks. As node_exporter does, `user` and `nice`
 * keep the guest time the kernel already counts in them, and the guest time
 * is exported on its own as node_cpu_guest_seconds_total; the aggregate
 * "cpu" line is not exported (sum by mode gives it).
 */
#include <errno.h>
#include <string.h>

#include "collect/host_int.h"

/* The columns of a cpuN line, in order; guest and guest_nice follow. */
static const char *const cpu_modes[] = {"user",   "nice", "system",  "idle",
                                        "iowait", "irq",  "softirq", "steal"};

/* /proc/stat keys holding one counter or gauge. */
static const struct {
    const char *key;
    const char *name;
} stat_keys[] = {
    {"ctxt", "node_context_switches_total"},
    {"btime", "node_boot_time_seconds"},
    {"processes", "node_forks_total"},
    {"procs_running", "node_procs_running"},
    {"procs_blocked", "node_procs_blocked"},
    {"intr", "node_intr_total"}, /* the first number is the total */
};

static int emit_cpu_line(struct host_collector *h, struct batch *b, int64_t t, struct strv cpu,
                         struct strv rest)
{
    struct strv id = host__dup(b, cpu);
    double tck = (double)h->clk_tck;
    uint64_t v[10] = {0};
    size_t n = 0;
    struct strv tok;
    while (n < 10 && host__tok(&rest, &tok) && host__u64(tok, &v[n]))
        n++;
    if (n < 4) /* user nice system idle exist since Linux 2.4 */
        return TIDE_EPARSE;
    int rc = 0;
    for (size_t i = 0; i < 8 && i < n && rc == 0; i++) {
        struct label l[2] = {{STRV_LIT("cpu"), id}, {STRV_LIT("mode"), strv_c(cpu_modes[i])}};
        rc = host__emit(h, b, "node_cpu_seconds_total", t, (double)v[i] / tck, l, 2);
    }
    for (size_t i = 8; i < 10 && i < n && rc == 0; i++) {
        struct label l[2] = {{STRV_LIT("cpu"), id},
                             {STRV_LIT("mode"), strv_c(i == 8 ? "user" : "nice")}};
        rc = host__emit(h, b, "node_cpu_guest_seconds_total", t, (double)v[i] / tck, l, 2);
    }
    return rc;
}

static int collect_stat(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, line, key, tok;
    int rc = host__read(h, &h->f_stat, &text);
    if (rc < 0)
        return rc;
    bool seen_cpu = false;
    while (rc == 0 && host__line(&text, &line)) {
        if (!host__tok(&line, &key))
            continue;
        if (key.n > 3 && memcmp(key.p, "cpu", 3) == 0) {
            rc = emit_cpu_line(h, b, t, (struct strv){key.p + 3, key.n - 3}, line);
            seen_cpu = true;
            continue;
        }
        for (size_t i = 0; i < sizeof stat_keys / sizeof *stat_keys; i++) {
            uint64_t v;
            if (!strv_eq_c(key, stat_keys[i].key))
                continue;
            if (host__tok(&line, &tok) && host__u64(tok, &v))
                rc = host__emit(h, b, stat_keys[i].name, t, (double)v, NULL, 0);
            break;
        }
    }
    if (rc == 0 && !seen_cpu)
        rc = TIDE_EPARSE;
    return rc;
}

static int collect_loadavg(struct host_collector *h, int64_t t, struct batch *b)
{
    static const char *const names[3] = {"node_load1", "node_load5", "node_load15"};
    struct strv text, tok;
    int rc = host__read(h, &h->f_loadavg, &text);
    if (rc < 0)
        return rc;
    for (int i = 0; i < 3 && rc == 0; i++) {
        double v;
        if (!host__tok(&text, &tok) || !host__f64(tok, &v))
            return TIDE_EPARSE;
        rc = host__emit(h, b, names[i], t, v, NULL, 0);
    }
    return rc;
}

static int collect_uptime(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, tok;
    double v;
    int rc = host__read(h, &h->f_uptime, &text);
    if (rc < 0)
        return rc;
    if (!host__tok(&text, &tok) || !host__f64(tok, &v))
        return TIDE_EPARSE;
    return host__emit(h, b, "tide_host_uptime_seconds", t, v, NULL, 0);
}

static int emit_info(struct host_collector *h, int64_t t, struct batch *b)
{
    struct label info[] = {
        {STRV_LIT("arch"), strv_c(h->machine)},    {STRV_LIT("hostname"), strv_c(h->nodename)},
        {STRV_LIT("kernel"), strv_c(h->release)},  {STRV_LIT("os"), strv_c(h->os)},
        {STRV_LIT("version"), strv_c(h->version)},
    };
    int rc = host__emit(h, b, "tide_host_info", t, 1, info, sizeof info / sizeof *info);
    struct label un[] = {
        {STRV_LIT("domainname"), strv_c(h->domainname)}, {STRV_LIT("machine"), strv_c(h->machine)},
        {STRV_LIT("nodename"), strv_c(h->nodename)},     {STRV_LIT("release"), strv_c(h->release)},
        {STRV_LIT("sysname"), strv_c(h->sysname)},       {STRV_LIT("version"), strv_c(h->uversion)},
    };
    if (rc == 0)
        rc = host__emit(h, b, "node_uname_info", t, 1, un, sizeof un / sizeof *un);
    if (rc == 0)
        rc = host__emit(h, b, "node_time_seconds", t, (double)t / 1000.0, NULL, 0);
    return rc;
}

int host__collect_cpu(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    int rc = 0, r;
    if ((r = collect_stat(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "cpu", h->f_stat.path);
    if ((r = collect_loadavg(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "cpu", h->f_loadavg.path);
    if ((r = collect_uptime(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "cpu", h->f_uptime.path);
    if ((r = emit_info(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "cpu", "info");
    return rc;
}
