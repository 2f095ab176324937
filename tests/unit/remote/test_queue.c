/* test_queue.c: the agent's durable queue (remote/queue.c): FIFO order of
 * push/peek/ack across segments, a reopen resuming at the persisted cursor,
 * a torn or corrupt tail cut off and counted, the size cap dropping whole
 * oldest segments with a count, and the misuse it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fs.h"
#include "remote/queue.h"

static char dir[512];

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/test_queue.XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    fs_rm_rf(dir);
    return 0;
}

/* Record i: "rec-<i>" padded with a pattern to `size` bytes (>= 16). */
static size_t make_rec(char *out, int i, size_t size)
{
    int n = snprintf(out, size, "rec-%06d|", i);
    for (size_t k = (size_t)n; k < size; k++)
        out[k] = (char)('a' + (i + (int)k) % 26);
    return size;
}

static int rec_index(const struct buf *b)
{
    int i = -1;
    assert_true(b->len >= 11);
    assert_int_equal(sscanf(b->p, "rec-%06d|", &i), 1);
    char want[70000];
    make_rec(want, i, b->len);
    assert_memory_equal(want, b->p, b->len);
    return i;
}

static struct queue *open_q(uint64_t max_bytes, uint64_t seg_bytes)
{
    struct queue_opts o = {
        .dir = dir, .max_bytes = max_bytes, .segment_bytes = seg_bytes, .fsync = QUEUE_FSYNC_NEVER};
    struct queue *q = NULL;
    struct err e = {0};
    int rc = queue_open(&q, &o, &e);
    if (rc != 0)
        fail_msg("queue_open: %d %s", rc, e.msg);
    return q;
}

static void push_n(struct queue *q, int from, int to, size_t size)
{
    char rec[70000];
    for (int i = from; i < to; i++) {
        size_t n = make_rec(rec, i, size + (size_t)(i % 7));
        struct err e = {0};
        int rc = queue_push(q, rec, n, &e);
        if (rc != 0)
            fail_msg("push %d: %d %s", i, rc, e.msg);
    }
}

/* Peek and ack records, checking they are from..to-1 in order. */
static void drain_expect(struct queue *q, int from, int to)
{
    struct buf b;
    buf_init(&b, 0);
    for (int i = from; i < to; i++) {
        struct err e = {0};
        int rc = queue_peek(q, &b, &e);
        if (rc != 0)
            fail_msg("peek, want record %d: %d %s", i, rc, e.msg);
        int got = rec_index(&b);
        if (got != i)
            fail_msg("peek: want record %d, got %d", i, got);
        /* A second peek without an ack gives the same record. */
        assert_int_equal(queue_peek(q, &b, NULL), 0);
        assert_int_equal(rec_index(&b), i);
        assert_int_equal(queue_ack(q, &e), 0);
    }
    assert_int_equal(queue_peek(q, &b, NULL), TIDE_ENOTFOUND);
    buf_fini(&b);
}

static int count_segments(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
        if (strstr(de->d_name, ".seg"))
            n++;
    closedir(d);
    return n;
}

static void last_segment_path(char *out, size_t n)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    char best[256] = "";
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
        if (strstr(de->d_name, ".seg") && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    closedir(d);
    assert_true(best[0] != 0);
    snprintf(out, n, "%s/%s", dir, best);
}

