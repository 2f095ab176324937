/* test_agents.c: the server's side of agent mode (api/agents.c), kept with
 * the agent's tests: the desired-interval table (set, read, clear, bad
 * input, persisted and reloaded) and the agents listing built from
 * tide_host_info in a real storage (last seen, up/down by 3 intervals,
 * one entry per instance). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/agents.h"
#include "api/live_lease.h"
#include "collect/targets.h"
#include "core/buf.h"
#include "core/fs.h"
#include "core/time.h"
#include "storage/storage.h"

static char dir[512];
static struct targets *T; /* the server's targets manager, holding desired intervals */

static int no_sink(void *ctx, struct batch *b, struct err *e)
{
    return 0;
}

/* A fresh manager (a server start), persisting in `path` when not NULL. */
static int restart(const char *path, struct err *e)
{
    targets_free(T);
    struct targets_opts o = {.sink = no_sink};
    assert_int_equal(targets_new(&T, &o), 0);
    return agents_attach(T, path, e);
}

static int setup(void **state)
{
    assert_int_equal(restart(NULL, NULL), 0);
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/test_agents.XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    targets_free(T);
    T = NULL;
    fs_rm_rf(dir);
    return 0;
}

/* Call agents_handle with "name=value" pairs. */
static int call(struct storage *s, const char *method, const char *path, struct buf *out, int nkv,
                ...)
{
    struct http_param p[8];
    va_list ap;
    va_start(ap, nkv);
    for (int i = 0; i < nkv; i++) {
        p[i].name = va_arg(ap, const char *);
        p[i].value = va_arg(ap, const char *);
    }
    va_end(ap);
    int status = 0;
    assert_int_equal(agents_handle(s, T, NULL, method, path, p, (size_t)nkv, out, &status), 0);
    return status;
}

