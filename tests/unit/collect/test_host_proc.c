/* test_host_proc.c: the "proc" group (collect/host_proc.c): CPU ratios from
 * two scans of a fake /proc written here, top-N selection, pid reuse, the
 * grouping by name and user with no pid label (restarts make no new
 * series), and the node_processes_* counts; then a scan of the real /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host_collect.h"

static char root[512];

/* Series of the batch carrying label `name`. */
static size_t count_label(const struct batch *b, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        n += labels_get(b->labels + s->label_off, s->nlabels, strv_c(name)).p != NULL;
    }
    return n;
}

static void write_proc(int pid, const char *comm, char state, unsigned long utime,
                       unsigned long stime, int threads, unsigned long start, unsigned long rss)
{
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/%d", root, pid);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/stat", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "%d (%s) %c 1 %d %d 0 -1 4194560 100 0 0 0 %lu %lu 0 0 20 -5 %d 0 %lu 12345678 %lu "
            "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
            pid, comm, state, pid, pid, utime, stime, threads, start, rss);
    fclose(f);
}

static void rm_proc(int pid)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%d/stat", root, pid);
    unlink(path);
    snprintf(path, sizeof path, "%s/%d", root, pid);
    rmdir(path);
}

static void test_top_n(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(root, sizeof root, "%s/tide-proc-XXXXXX", tmp);
    assert_non_null(mkdtemp(root));
    double hz = (double)sysconf(_SC_CLK_TCK);

    write_proc(100, "busy", 'R', 60, 40, 4, 1000, 256);
    write_proc(200, "idle) (x", 'S', 30, 20, 1, 1100, 10);
    write_proc(300, "old", 'S', 5, 5, 1, 1200, 1);

    struct host_opts o;
    host_opts_init(&o);
    o.proc_root = root;
    o.top_n = 3;
    o.instance = "h";
    struct host_collector *h = NULL;
    assert_int_equal(host_collector_new(&o, &h, NULL), 0);
    struct batch b;
    batch_init(&b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 10000, &b, NULL), 0);
    /* the first scan has no delta: counts only */
    assert_int_equal(count_series(&b, "tide_process_cpu_usage_ratio"), 0);
    double v;
    assert_true(find_value(&b, &v, "node_processes_pids", NULL) && v == 3);
    assert_true(find_value(&b, &v, "node_processes_threads", NULL) && v == 6);
    assert_true(find_value(&b, &v, "node_processes_state", "state", "S", NULL) && v == 2);
    assert_true(find_value(&b, &v, "node_processes_state", "state", "R", NULL) && v == 1);

    /* two seconds later */
    write_proc(100, "busy", 'R', 160, 140, 4, 1000, 512);  /* +200 ticks */
    write_proc(200, "idle) (x", 'S', 35, 25, 1, 1100, 10); /* +10 */
    write_proc(300, "new", 'S', 30, 10, 1, 9000, 2);       /* pid reused: 40 */
    write_proc(400, "born", 'D', 15, 5, 2, 9100, 3);       /* new: 20 */
    batch_reset(&b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 12000, &b, NULL), 0);
    struct passwd *pw = getpwuid(geteuid());
    const char *user = pw ? pw->pw_name : "0";
    const struct want wants[] = {
        {"tide_process_cpu_usage_ratio", "name", "busy", "user", user, 200 / hz / 2},
        {"tide_process_cpu_usage_ratio", "name", "new", "user", user, 40 / hz / 2},
        {"tide_process_cpu_usage_ratio", "name", "born", "user", user, 20 / hz / 2},
        {"tide_process_resident_memory_bytes", "name", "busy", NULL, NULL,
         512.0 * (double)sysconf(_SC_PAGESIZE)},
        {"tide_process_pid", "name", "busy", "user", user, 100},
        {"tide_process_pid", "name", "new", NULL, NULL, 300},
        {"tide_process_count", "name", "busy", NULL, NULL, 1},
        {"node_processes_pids", NULL, NULL, NULL, NULL, 4},
        {"node_processes_state", "state", "D", NULL, NULL, 1},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    assert_int_equal(count_series(&b, "tide_process_cpu_usage_ratio"), 3);
    assert_int_equal(count_series(&b, "tide_process_resident_memory_bytes"), 3);
    assert_int_equal(count_series(&b, "tide_process_count"), 3);
    assert_int_equal(count_series(&b, "tide_process_pid"), 3);
    assert_int_equal(count_label(&b, "pid"), 0);

    /* a process gone and a comm with parens */
    rm_proc(100);
    write_proc(200, "idle) (x", 'S', 135, 25, 1, 1100, 10); /* +100 */
    batch_reset(&b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 13000, &b, NULL), 0);
    assert_true(find_value(&b, &v, "tide_process_cpu_usage_ratio", "name", "idle) (x", NULL));
    assert_true(v == 100 / hz / 1);
    assert_true(find_value(&b, &v, "node_processes_pids", NULL) && v == 3);

    batch_fini(&b);
    host_collector_free(h);
    for (int pid = 100; pid <= 400; pid += 100)
        rm_proc(pid);
    rmdir(root);
}