static void test_order(void **state)
{
    /* Table: record size, segment size: one segment, many, one record each. */
    static const struct {
        const char *name;
        size_t size;
        uint64_t seg_bytes;
        int n;
    } cases[] = {
        {"one segment", 100, 1 << 20, 200},
        {"many segments", 300, 4096, 200},
        {"segment per record", 5000, 4096, 20},
        {"big records", 60000, 1 << 20, 30},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fs_rm_rf(dir);
        struct queue *q = open_q(64 << 20, cases[c].seg_bytes);
        push_n(q, 0, cases[c].n / 2, cases[c].size);
        /* interleave: drain half, push the rest, drain all */
        struct buf b;
        buf_init(&b, 0);
        for (int i = 0; i < cases[c].n / 4; i++) {
            assert_int_equal(queue_peek(q, &b, NULL), 0);
            if (rec_index(&b) != i)
                fail_msg("%s: want %d, got %d", cases[c].name, i, rec_index(&b));
            assert_int_equal(queue_ack(q, NULL), 0);
        }
        buf_fini(&b);
        push_n(q, cases[c].n / 2, cases[c].n, cases[c].size);
        struct queue_stats st;
        queue_stats(q, &st);
        if (st.records != (uint64_t)(cases[c].n - cases[c].n / 4))
            fail_msg("%s: %llu records waiting", cases[c].name, (unsigned long long)st.records);
        drain_expect(q, cases[c].n / 4, cases[c].n);
        queue_stats(q, &st);
        assert_int_equal(st.records, 0);
        assert_int_equal(st.bytes, 0);
        assert_int_equal(st.dropped_records, 0);
        /* Delivered segments are deleted; only the write segment stays. */
        if (count_segments() != 1)
            fail_msg("%s: %d segment files left", cases[c].name, count_segments());
        assert_int_equal(queue_close(q), 0);
    }
}

static void test_reopen_resumes(void **state)
{
    struct queue *q = open_q(64 << 20, 2048);
    push_n(q, 0, 40, 200);
    struct buf b;
    buf_init(&b, 0);
    for (int i = 0; i < 17; i++) {
        assert_int_equal(queue_peek(q, &b, NULL), 0);
        assert_int_equal(queue_ack(q, NULL), 0);
    }
    /* A peek that is not acked before the stop is delivered again. */
    assert_int_equal(queue_peek(q, &b, NULL), 0);
    assert_int_equal(rec_index(&b), 17);
    assert_int_equal(queue_close(q), 0);

    q = open_q(64 << 20, 2048);
    struct queue_stats st;
    queue_stats(q, &st);
    assert_int_equal(st.records, 23);
    assert_int_equal(st.torn_records, 0);
    push_n(q, 40, 45, 200);
    drain_expect(q, 17, 45);
    assert_int_equal(queue_close(q), 0);

    /* Reopen when everything was delivered: empty, appends continue. */
    q = open_q(64 << 20, 2048);
    assert_int_equal(queue_peek(q, &b, NULL), TIDE_ENOTFOUND);
    push_n(q, 45, 50, 200);
    assert_int_equal(queue_close(q), 0);
    q = open_q(64 << 20, 2048);
    drain_expect(q, 45, 50);
    assert_int_equal(queue_close(q), 0);
    buf_fini(&b);
}

static void test_torn_tail(void **state)
{
    /* Table: what a crash mid-push leaves after three good records. */
    static const struct {
        const char *name;
        const char *tail;
        size_t n;
    } cases[] = {
        {"half a header", "\x10\x00\x00", 3},
        {"header, no bytes", "\x10\x00\x00\x00\x01\x02\x03\x04", 8},
        {"header, short bytes",
         "\x10\x00\x00\x00\x01\x02\x03\x04"
         "hello",
         13},
        {"zeros", "\0\0\0\0\0\0\0\0\0\0\0\0", 12},
        {"bad crc",
         "\x03\x00\x00\x00\x01\x02\x03\x04"
         "abc",
         11},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fs_rm_rf(dir);
        struct queue *q = open_q(64 << 20, 1 << 20);
        push_n(q, 0, 3, 100);
        assert_int_equal(queue_close(q), 0);
        char path[700];
        last_segment_path(path, sizeof path);
        int fd = open(path, O_WRONLY | O_APPEND);
        assert_true(fd >= 0);
        assert_int_equal(fs_write_all(fd, cases[c].tail, cases[c].n), 0);
        close(fd);

        q = open_q(64 << 20, 1 << 20);
        struct queue_stats st;
        queue_stats(q, &st);
        if (st.records != 3 || st.torn_records != 1)
            fail_msg("%s: %llu records, %llu torn", cases[c].name, (unsigned long long)st.records,
                     (unsigned long long)st.torn_records);
        push_n(q, 3, 5, 100);
        drain_expect(q, 0, 5);
        assert_int_equal(queue_close(q), 0);
    }
}

