/* test_host_disk.c: the "disk" group (collect/host_disk.c): mount filtering,
 * \ooo unescaping, dedup, statfs failure, and diskstats scaling/exclusion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/vfs.h>

#include "host_collect.h"

static void test_filesystems(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    struct batch b;
    struct host_collector *h = fixture_group(&o, HOST_DISK, 1000, &b);
    struct statfs st;
    assert_int_equal(statfs("/", &st), 0);
    const struct want wants[] = {
        {"node_filesystem_device_error", "mountpoint", "/", "device", "/dev/vda", 0},
        {"node_filesystem_size_bytes", "mountpoint", "/", "fstype", "ext4",
         (double)st.f_blocks * (double)st.f_bsize},
        {"node_filesystem_files", "mountpoint", "/", "fstype", "ext4", (double)st.f_files},
        {"node_filesystem_readonly", "mountpoint", "/", NULL, NULL, 0},
        /* "\040" is a space; statfs fails: device_error 1 and nothing else */
        {"node_filesystem_device_error", "mountpoint", "/tide no such dir", "device", "/dev/vdb1",
         1},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    /* proc, sysfs, devtmpfs, tmpfs and cgroup2 are excluded; "/" twice is once */
    assert_int_equal(count_series(&b, "node_filesystem_device_error"), 2);
    assert_int_equal(count_series(&b, "node_filesystem_size_bytes"), 1);
    assert_int_equal(count_series(&b, "node_filesystem_avail_bytes"), 1);
    assert_int_equal(count_series(&b, "node_filesystem_free_bytes"), 1);
    assert_int_equal(count_series(&b, "node_filesystem_files_free"), 1);
    batch_fini(&b);
    host_collector_free(h);
}

static void test_exclusion_options(void **state)
{
    const struct {
        const char *name, *mount_re, *type_re;
        size_t want_fs; /* node_filesystem_device_error series */
    } cases[] = {
        {"defaults", NULL, NULL, 2},
        {"exclude nothing", "", "", 7}, /* 8 lines, "/" twice */
        {"types only", "", NULL, 2},
        {"exclude ext4 too", NULL, "^(ext4|tmpfs|proc|sysfs|devtmpfs|cgroup2)$", 1},
        {"tmpfs kept", "^/(proc|sys|dev)($|/)", "^(proc|sysfs|devtmpfs|cgroup2)$", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct host_opts o;
        host_opts_init(&o);
        o.fs_mount_exclude = cases[i].mount_re;
        o.fs_type_exclude = cases[i].type_re;
        struct host_collector *h = fixture_collector(&o);
        assert_non_null(h);
        struct batch b;
        batch_init(&b);
        host_collect_group(h, HOST_DISK, 1000, &b, NULL);
        size_t got = count_series(&b, "node_filesystem_device_error");
        if (got != cases[i].want_fs)
            fail_msg("%s: %zu filesystems, want %zu", cases[i].name, got, cases[i].want_fs);
        batch_fini(&b);
        host_collector_free(h);
    }
}

static void test_diskstats(void **state)
{
    struct host_opts o;
    host_opts_init(&o);
    struct batch b;
    struct host_collector *h = fixture_group(&o, HOST_DISK, 1000, &b);
    const struct want wants[] = {
        {"node_disk_reads_completed_total", "device", "vda", NULL, NULL, 1000},
        {"node_disk_reads_merged_total", "device", "vda", NULL, NULL, 10},
        {"node_disk_read_bytes_total", "device", "vda", NULL, NULL, 20000.0 * 512},
        {"node_disk_read_time_seconds_total", "device", "vda", NULL, NULL, 0.3},
        {"node_disk_writes_completed_total", "device", "vda", NULL, NULL, 2000},
        {"node_disk_written_bytes_total", "device", "vda", NULL, NULL, 40000.0 * 512},
        {"node_disk_write_time_seconds_total", "device", "vda", NULL, NULL, 0.6},
        {"node_disk_io_now", "device", "vda", NULL, NULL, 0},
        {"node_disk_io_time_seconds_total", "device", "vda", NULL, NULL, 0.7},
        {"node_disk_io_time_weighted_seconds_total", "device", "vda", NULL, NULL, 0.9},
        {"node_disk_discards_completed_total", "device", "vda", NULL, NULL, 5},
        {"node_disk_discarded_sectors_total", "device", "vda", NULL, NULL, 64},
        {"node_disk_flush_requests_total", "device", "vda", NULL, NULL, 30},
        {"node_disk_flush_requests_time_seconds_total", "device", "vda", NULL, NULL, 0.04},
        {"node_disk_reads_completed_total", "device", "nvme0n1", NULL, NULL, 7},
        {"node_disk_io_now", "device", "dm-0", NULL, NULL, 1},
    };
    check_wants(&b, wants, sizeof wants / sizeof *wants);
    /* vda1, loop0, ram0 and nvme0n1p1 are excluded by default */
    assert_int_equal(count_series(&b, "node_disk_reads_completed_total"), 3);
    /* an old kernel's line without discard/flush columns has none of them */
    assert_int_equal(count_series(&b, "node_disk_flush_requests_total"), 1);
    assert_int_equal(count_series(&b, "node_disk_discards_completed_total"), 2);
    batch_fini(&b);
    host_collector_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filesystems),
        cmocka_unit_test(test_exclusion_options),
        cmocka_unit_test(test_diskstats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
