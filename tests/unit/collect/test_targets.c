/* test_targets.c: the targets manager (collect/targets.c): runs at start,
 * interval changes taking effect at once, partial failures reported and
 * delivered, health and last error, target labels, stale markers for
 * series that disappear and for removed or disabled targets, serial keys,
 * backoff, passive targets and their persistence, a prompt stop, and the
 * misuse it refuses; asynchronous kinds (many runs in flight on one
 * worker, meta series, job/instance), the spread of first runs, and a
 * free while runs are in flight. */
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
static int seen_zone, seen_i_target, seen_unsorted; /* test_target_labels_merge */
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
        struct strv zone = labels_get(ls, s->nlabels, STRV_LIT("zone"));
        struct strv idx = labels_get(ls, s->nlabels, STRV_LIT("i"));
        seen_zone += zone.p && strv_eq(zone, STRV_LIT("a"));
        seen_i_target += idx.p && strv_eq(idx, STRV_LIT("target"));
        for (uint32_t k = 1; k < s->nlabels; k++)
            seen_unsorted += strv_cmp(ls[k - 1].name, ls[k].name) >= 0;
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
    seen_zone = seen_i_target = seen_unsorted = 0;
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

/* A display-rate lease: an hour's target runs every 100 ms while the lease
 * lasts, its configured interval untouched, and lapses back by itself; a
 * lease slower than the interval changes nothing; 0 ends it at once. */
/* Target labels join every series in label order; a label the series has
 * itself (here "i") keeps the series' value. */
static void test_target_labels_merge(void **state)
{
    reset_seen();
    struct targets *m = manager();
    struct dev d = {.nseries = 3};
    struct label ls[] = {{STRV_LIT("zone"), STRV_LIT("a")},
                         {STRV_LIT("i"), STRV_LIT("target")},
                         {STRV_LIT("aa"), STRV_LIT("first")}};
    assert_int_equal(add_dev(m, "merge", &d, 3600 * 1000, ls, 3, NULL), 0);
    struct err e = {0};
    assert_int_equal(targets_start(m, &e), 0);
    wait_int(&seen_samples, 3);
    targets_free(m);
    assert_int_equal(locked_int(&seen_samples), 3);
    assert_int_equal(locked_int(&seen_zone), 3);
    assert_int_equal(locked_int(&seen_i_target), 0);
    assert_int_equal(locked_int(&seen_unsorted), 0);
}

static void test_lease_interval(void **state)
{
    reset_seen();
    struct targets *m = manager();
    struct dev d = {.nseries = 1};
    assert_int_equal(add_dev(m, "watched", &d, 3600 * 1000, NULL, 0, NULL), 0);
    struct err e = {0};
    assert_int_equal(targets_start(m, &e), 0);
    wait_atomic(&d.runs, 1);
    assert_int_equal(targets_lease_interval(m, "dev", "nope", 100, 0), TIDE_ENOTFOUND);
    assert_int_equal(targets_lease_interval(m, "dev", "watched", 5, 0), TIDE_EINVAL);

    int64_t until = time_mono_ns() + 60 * 1000000000LL;
    assert_int_equal(targets_lease_interval(m, "dev", "watched", 100, until), 0);
    wait_atomic(&d.runs, 4); /* an hour's interval would give one run */
    assert_true(atomic_load(&d.runs) >= 4);
    struct target_status st;
    assert_int_equal(targets_get(m, "dev", "watched", &st), 0);
    assert_int_equal(st.interval_ms, 3600 * 1000);
    assert_int_equal(st.lease_interval_ms, 100);

    /* ended at once: at most the run already due follows */
    assert_int_equal(targets_lease_interval(m, "dev", "watched", 0, 0), 0);
    assert_int_equal(targets_get(m, "dev", "watched", &st), 0);
    assert_int_equal(st.lease_interval_ms, 0);
    struct timespec ts = {0, 150000000};
    nanosleep(&ts, NULL);
    int after_end = atomic_load(&d.runs);
    nanosleep(&ts, NULL);
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&d.runs), after_end);

    /* a lease that lapses by itself: nobody renews it */
    until = time_mono_ns() + 300 * 1000000LL;
    assert_int_equal(targets_lease_interval(m, "dev", "watched", 100, until), 0);
    wait_atomic(&d.runs, after_end + 2);
    while (time_mono_ns() < until + 150 * 1000000LL)
        nanosleep(&ts, NULL);
    assert_int_equal(targets_get(m, "dev", "watched", &st), 0);
    assert_int_equal(st.lease_interval_ms, 0);
    int lapsed = atomic_load(&d.runs);
    nanosleep(&ts, NULL);
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&d.runs), lapsed);

    /* a lease slower than the interval is not in force */
    assert_int_equal(targets_set_interval(m, "dev", "watched", 200), 0);
    assert_int_equal(targets_lease_interval(m, "dev", "watched", 1000, until + 60000000000LL), 0);
    assert_int_equal(targets_get(m, "dev", "watched", &st), 0);
    assert_int_equal(st.lease_interval_ms, 0);
    targets_free(m);
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