static void test_corrupt_record_cuts_segment(void **state)
{
    struct queue *q = open_q(64 << 20, 1 << 20);
    push_n(q, 0, 5, 100);
    assert_int_equal(queue_close(q), 0);
    char path[700];
    last_segment_path(path, sizeof path);
    /* Flip a payload byte of record 2 (records are 8 + 100 + i%7 bytes). */
    off_t off = (8 + 100) + (8 + 101) + 8 + 50;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    char ch;
    assert_int_equal(pread(fd, &ch, 1, off), 1);
    ch ^= 0x55;
    assert_int_equal(pwrite(fd, &ch, 1, off), 1);
    close(fd);
    q = open_q(64 << 20, 1 << 20);
    struct queue_stats st;
    queue_stats(q, &st);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.torn_records, 1);
    drain_expect(q, 0, 2);
    assert_int_equal(queue_close(q), 0);
}

static void test_cap_drops_oldest(void **state)
{
    /* 64 KiB cap, 16 KiB segments, ~1 KiB records: 300 pushes must drop. */
    struct queue *q = open_q(64 << 10, 0);
    push_n(q, 0, 300, 1000);
    struct queue_stats st;
    queue_stats(q, &st);
    assert_true(st.dropped_records > 0);
    assert_int_equal(st.dropped_records + st.records, 300);
    assert_true(st.bytes <= 64 << 10);
    assert_true(st.segments <= 5);
    assert_true(fs_du_bytes(dir) <= (64 << 10) + 100); /* + cursor, LOCK */
    /* What is left is the newest records, in order, with no gap. */
    int first = (int)st.dropped_records;
    drain_expect(q, first, 300);
    assert_int_equal(queue_close(q), 0);

    /* A peeked record dropped by the cap before its ack: the ack must not
     * skip the next record. */
    fs_rm_rf(dir);
    q = open_q(64 << 10, 0);
    push_n(q, 0, 10, 1000);
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(queue_peek(q, &b, NULL), 0);
    assert_int_equal(rec_index(&b), 0);
    push_n(q, 10, 100, 1000);
    assert_int_equal(queue_ack(q, NULL), 0); /* record 0 is gone already */
    queue_stats(q, &st);
    drain_expect(q, (int)st.dropped_records, 100);
    buf_fini(&b);
    assert_int_equal(queue_close(q), 0);

    /* The drop count survives nothing but the records do: reopen sees the
     * same undelivered set. */
    fs_rm_rf(dir);
    q = open_q(64 << 10, 0);
    push_n(q, 0, 150, 1000);
    queue_stats(q, &st);
    first = (int)st.dropped_records;
    assert_int_equal(queue_close(q), 0);
    q = open_q(64 << 10, 0);
    drain_expect(q, first, 150);
    assert_int_equal(queue_close(q), 0);
}

static void test_refuses(void **state)
{
    struct queue *q = open_q(64 << 10, 0);
    struct err e = {0};
    static char big[70000];
    assert_int_equal(queue_push(q, big, sizeof big, &e), TIDE_ELIMIT);
    assert_int_equal(queue_push(q, big, 0, &e), TIDE_EINVAL);
    /* A second open of the same directory is refused (the LOCK file). */
    struct queue_opts o = {.dir = dir};
    struct queue *q2 = (struct queue *)1;
    assert_true(queue_open(&q2, &o, &e) < 0);
    assert_null(q2);
    /* An ack with nothing peeked does nothing. */
    push_n(q, 0, 2, 100);
    assert_int_equal(queue_ack(q, NULL), 0);
    drain_expect(q, 0, 2);
    assert_int_equal(queue_close(q), 0);
    /* A cursor file that does not read back: start at the oldest segment,
     * which still holds the delivered 0 and 1 (a resend, never a loss). */
    q = open_q(64 << 10, 0);
    push_n(q, 2, 4, 100);
    assert_int_equal(queue_close(q), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/cursor", dir);
    assert_int_equal(fs_write_file_atomic(path, "junk", 4), 0);
    q = open_q(64 << 10, 0);
    drain_expect(q, 0, 4);
    assert_int_equal(queue_close(q), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_cuts_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cap_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
