/* test_host_service.c: the "service" group (collect/host_service.c): how a
 * command's result maps to a state, a fake systemctl (including one that
 * hangs past the timeout), and the process-name fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/host_int.h"
#include "core/time.h"
#include "host_test.h"

static void test_state_mapping(void **state)
{
    const struct {
        const char *out;
        int exit_code;
        const char *want;
    } sc[] = {
        {"LoadState=loaded\nActiveState=active\nSubState=running\n", 0, "running"},
        {"LoadState=loaded\nActiveState=reloading\nSubState=reload\n", 0, "running"},
        {"LoadState=loaded\nActiveState=inactive\nSubState=dead\n", 0, "stopped"},
        {"LoadState=loaded\nActiveState=failed\nSubState=failed\n", 0, "stopped"},
        {"LoadState=not-found\nActiveState=inactive\nSubState=dead\n", 0, "not_found"},
        {"LoadState=loaded\nActiveState=activating\nSubState=start\n", 0, "unknown"},
        {"", 0, "unknown"},
        {"", 1, "error"},
        {"LoadState=loaded\nActiveState=active\n", -1, "error"}, /* killed by a signal */
    };
    for (size_t i = 0; i < sizeof sc / sizeof *sc; i++) {
        const char *got =
            host__service_state_name(host__service_state_systemctl(sc[i].out, sc[i].exit_code));
        if (strcmp(got, sc[i].want) != 0)
            fail_msg("systemctl case %zu: %s, want %s", i, got, sc[i].want);
    }
    const struct {
        int exit_code;
        const char *want;
    } lsb[] = {{0, "running"}, {1, "stopped"}, {2, "stopped"}, {3, "stopped"},
               {4, "unknown"}, {5, "error"},   {127, "error"}, {-1, "error"}};
    for (size_t i = 0; i < sizeof lsb / sizeof *lsb; i++) {
        const char *got = host__service_state_name(host__service_state_lsb(lsb[i].exit_code));
        if (strcmp(got, lsb[i].want) != 0)
            fail_msg("lsb case %d: %s, want %s", lsb[i].exit_code, got, lsb[i].want);
    }
}

static const char fake_systemctl[] =
    "#!/bin/sh\n"
    "# argv: show -p LoadState,ActiveState,SubState NAME\n"
    "[ \"$1\" = show ] && [ \"$2\" = -p ] || exit 99\n"
    "case \"$4\" in\n"
    "web) printf 'LoadState=loaded\\nActiveState=active\\nSubState=running\\n' ;;\n"
    "db) printf 'LoadState=loaded\\nActiveState=failed\\nSubState=failed\\n' ;;\n"
    "gone) printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\n' ;;\n"
    "slow) exec sleep 30 ;;\n"
    "bad) exit 1 ;;\n"
    "*) printf 'LoadState=loaded\\nActiveState=activating\\n' ;;\n"
    "esac\n";

static void test_fake_systemctl(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/tide-svc-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/systemctl", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(fake_systemctl, f);
    fclose(f);
    chmod(path, 0755);

    const char *svcs[] = {"web", "db", "gone", "slow", "bad", "odd"};
    struct host_opts o;
    host_opts_init(&o);
    o.instance = "h";
    o.services = svcs;
    o.nservices = 6;
    o.systemctl_path = path;
    o.service_timeout_ms = 400;
    struct host_collector *h = NULL;
    assert_int_equal(host_collector_new(&o, &h, NULL), 0);
    struct batch b;
    batch_init(&b);
    int64_t t0 = time_mono_ns();
    assert_int_equal(host_collect_group(h, HOST_SERVICE, 1000, &b, NULL), 0);
    int64_t took_ms = (time_mono_ns() - t0) / 1000000;
    /* the hung command was killed at the shared deadline, not waited for */
    assert_true(took_ms < 5000);
    const char *want[] = {"running", "stopped", "not_found", "timeout", "error", "unknown"};
    const char *states[] = {"running", "stopped", "not_found", "timeout", "error", "unknown"};
    for (size_t i = 0; i < 6; i++)
        for (size_t s = 0; s < 6; s++) {
            double v = -1;
            assert_true(find_value(&b, &v, "tide_service_state", "service", svcs[i], "state",
                                   states[s], NULL));
            if (v != (strcmp(states[s], want[i]) == 0 ? 1 : 0))
                fail_msg("%s{state=%s} = %g, want state %s", svcs[i], states[s], v, want[i]);
        }
    assert_int_equal(b.nseries, 36);
    /* and again: the runs are reused */
    batch_reset(&b);
    assert_int_equal(host_collect_group(h, HOST_SERVICE, 2000, &b, NULL), 0);
    assert_int_equal(b.nseries, 36);
    batch_fini(&b);
    host_collector_free(h);
    unlink(path);
    rmdir(dir);
}

static void test_process_fallback(void **state)
{
    if (access("/run/systemd/system", F_OK) == 0)
        skip(); /* systemd runs here: the group would ask systemctl */
    /* the kernel cuts comm at 15 bytes; so does the match */
    const char *svcs[] = {program_invocation_short_name, "tide-no-such-svc"};
    struct host_opts o;
    host_opts_init(&o);
    o.services = svcs;
    o.nservices = 2;
    struct host_collector *h = NULL;
    assert_int_equal(host_collector_new(&o, &h, NULL), 0);
    struct batch b;
    batch_init(&b);
    assert_int_equal(host_collect_group(h, HOST_SERVICE, 1000, &b, NULL), 0);
    double v;
    assert_true(
        find_value(&b, &v, "tide_service_state", "service", svcs[0], "state", "running", NULL));
    assert_true(v == 1);
    assert_true(
        find_value(&b, &v, "tide_service_state", "service", svcs[1], "state", "stopped", NULL));
    assert_true(v == 1);
    batch_fini(&b);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_mapping),
        cmocka_unit_test(test_fake_systemctl),
        cmocka_unit_test(test_process_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