/* ---- asynchronous kinds ---- */

/* A fake engine thread: each started run waits `delay_ms` in a queue, then
 * emits `nseries` series (or fails) and calls done from the engine thread. */
struct arun {
    struct adev *d;
    struct batch *out;
    target_done_fn *done;
    void *token;
    int64_t due_ns, now_ms;
};

struct adev {
    int nseries, fail, delay_ms;
    atomic_int runs;
};

static pthread_mutex_t eng_mu = PTHREAD_MUTEX_INITIALIZER;
static struct arun eng_q[256];
static int eng_n, eng_stop, eng_inflight, eng_max_inflight;
static pthread_t eng_thread;

static void *eng_main(void *arg)
{
    pthread_mutex_lock(&eng_mu);
    while (!eng_stop) {
        int64_t now = time_mono_ns();
        int i = 0;
        for (; i < eng_n; i++)
            if (eng_q[i].due_ns <= now)
                break;
        if (i == eng_n) {
            pthread_mutex_unlock(&eng_mu);
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&eng_mu);
            continue;
        }
        struct arun r = eng_q[i];
        eng_q[i] = eng_q[--eng_n];
        eng_inflight--;
        pthread_mutex_unlock(&eng_mu);
        for (int k = 0; k < r.d->nseries; k++) {
            char v[16];
            snprintf(v, sizeof v, "%d", k);
            batch_begin_series(r.out);
            batch_add_label(r.out, STRV_LIT("__name__"), STRV_LIT("ifOperStatus"));
            batch_add_label(r.out, STRV_LIT("ifIndex"), strv_c(batch_strdup(r.out, v, strlen(v))));
            batch_add_sample(r.out, r.now_ms, 1);
            batch_end_series(r.out);
        }
        atomic_fetch_add(&r.d->runs, 1);
        struct err e = {0};
        if (r.d->fail) {
            batch_reset(r.out);
            ERR_SET(&e, -ETIMEDOUT, "adev: timeout (1 s, 0 retries)");
        }
        r.done(r.token, r.d->fail ? -ETIMEDOUT : 0, &e);
        pthread_mutex_lock(&eng_mu);
    }
    pthread_mutex_unlock(&eng_mu);
    return NULL;
}

static int adev_open(void *kind_ctx, const struct target_spec *spec, void **state, struct err *e)
{
    *state = (void *)next_dev; /* an adev (or a struct held), passed through next_dev */
    return 0;
}

static int adev_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                      void *token, struct err *e)
{
    struct adev *d = state;
    if (d->fail == 2)
        return ERR_SET(e, -ENETUNREACH, "adev: cannot send");
    pthread_mutex_lock(&eng_mu);
    eng_q[eng_n++] =
        (struct arun){d, out, done, token, time_mono_ns() + d->delay_ms * 1000000LL, now_ms};
    if (++eng_inflight > eng_max_inflight)
        eng_max_inflight = eng_inflight;
    pthread_mutex_unlock(&eng_mu);
    return 0;
}

static const struct target_kind adev_kind = {
    .name = "snmp", .meta_series = true, .open = adev_open, .start = adev_start};
static const struct target_kind spread_kind = {
    .name = "spread", .spread = true, .open = adev_open, .start = adev_start};

/* What the sink saw of meta series: up by instance, and job/instance labels. */
static struct {
    int up_ok, up_fail, scraped3, with_job_instance, custom_job;
} meta;