/* Processes of one name and user are one group: ratios and RSS summed, the
 * busiest one's pid as a value. A restart under a new pid, and short-lived
 * workers coming and going, keep the same label sets: no churn. */
static void test_groups_no_churn(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(root, sizeof root, "%s/tide-proc-XXXXXX", tmp);
    assert_non_null(mkdtemp(root));
    double hz = (double)sysconf(_SC_CLK_TCK);
    double page = (double)sysconf(_SC_PAGESIZE);
    write_proc(10, "postgres", 'S', 0, 0, 1, 100, 100);
    write_proc(11, "postgres", 'S', 0, 0, 1, 110, 50);
    write_proc(12, "nginx", 'S', 0, 0, 1, 120, 10);

    struct host_opts o;
    host_opts_init(&o);
    o.proc_root = root;
    o.top_n = 5;
    o.instance = "h";
    struct host_collector *h = NULL;
    assert_int_equal(host_collector_new(&o, &h, NULL), 0);
    struct batch b;
    batch_init(&b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 10000, &b, NULL), 0);

    write_proc(10, "postgres", 'S', 10, 10, 1, 100, 100); /* +20 */
    write_proc(11, "postgres", 'S', 50, 10, 1, 110, 50);  /* +60: the busiest */
    write_proc(13, "postgres", 'S', 10, 0, 1, 130, 25);   /* a new backend: 10 */
    write_proc(12, "nginx", 'S', 5, 0, 1, 120, 10);       /* +5 */
    batch_reset(&b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 11000, &b, NULL), 0);
    const struct want wants[] = {
        {"tide_process_cpu_usage_ratio", "name", "postgres", NULL, NULL, 90 / hz},
        {"tide_process_resident_memory_bytes", "name", "postgres", NULL, NULL, 175 * page},
        {"tide_process_count", "name", "postgres", NULL, NULL, 3},
        {"tide_process_pid", "name", "postgres", NULL, NULL, 11},
        {"tide_process_cpu_usage_ratio", "name", "nginx", NULL, NULL, 5 / hz},
        {"tide_process_pid", "name", "nginx", NULL, NULL, 12},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    assert_int_equal(count_series(&b, "tide_process_cpu_usage_ratio"), 2);

    /* Many restarts later: every pid changed, the series did not. */
    for (int round = 0; round < 20; round++) {
        int base = 1000 + round * 10;
        for (int pid = 10; pid < 1000 + 200; pid++)
            if (pid < base || pid >= base + 10)
                rm_proc(pid);
        write_proc(base, "postgres", 'S', 1 + round, 0, 1, 1000 + (unsigned long)round, 100);
        write_proc(base + 1, "nginx", 'S', 1, 0, 1, 1000 + (unsigned long)round, 10);
        batch_reset(&b);
        assert_int_equal(host_collect_group(h, HOST_PROC, 12000 + round * 1000, &b, NULL), 0);
        assert_int_equal(count_series(&b, "tide_process_cpu_usage_ratio"), 2);
        double v;
        assert_true(find_value(&b, &v, "tide_process_pid", "name", "postgres", NULL));
        assert_true(v == base);
        assert_true(find_value(&b, &v, "tide_process_count", "name", "nginx", NULL) && v == 1);
        assert_int_equal(count_label(&b, "pid"), 0);
    }
    batch_fini(&b);
    host_collector_free(h);
    for (int pid = 10; pid < 1200; pid++)
        rm_proc(pid);
    rmdir(root);
}

static void test_real_proc(void **state)
{
    struct host_opts o;
    struct batch b;
    struct host_collector *h = real_collector(&o, &b);
    assert_int_equal(host_collect_group(h, HOST_PROC, 1000, &b, NULL), 0);
    batch_reset(&b);
    /* burn a little CPU so this process has a ratio */
    volatile double x = 0;
    for (int i = 0; i < 20000000; i++)
        x += i;
    assert_int_equal(host_collect_group(h, HOST_PROC, 2000, &b, NULL), 0);
    size_t ntop = count_series(&b, "tide_process_cpu_usage_ratio");
    assert_true(ntop >= 1 && ntop <= HOST_TOP_N_DEFAULT);
    double v;
    assert_true(find_value(&b, &v, "node_processes_pids", NULL) && v >= 1);
    batch_fini(&b);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_n),
        cmocka_unit_test(test_groups_no_churn),
        cmocka_unit_test(test_real_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