static void test_config_table(void **state)
{
    struct buf out;
    buf_init(&out, 0);
    /* Table: request → status and a piece of the body. */
    static const struct {
        const char *name, *method, *instance, *interval;
        int want_status;
        const char *want;
    } cases[] = {
        {"unset", "GET", "web-1", NULL, 200, "{\"instance\":\"web-1\"}}"},
        {"set", "POST", "web-1", "5s", 200, "\"interval\":\"5s\""},
        {"read back", "GET", "web-1", NULL, 200, "\"interval\":\"5s\""},
        {"other instance", "GET", "web-2", NULL, 200, "{\"instance\":\"web-2\"}}"},
        {"change", "POST", "web-1", "90s", 200, "\"interval\":\"1m30s\""},
        {"sub-second", "POST", "db", "1500ms", 200, "\"interval\":\"1s500ms\""},
        {"too small", "POST", "web-1", "10ms", 400, "bad_data"},
        {"not a duration", "POST", "web-1", "soon", 400, "bad_data"},
        {"no instance", "GET", NULL, NULL, 400, "instance"},
        {"kept after errors", "GET", "web-1", NULL, 200, "\"interval\":\"1m30s\""},
        {"clear", "POST", "web-1", "", 200, "{\"instance\":\"web-1\"}}"},
        {"cleared", "GET", "web-1", NULL, 200, "{\"instance\":\"web-1\"}}"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int status;
        if (cases[c].instance && cases[c].interval)
            status = call(NULL, cases[c].method, "/api/v1/agent/config", &out, 2, "instance",
                          cases[c].instance, "interval", cases[c].interval);
        else if (cases[c].instance)
            status = call(NULL, cases[c].method, "/api/v1/agent/config", &out, 1, "instance",
                          cases[c].instance);
        else
            status = call(NULL, cases[c].method, "/api/v1/agent/config", &out, 0);
        if (status != cases[c].want_status || !strstr(out.p, cases[c].want))
            fail_msg("%s: status %d, body %s; want %d and %s", cases[c].name, status, out.p,
                     cases[c].want_status, cases[c].want);
    }
    int st = 0;
    assert_int_equal(agents_handle(NULL, T, NULL, "GET", "/api/v1/other", NULL, 0, &out, &st),
                     TIDE_ENOTFOUND);
    assert_int_equal(call(NULL, "DELETE", "/api/v1/agent/config", &out, 0), 405);
    buf_fini(&out);
}

/* The poll as a display-rate channel: the agent's defaultInterval (or the
 * interval set here) is its storage interval; a screen's lease faster than
 * it shows as displayInterval + displayLease, and nothing else changes. */
static void test_config_display(void **state)
{
    struct live_lease *l;
    assert_int_equal(live_lease_new(&l), 0);
    struct buf out;
    buf_init(&out, 0);
    struct http_param p[2] = {{"instance", "vm1"}, {"defaultInterval", "5s"}};
    int st = 0;
    static const char *path = "/api/v1/agent/config";
    /* no screen: the answer as before */
    assert_int_equal(agents_handle(NULL, T, l, "GET", path, p, 2, &out, &st), 0);
    assert_int_equal(st, 200);
    assert_non_null(strstr(out.p, "\"data\":{\"instance\":\"vm1\"}}"));
    /* a screen at 500 ms */
    assert_int_equal(live_lease_renew(l, "vm1", 500, time_mono_ns()), 0);
    assert_int_equal(agents_handle(NULL, T, l, "GET", path, p, 2, &out, &st), 0);
    assert_non_null(strstr(out.p, "{\"instance\":\"vm1\",\"displayInterval\":\"500ms\","
                                  "\"displayLease\":\"5s\"}"));
    /* an interval set here wins over the agent's own: 400ms stores faster
     * than the screen asks, so no display rate */
    assert_int_equal(call(NULL, "POST", path, &out, 2, "instance", "vm1", "interval", "400ms"), 200);
    assert_null(strstr(out.p, "display"));
    assert_int_equal(agents_handle(NULL, T, l, "GET", path, p, 2, &out, &st), 0);
    assert_non_null(strstr(out.p, "\"interval\":\"400ms\""));
    assert_null(strstr(out.p, "display"));
    /* an agent that reports nothing gets nothing (its interval is unknown) */
    struct http_param q[1] = {{"instance", "vm2"}};
    assert_int_equal(live_lease_renew(l, "vm2", 500, time_mono_ns()), 0);
    assert_int_equal(agents_handle(NULL, T, l, "GET", path, q, 1, &out, &st), 0);
    assert_null(strstr(out.p, "display"));
    buf_fini(&out);
    live_lease_free(l);
}

static void test_config_persisted(void **state)
{
    char path[600];
    snprintf(path, sizeof path, "%s/agents.conf", dir);
    assert_int_equal(restart(path, NULL), 0);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(
        call(NULL, "POST", "/api/v1/agent/config", &out, 2, "instance", "a b", "interval", "2s"),
        200);
    assert_int_equal(
        call(NULL, "POST", "/api/v1/agent/config", &out, 2, "instance", "c", "interval", "1m"),
        200);
    assert_int_equal(restart(NULL, NULL), 0);
    assert_int_equal(call(NULL, "GET", "/api/v1/agent/config", &out, 1, "instance", "c"), 200);
    assert_null(strstr(out.p, "interval")); /* not persisted without a file */
    assert_int_equal(restart(path, NULL), 0);
    assert_int_equal(call(NULL, "GET", "/api/v1/agent/config", &out, 1, "instance", "c"), 200);
    assert_non_null(strstr(out.p, "\"interval\":\"1m\""));
    assert_int_equal(call(NULL, "GET", "/api/v1/agent/config", &out, 1, "instance", "a b"), 200);
    assert_non_null(strstr(out.p, "\"interval\":\"2s\""));
    /* A damaged file is refused with its line. */
    assert_int_equal(fs_write_file_atomic(path, "x\t5000\ny\n", 9), 0);
    struct err e = {0};
    assert_int_equal(restart(path, &e), TIDE_EPARSE);
    assert_int_equal(e.line, 2);
    buf_fini(&out);
}

static void append_info(struct storage *s, const char *instance, const char *kernel, int64_t t_ms)
{
    struct batch b;
    batch_init(&b);
    batch_begin_series(&b);
    batch_add_label(&b, STRV_LIT("__name__"), STRV_LIT("tide_host_info"));
    batch_add_label(&b, STRV_LIT("instance"), strv_c(instance));
    batch_add_label(&b, STRV_LIT("job"), STRV_LIT("tide-agent"));
    batch_add_label(&b, STRV_LIT("kernel"), strv_c(kernel));
    batch_add_sample(&b, t_ms, 1);
    batch_end_series(&b);
    struct err e = {0};
    if (storage_append(s, &b, NULL, &e) != 0)
        fail_msg("append: %s", e.msg);
    batch_fini(&b);
}

static void test_listing(void **state)
{
    struct storage_opts o = {.dir = dir, .no_background = true};
    storage_opts_defaults(&o);
    struct storage *s = NULL;
    struct err e = {0};
    if (storage_open(&s, &o, &e) != 0)
        fail_msg("storage_open: %s", e.msg);
    int64_t now = time_now_ms();
    /* alive: every 10 s up to now; slow: every 60 s (configured), last 2 min ago;
     * dead: every 10 s, last 5 min ago; old: one sample 3 days ago, then
     * a new kernel series. */
    for (int i = 0; i < 30; i++)
        append_info(s, "alive", "6.1", now - 1000 - 10000LL * (29 - i));
    for (int i = 0; i < 5; i++)
        append_info(s, "slow", "6.1", now - 120000 - 60000LL * (4 - i));
    for (int i = 0; i < 5; i++)
        append_info(s, "dead", "6.1", now - 300000 - 10000LL * (4 - i));
    append_info(s, "old", "5.10", now - 3 * 86400000LL);
    append_info(s, "old", "6.1", now - 2 * 86400000LL);
    struct buf out;
    buf_init(&out, 0);
    assert_int_equal(
        call(NULL, "POST", "/api/v1/agent/config", &out, 2, "instance", "slow", "interval", "1m"),
        200);
    assert_int_equal(call(s, "GET", "/api/v1/agents", &out, 0), 200);
    const char *p = out.p;
    /* Sorted by instance: alive, dead, old, slow; each once. */
    const char *a = strstr(p, "\"instance\":\"alive\"");
    const char *d = strstr(p, "\"instance\":\"dead\"");
    const char *o1 = strstr(p, "\"instance\":\"old\"");
    const char *sl = strstr(p, "\"instance\":\"slow\"");
    if (!a || !d || !o1 || !sl || !(a < d && d < o1 && o1 < sl))
        fail_msg("listing: %s", p);
    const char *src1 = strstr(o1, "\"intervalSource\"");
    assert_true(src1 && src1 < sl && strstr(src1 + 1, "\"intervalSource\"") > sl); /* once */
    assert_true(strstr(a, "\"up\":true") < d);
    assert_true(strstr(a, "\"intervalSource\":\"observed\"") < d);
    assert_true(strstr(a, "\"interval\":\"10s\"") < d);
    assert_true(strstr(d, "\"up\":false") < o1);
    assert_true(strstr(o1, "\"up\":false") < sl);
    assert_true(strstr(o1, "\"kernel\":\"6.1\"") < sl); /* the newest series */
    assert_non_null(strstr(sl, "\"up\":true"));         /* 2 min < 3 × 1 m */
    assert_non_null(strstr(sl, "\"intervalSource\":\"config\""));
    assert_int_equal(call(s, "POST", "/api/v1/agents", &out, 0), 405);
    buf_fini(&out);
    storage_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_display, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_persisted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