static int meta_sink(void *ctx, struct batch *b, struct err *e)
{
    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        struct strv name = labels_get(ls, s->nlabels, STRV_LIT("__name__"));
        struct strv job = labels_get(ls, s->nlabels, STRV_LIT("job"));
        struct strv inst = labels_get(ls, s->nlabels, STRV_LIT("instance"));
        double v = b->samples[s->sample_off].v;
        if (job.p && strv_eq(job, STRV_LIT("snmp")) && inst.p)
            meta.with_job_instance++;
        if (job.p && strv_eq(job, STRV_LIT("routers")))
            meta.custom_job++;
        if (strv_eq(name, STRV_LIT("up")) && inst.p && strv_eq(inst, STRV_LIT("192.0.2.1:161")))
            v == 1 ? meta.up_ok++ : meta.up_fail++;
        if (strv_eq(name, STRV_LIT("up")) && inst.p && strv_eq(inst, STRV_LIT("192.0.2.9:161")) &&
            v == 0)
            meta.up_fail++;
        if (strv_eq(name, STRV_LIT("scrape_samples_scraped")) && v == 3)
            meta.scraped3++;
    }
    pthread_mutex_unlock(&seen_mu);
    return 0;
}

static int add_adev(struct targets *m, const char *kind, const char *name, const char *address,
                    struct adev *d, const struct label *ls, size_t nls)
{
    next_dev = (struct dev *)(void *)d;
    struct target_spec s = {.kind = kind,
                            .name = name,
                            .address = address,
                            .interval_ms = 3600 * 1000,
                            .labels = ls,
                            .nlabels = nls};
    struct err e = {0};
    return targets_add(m, &s, &e);
}

/* One worker, 40 devices each answering after 300 ms: the runs overlap (no
 * worker waits for a device), every one is delivered with job, instance and
 * the meta series; failures give up 0 and a last error. */
static void test_async(void **state)
{
    memset(&meta, 0, sizeof meta);
    eng_stop = 0;
    eng_max_inflight = 0;
    assert_int_equal(pthread_create(&eng_thread, NULL, eng_main, NULL), 0);
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 1, .sink = meta_sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &adev_kind, NULL), 0);
    static struct adev devs[40];
    for (int i = 0; i < 40; i++) {
        devs[i] = (struct adev){.nseries = 3, .delay_ms = 300};
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        assert_int_equal(
            add_adev(m, "snmp", name, i == 0 ? "192.0.2.1:161" : NULL, &devs[i], NULL, 0), 0);
    }
    struct adev down = {.nseries = 3, .fail = 1, .delay_ms = 50};
    struct adev nosend = {.fail = 2};
    struct label job = {STRV_LIT("job"), STRV_LIT("routers")};
    struct adev custom = {.nseries = 1};
    assert_int_equal(add_adev(m, "snmp", "down", "192.0.2.9:161", &down, NULL, 0), 0);
    assert_int_equal(add_adev(m, "snmp", "nosend", NULL, &nosend, NULL, 0), 0);
    assert_int_equal(add_adev(m, "snmp", "custom", NULL, &custom, &job, 1), 0);
    struct err e = {0};
    assert_int_equal(targets_start(m, &e), 0);
    for (int i = 0; i < 40; i++)
        wait_atomic(&devs[i].runs, 1);
    wait_atomic(&down.runs, 1);
    wait_int(&meta.up_fail, 1);
    wait_int(&meta.scraped3, 40);
    wait_int(&meta.custom_job, 2);

    pthread_mutex_lock(&eng_mu);
    int overlap = eng_max_inflight;
    pthread_mutex_unlock(&eng_mu);
    assert_true(overlap >= 2); /* one worker, yet runs in flight together */
    assert_int_equal(locked_int(&meta.up_ok), 1);
    assert_int_equal(locked_int(&meta.up_fail), 1);
    assert_int_equal(locked_int(&meta.scraped3), 40);
    /* r0: 3 series + 3 meta; the other 39 too */
    assert_true(locked_int(&meta.with_job_instance) >= 40 * 6);
    assert_true(locked_int(&meta.custom_job) >= 2); /* its series and its meta */

    struct target_status st;
    assert_int_equal(targets_get(m, "snmp", "r0", &st), 0);
    assert_int_equal(st.health, TARGET_UP);
    assert_int_equal(st.last_samples, 6);
    assert_true(st.last_duration_ns >= 250 * 1000000LL);
    for (int i = 0; i < 500; i++) { /* the failures are accounted after delivery */
        assert_int_equal(targets_get(m, "snmp", "down", &st), 0);
        if (st.runs > 0)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.health, TARGET_DOWN);
    assert_string_equal(st.last_error, "adev: timeout (1 s, 0 retries)");
    assert_int_equal(st.last_samples, 3); /* up, duration, scraped */
    for (int i = 0; i < 500; i++) {
        assert_int_equal(targets_get(m, "snmp", "nosend", &st), 0);
        if (st.runs > 0)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.health, TARGET_DOWN);
    assert_string_equal(st.last_error, "adev: cannot send");

    /* removing a target waits for its run and then closes it */
    assert_int_equal(targets_remove(m, "snmp", "r5"), 0);
    targets_free(m);
    pthread_mutex_lock(&eng_mu);
    eng_stop = 1;
    pthread_mutex_unlock(&eng_mu);
    pthread_join(eng_thread, NULL);
    eng_n = 0;
    eng_inflight = 0;
}

