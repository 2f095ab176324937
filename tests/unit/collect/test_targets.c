/* test_targets.c: the targets manager (collect/targets.c): runs at start,
 * interval changes taking effect at once, partial failures reported and
 * delivered, health and last error, target labels, stale markers for
 * series that disappear and for removed or disabled targets, serial keys,
 * backoff, passive targets and their persistence, a prompt stop, and the
 * misuse it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/targets.h"
#include "core/time.h"

/* A fake device: emits series x{i="0"} .. x{i="nseries-1"} each run. */
struct dev {
    atomic_int runs;
    atomic_int nseries;
    atomic_int fail;    /* return an error after emitting */
    atomic_int busy;    /* runs in progress: checks serial keys */
    atomic_int overlap; /* set when two runs of one serial key overlapped */
    int sleep_ms;
};

static atomic_int dev_opened, dev_closed;

/* The device a target named `name` opens (set by add_dev before the add). */
static struct dev *next_dev;

static int dev_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    if (spec->address && strcmp(spec->address, "refuse") == 0)
        return ERR_INVAL(e, "dev: refused %s", spec->address);
    *state = next_dev;
    atomic_fetch_add(&dev_opened, 1);
    return 0;
}

static int dev_collect(void *state, int64_t now_ms, struct batch *out, struct err *e)
{
    struct dev *d = state;
    if (atomic_fetch_add(&d->busy, 1) != 0)
        atomic_store(&d->overlap, 1);
    atomic_fetch_add(&d->runs, 1);
    if (d->sleep_ms) {
        struct timespec ts = {0, d->sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    int n = atomic_load(&d->nseries);
    for (int i = 0; i < n; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        batch_begin_series(out);
        batch_add_label(out, STRV_LIT("__name__"), STRV_LIT("x"));
        batch_add_label(out, STRV_LIT("i"), strv_c(batch_strdup(out, v, strlen(v))));
        batch_add_sample(out, now_ms, i);
        batch_end_series(out);
    }
    atomic_fetch_sub(&d->busy, 1);
    if (atomic_load(&d->fail))
        return ERR_SET(e, -EHOSTUNREACH, "dev: no route to device");
    return 0;
}

static void dev_close(void *state)
{
    atomic_fetch_add(&dev_closed, 1);
}

static const struct target_kind dev_kind = {
    .name = "dev", .open = dev_open, .collect = dev_collect, .close = dev_close};
static const struct target_kind agent_kind = {.name = "agent", .passive = true};

/* What the sink saw. */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static int seen_samples, seen_stale, seen_with_site;
static char last_stale_i[16];

static int sink(void *ctx, struct batch *b, struct err *e)
{
    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        struct strv site = labels_get(ls, s->nlabels, STRV_LIT("site"));
        if (site.p && strv_eq(site, STRV_LIT("tbilisi")))
            seen_with_site++;
        for (uint32_t j = 0; j < s->nsamples; j++) {
            uint64_t bits;
            memcpy(&bits, &b->samples[s->sample_off + j].v, 8);
            if (bits == STALE_NAN_BITS) {
                seen_stale++;
                struct strv iv = labels_get(ls, s->nlabels, STRV_LIT("i"));
                snprintf(last_stale_i, sizeof last_stale_i, "%.*s", (int)iv.n, iv.p);
            } else {
                seen_samples++;
            }
        }
    }
    pthread_mutex_unlock(&seen_mu);
    return 0;
}

static atomic_int errors;

static void on_error(void *ctx, const char *kind, const char *name, int code, const struct err *e)
{
    if (strcmp(name, "bad") == 0 && code == -EHOSTUNREACH && strstr(e->msg, "no route"))
        atomic_fetch_add(&errors, 1);
}

static int locked_int(int *v)
{
    pthread_mutex_lock(&seen_mu);
    int x = *v;
    pthread_mutex_unlock(&seen_mu);
    return x;
}

static void reset_seen(void)
{
    pthread_mutex_lock(&seen_mu);
    seen_samples = seen_stale = seen_with_site = 0;
    last_stale_i[0] = 0;
    pthread_mutex_unlock(&seen_mu);
}

static void wait_atomic(atomic_int *v, int at_least)
{
    int64_t until = time_mono_ns() + 10 * 1000000000LL;
    while (atomic_load(v) < at_least && time_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

static void wait_int(int *v, int at_least)
{
    int64_t until = time_mono_ns() + 10 * 1000000000LL;
    while (locked_int(v) < at_least && time_mono_ns() < until) {
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

static struct targets *manager(void)
{
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 3, .sink = sink, .on_error = on_error};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &dev_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &dev_kind, NULL), TIDE_EINVAL);
    return m;
}

static int add_dev(struct targets *m, const char *name, struct dev *d, int64_t interval_ms,
                   const struct label *ls, size_t nls, const void *serial)
{
    next_dev = d;
    struct target_spec s = {.kind = "dev",
                            .name = name,
                            .interval_ms = interval_ms,
                            .labels = ls,
                            .nlabels = nls,
                            .serial = serial};
    struct err e = {0};
    return targets_add(m, &s, &e);
}

static void test_run_interval_health(void **state)
{
    reset_seen();
    struct targets *m = manager();
    struct dev slow = {.nseries = 1}, bad = {.nseries = 1, .fail = 1};
    struct label site = {STRV_LIT("site"), STRV_LIT("tbilisi")};
    assert_int_equal(add_dev(m, "slow", &slow, 3600 * 1000, &site, 1, NULL), 0);
    assert_int_equal(add_dev(m, "bad", &bad, 3600 * 1000, NULL, 0, NULL), 0);
    assert_int_equal(add_dev(m, "slow", &slow, 1000, NULL, 0, NULL), TIDE_EINVAL);
    assert_int_equal(add_dev(m, "tiny", &slow, 1, NULL, 0, NULL), TIDE_EINVAL);
    struct target_spec unknown = {.kind = "nope", .name = "n", .interval_ms = 1000};
    struct err e = {0};
    assert_int_equal(targets_add(m, &unknown, &e), TIDE_ENOTFOUND);
    struct target_spec refused = {
        .kind = "dev", .name = "r", .address = "refuse", .interval_ms = 1000};
    assert_int_equal(targets_add(m, &refused, &e), TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "refused"));

    struct target_status st;
    assert_int_equal(targets_get(m, "dev", "slow", &st), 0);
    assert_int_equal(st.health, TARGET_UNKNOWN);
    assert_int_equal(targets_start(m, &e), 0);
    assert_int_equal(targets_start(m, &e), TIDE_EINVAL);
    assert_int_equal(targets_register_kind(m, &agent_kind, NULL), TIDE_EINVAL);

    /* both run at start; the failing one is reported and still delivered */
    wait_atomic(&slow.runs, 1);
    wait_atomic(&errors, 1);
    wait_int(&seen_samples, 2);
    assert_int_equal(atomic_load(&errors), 1);
    assert_int_equal(locked_int(&seen_with_site), 1); /* target label added */

    /* an hour's interval cut to 100 ms is seen now, not in an hour */
    assert_int_equal(targets_set_interval(m, "dev", "slow", 100), 0);
    wait_atomic(&slow.runs, 4);
    assert_int_equal(targets_get(m, "dev", "slow", &st), 0);
    assert_int_equal(st.interval_ms, 100);
    assert_true(st.runs >= 3);
    assert_int_equal(st.last_samples, 1);
    assert_int_equal(st.health, TARGET_UP);
    assert_string_equal(st.last_error, "");
    assert_int_equal(targets_get(m, "dev", "bad", &st), 0);
    assert_int_equal(st.health, TARGET_DOWN);
    assert_string_equal(st.last_error, "dev: no route to device");
    assert_int_equal(st.failures, st.runs);
    assert_int_equal(targets_set_interval(m, "dev", "nope", 1000), TIDE_ENOTFOUND);
    assert_int_equal(targets_set_interval(m, "dev", "slow", 5), TIDE_EINVAL);

    struct target_status *all = NULL;
    size_t n = 0;
    assert_int_equal(targets_list(m, NULL, &all, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "slow");
    assert_string_equal(all[1].name, "bad");
    free(all);

    /* back to an hour: stop must not wait for it */
    assert_int_equal(targets_set_interval(m, "dev", "slow", 3600 * 1000), 0);
    int64_t t0 = time_mono_ns();
    targets_stop(m);
    targets_stop(m);
    assert_true(time_mono_ns() - t0 < 2000000000LL);
    int closed = atomic_load(&dev_closed);
    targets_free(m);
    assert_int_equal(atomic_load(&dev_closed), closed + 2);
}

static void test_staleness(void **state)
{
    reset_seen();
    struct targets *m = manager();
    struct dev d = {.nseries = 3};
    struct err e = {0};
    assert_int_equal(add_dev(m, "d", &d, 100, NULL, 0, NULL), 0);
    assert_int_equal(targets_start(m, &e), 0);
    wait_atomic(&d.runs, 2);
    assert_int_equal(locked_int(&seen_stale), 0);

    /* x{i="2"} disappears: one stale marker, for it */
    atomic_store(&d.nseries, 2);
    wait_int(&seen_stale, 1);
    int runs = atomic_load(&d.runs);
    wait_atomic(&d.runs, runs + 2);
    assert_int_equal(locked_int(&seen_stale), 1);
    pthread_mutex_lock(&seen_mu);
    assert_string_equal(last_stale_i, "2");
    pthread_mutex_unlock(&seen_mu);

    /* disabled: both remaining series go stale, and it stops running */
    assert_int_equal(targets_set_enabled(m, "dev", "d", false), 0);
    wait_int(&seen_stale, 3);
    runs = atomic_load(&d.runs);
    usleep(400000);
    assert_int_equal(atomic_load(&d.runs), runs);
    assert_int_equal(locked_int(&seen_stale), 3);
    struct target_status st;
    assert_int_equal(targets_get(m, "dev", "d", &st), 0);
    assert_false(st.enabled);
    assert_int_equal(st.stale_markers, 3);

    /* enabled again: runs at once; removed: stale markers again, closed */
    assert_int_equal(targets_set_enabled(m, "dev", "d", true), 0);
    wait_atomic(&d.runs, runs + 1);
    wait_int(&seen_samples, 1);
    usleep(150000);
    assert_int_equal(targets_remove(m, "dev", "d"), 0);
    assert_int_equal(targets_remove(m, "dev", "d"), TIDE_ENOTFOUND);
    assert_int_equal(locked_int(&seen_stale), 5);
    assert_int_equal(targets_get(m, "dev", "d", &st), TIDE_ENOTFOUND);
    targets_free(m);
}

static void test_serial_and_backoff(void **state)
{
    reset_seen();
    struct targets *m = manager();
    struct dev shared = {.nseries = 1, .sleep_ms = 30};
    struct dev down = {.nseries = 0, .fail = 1};
    struct err e = {0};
    static const int key = 0;
    assert_int_equal(add_dev(m, "a", &shared, 100, NULL, 0, &key), 0);
    assert_int_equal(add_dev(m, "b", &shared, 100, NULL, 0, &key), 0);
    assert_int_equal(add_dev(m, "c", &shared, 100, NULL, 0, &key), 0);
    assert_int_equal(add_dev(m, "down", &down, 100, NULL, 0, NULL), 0);
    assert_int_equal(targets_start(m, &e), 0);
    wait_atomic(&shared.runs, 12);
    assert_int_equal(atomic_load(&shared.overlap), 0); /* never two at once */

    /* after consecutive failures the runs thin out: 100, 200, 400, 800 ms... */
    usleep(1500000);
    struct target_status st;
    assert_int_equal(targets_get(m, "dev", "down", &st), 0);
    assert_true(st.consecutive_failures >= 3);
    assert_true(st.runs <= 7); /* 15 without backoff */
    targets_free(m);
}

static void test_passive_persist(void **state)
{
    char dir[] = "/tmp/tide-targets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/agents.conf", dir);
    FILE *f = fopen(path, "w");
    fputs("web-1\t5000\n", f);
    fclose(f);

    struct targets *m = manager();
    assert_int_equal(targets_register_kind(m, &agent_kind, NULL), 0);
    struct err e = {0};
    assert_int_equal(targets_persist(m, "agent", path, &e), 0);
    struct target_status st;
    assert_int_equal(targets_get(m, "agent", "web-1", &st), 0);
    assert_int_equal(st.interval_ms, 5000);
    assert_true(st.passive);
    assert_int_equal(targets_seen(m, "agent", "web-1", 1234), 0);
    assert_int_equal(targets_get(m, "agent", "web-1", &st), 0);
    assert_int_equal(st.health, TARGET_UP);
    assert_int_equal(st.last_run_ms, 1234);
    struct target_spec s = {.kind = "agent", .name = "db-1", .interval_ms = 1000};
    assert_int_equal(targets_add(m, &s, &e), 0);
    assert_int_equal(targets_set_interval(m, "agent", "web-1", 2000), 0);
    assert_int_equal(targets_remove(m, "agent", "db-1"), 0);
    targets_free(m);

    char *text = NULL;
    f = fopen(path, "r");
    char line[128] = "";
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "web-1\t2000\n");
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    free(text);

    f = fopen(path, "w");
    fputs("web-1\tfast\n", f);
    fclose(f);
    m = manager();
    assert_int_equal(targets_register_kind(m, &agent_kind, NULL), 0);
    assert_int_equal(targets_persist(m, "agent", path, &e), TIDE_EPARSE);
    assert_int_equal(e.line, 1);
    targets_free(m);
    unlink(path);
    rmdir(dir);
}

static void test_free_unstarted(void **state)
{
    struct targets *m = manager();
    targets_free(m);
    targets_free(NULL);
    struct targets_opts o = {0};
    assert_int_equal(targets_new(&m, &o), TIDE_EINVAL);
    assert_null(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_interval_health),
        cmocka_unit_test(test_staleness),
        cmocka_unit_test(test_serial_and_backoff),
        cmocka_unit_test(test_passive_persist),
        cmocka_unit_test(test_free_unstarted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