/* A spread kind's target with an hour's interval waits for its offset
 * instead of running at start (the offset is below 1 s once in 3600). */
static void test_spread(void **state)
{
    eng_stop = 0;
    assert_int_equal(pthread_create(&eng_thread, NULL, eng_main, NULL), 0);
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 2, .sink = meta_sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &spread_kind, NULL), 0);
    assert_int_equal(targets_register_kind(m, &adev_kind, NULL), 0);
    struct adev a = {.nseries = 1}, b = {.nseries = 1};
    assert_int_equal(add_adev(m, "spread", "later", NULL, &a, NULL, 0), 0);
    assert_int_equal(add_adev(m, "snmp", "now", NULL, &b, NULL, 0), 0);
    struct err e = {0};
    assert_int_equal(targets_start(m, &e), 0);
    wait_atomic(&b.runs, 1);
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&b.runs), 1);
    assert_int_equal(atomic_load(&a.runs), 0);
    targets_free(m);
    pthread_mutex_lock(&eng_mu);
    eng_stop = 1;
    pthread_mutex_unlock(&eng_mu);
    pthread_join(eng_thread, NULL);
    eng_n = 0;
    eng_inflight = 0;
}

/* A kind whose run stays in flight until close, and whose close ends it
 * with done (allowed: done comes before close returns). */
struct held {
    target_done_fn *done;
    void *token;
    atomic_int started;
};

static int held_start(void *state, int64_t now_ms, struct batch *out, target_done_fn *done,
                      void *token, struct err *e)
{
    struct held *h = state;
    h->done = done;
    h->token = token;
    atomic_fetch_add(&h->started, 1);
    return 0;
}

static void held_close(void *state)
{
    struct held *h = state;
    if (h->done)
        h->done(h->token, -ECANCELED, NULL);
    h->done = NULL;
}

static const struct target_kind held_kind = {
    .name = "held", .open = adev_open, .start = held_start, .close = held_close};

/* Runs in flight at targets_free: each close's done queues its target
 * behind the one closed before, so no target may be freed until every
 * kind state is closed (the done queue links them; ASan catches it). */
static void test_free_with_runs_in_flight(void **state)
{
    struct targets *m = NULL;
    struct targets_opts o = {.workers = 1, .sink = meta_sink};
    assert_int_equal(targets_new(&m, &o), 0);
    assert_int_equal(targets_register_kind(m, &held_kind, NULL), 0);
    static struct held h[3];
    for (int i = 0; i < 3; i++) {
        memset(&h[i], 0, sizeof h[i]);
        char name[16];
        snprintf(name, sizeof name, "h%d", i);
        next_dev = (struct dev *)(void *)&h[i];
        struct target_spec s = {.kind = "held", .name = name, .interval_ms = 3600 * 1000};
        struct err e = {0};
        assert_int_equal(targets_add(m, &s, &e), 0);
    }
    struct err e = {0};
    assert_int_equal(targets_start(m, &e), 0);
    for (int i = 0; i < 3; i++)
        wait_atomic(&h[i].started, 1);
    targets_free(m);
    for (int i = 0; i < 3; i++)
        assert_null(h[i].done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_interval_health),
        cmocka_unit_test(test_target_labels_merge),
        cmocka_unit_test(test_lease_interval),
        cmocka_unit_test(test_staleness),
        cmocka_unit_test(test_serial_and_backoff),
        cmocka_unit_test(test_passive_persist),
        cmocka_unit_test(test_free_unstarted),
        cmocka_unit_test(test_async),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_free_with_runs_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
