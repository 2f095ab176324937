/* test_wal.c: WAL framing (storage/wal.c): append and replay across
 * segments; a torn last frame cut at every offset is dropped and counted;
 * zero-filled tails end a segment; a corrupt frame in the middle is skipped
 * and every record after it recovered (one flipped bit at every bit of a
 * frame, in the middle of a segment); truncation and counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/fs.h"
#include "storage/wal.h"

struct collected {
    size_t n;
    size_t sizes[64];
    uint8_t first[64]; /* first payload byte: the record's number */
    int stop_at;       /* return 7 at this record (-1: never) */
};

static int collect(void *ctx, const void *rec, size_t n)
{
    struct collected *c = ctx;
    if ((int)c->n == c->stop_at)
        return 7;
    if (c->n < 64) {
        c->sizes[c->n] = n;
        c->first[c->n] = *(const uint8_t *)rec;
    }
    c->n++;
    return 0;
}

static void tmpdir(char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/tide-wal-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(out));
}

/* Record i: i+1 ... repeated, of size sizes[i]. */
static const size_t rec_sizes[] = {1, 10, 100, 1000, 5, 300000, 7, 4096, 33, 2};
#define NRECS (sizeof rec_sizes / sizeof rec_sizes[0])

static void write_records(const char *dir, size_t from, size_t to, bool cut_midway)
{
    struct wal *w;
    struct err e = {0};
    assert_int_equal(wal_open(&w, dir, &e), 0);
    for (size_t i = from; i < to; i++) {
        uint8_t *p = malloc(rec_sizes[i]);
        memset(p, (int)(i + 1), rec_sizes[i]);
        assert_int_equal(wal_append(w, p, rec_sizes[i]), 0);
        free(p);
        if (cut_midway && i == (from + to) / 2) {
            uint32_t seg;
            assert_int_equal(wal_cut(w, &seg), 0);
        }
    }
    assert_int_equal(wal_close(w), 0);
}

static void check_replay2(const char *name, const char *dir, size_t want_n,
                          const size_t *want_idx, uint64_t want_torn, uint64_t want_corrupt)
{
    struct collected c = {.stop_at = -1};
    struct wal_replay_stats st = {99, 99, 99, 99};
    struct err e = {0};
    int rc = wal_replay(dir, collect, NULL, &c, &st, &e);
    if (rc != 0)
        fail_msg("%s: replay rc=%d %s", name, rc, e.msg);
    if (c.n != want_n || st.torn != want_torn || st.corrupt != want_corrupt ||
        st.records != c.n)
        fail_msg("%s: %zu records, %llu torn, %llu corrupt; want %zu, %llu, %llu", name, c.n,
                 (unsigned long long)st.torn, (unsigned long long)st.corrupt, want_n,
                 (unsigned long long)want_torn, (unsigned long long)want_corrupt);
    for (size_t i = 0; i < want_n; i++) {
        size_t k = want_idx ? want_idx[i] : i;
        if (c.sizes[i] != rec_sizes[k] || c.first[i] != (uint8_t)(k + 1))
            fail_msg("%s: record %zu is not record %zu", name, i, k);
    }
}

static void check_replay(const char *name, const char *dir, size_t want_n, const size_t *want_idx,
                         uint64_t want_torn)
{
    check_replay2(name, dir, want_n, want_idx, want_torn, 0);
}

static void test_append_replay(void **state)
{
    char dir[256];
    tmpdir(dir, sizeof dir);
    write_records(dir, 0, NRECS, true);
    check_replay("all", dir, NRECS, NULL, 0);
    /* A second open appends in a new segment after the existing ones. */
    write_records(dir, 0, 2, false);
    static const size_t idx[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1};
    check_replay("reopened", dir, NRECS + 2, idx, 0);
    /* The handler stops replay with its code. */
    struct collected c = {.stop_at = 3};
    assert_int_equal(wal_replay(dir, collect, NULL, &c, NULL, NULL), 7);
    assert_int_equal(c.n, 3);
    fs_rm_rf(dir);
    /* A missing directory is an empty WAL. */
    c = (struct collected){.stop_at = -1};
    struct wal_replay_stats st = {5, 5, 5, 5};
    assert_int_equal(wal_replay(dir, collect, NULL, &c, &st, NULL), 0);
    assert_int_equal(c.n + st.torn + st.corrupt + st.records, 0);
}

static void test_counters_and_truncate(void **state)
{
    char dir[256];
    tmpdir(dir, sizeof dir);
    struct wal *w;
    assert_int_equal(wal_open(&w, dir, NULL), 0);
    assert_int_equal(wal_append(w, "", 0), TIDE_EINVAL);
    assert_int_equal(wal_append(w, "abc", 3), 0);
    assert_int_equal(wal_bytes_written(w), 11);
    assert_int_equal(wal_fsyncs(w), 0);
    assert_int_equal(wal_sync(w), 0);
    assert_int_equal(wal_fsyncs(w), 1);
    uint32_t s2, s3;
    assert_int_equal(wal_cut(w, &s2), 0);
    assert_int_equal(s2, 2);
    assert_int_equal(wal_append(w, "defg", 4), 0);
    assert_int_equal(wal_flush(w), 0);
    assert_int_equal(wal_cut(w, &s3), 0);
    assert_int_equal(s3, 3);
    assert_int_equal(wal_append(w, "h", 1), 0);
    assert_int_equal(wal_size_bytes(w), 11 + 12 + 9);
    assert_int_equal(wal_truncate_before(w, s3), 0);
    assert_int_equal(wal_size_bytes(w), 9);
    char p[300];
    snprintf(p, sizeof p, "%s/00000001", dir);
    assert_int_not_equal(access(p, F_OK), 0);
    snprintf(p, sizeof p, "%s/00000003", dir);
    assert_int_equal(access(p, F_OK), 0);
    /* The current segment is never removed. */
    assert_int_equal(wal_truncate_before(w, 100), 0);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(wal_close(w), 0);
    struct collected c = {.stop_at = -1};
    assert_int_equal(wal_replay(dir, collect, NULL, &c, NULL, NULL), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.first[0], 'h');
    fs_rm_rf(dir);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* Replace the file with the first n bytes of p (truncate(2) alone would
 * extend a file cut shorter before with zeros). */
static void write_prefix(const char *path, const char *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_torn_tail(void **state)
{
    char dir[256], seg[300];
    tmpdir(dir, sizeof dir);
    write_records(dir, 0, NRECS, false);
    snprintf(seg, sizeof seg, "%s/00000001", dir);
    char *orig;
    size_t olen;
    assert_int_equal(fs_read_file(seg, &orig, &olen), 0);
    off_t size = (off_t)olen;
    off_t last = size - (off_t)(8 + rec_sizes[NRECS - 1]);
    for (off_t cut = last; cut < size; cut++) {
        write_prefix(seg, orig, (size_t)cut);
        char name[64];
        snprintf(name, sizeof name, "cut at %lld", (long long)cut);
        check_replay(name, dir, NRECS - 1, NULL, cut == last ? 0 : 1);
    }
    /* Every offset of a large frame, sampled (it is 300 KB). */
    fs_rm_rf(dir);
    tmpdir(dir, sizeof dir);
    snprintf(seg, sizeof seg, "%s/00000001", dir);
    write_records(dir, 0, 6, false); /* ends with the 300000-byte record */
    free(orig);
    assert_int_equal(fs_read_file(seg, &orig, &olen), 0);
    size = (off_t)olen;
    last = size - (off_t)(8 + rec_sizes[5]);
    for (off_t cut = last + 1; cut < size; cut += cut - last < 16 ? 1 : 4999) {
        write_prefix(seg, orig, (size_t)cut);
        check_replay("large frame", dir, 5, NULL, 1);
    }
    free(orig);
    fs_rm_rf(dir);
}

static void test_zero_tail_and_corruption(void **state)
{
    char dir[256], seg[300];
    tmpdir(dir, sizeof dir);
    write_records(dir, 0, NRECS, true); /* segments 1 (records 0..5) and 2 (6..9) */
    snprintf(seg, sizeof seg, "%s/00000002", dir);
    off_t size = file_size(seg);
    /* Preallocated zeros after the last frame: a clean end. */
    assert_int_equal(truncate(seg, size + 8192), 0);
    check_replay("zero tail", dir, NRECS, NULL, 0);
    /* Zeros, then junk: the end of that segment, counted once. */
    int fd = open(seg, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "x", 1, size + 5000), 1);
    check_replay("zeros then junk", dir, NRECS, NULL, 1);
    /* A short tail of junk smaller than a frame header. */
    assert_int_equal(ftruncate(fd, size), 0);
    assert_int_equal(pwrite(fd, "\1\2\3", 3, size), 3);
    close(fd);
    check_replay("short junk", dir, NRECS, NULL, 1);
    assert_int_equal(truncate(seg, size), 0);

    /* A flipped payload byte in record 2 (segment 1): only record 2 is lost;
     * replay resyncs on record 3. */
    snprintf(seg, sizeof seg, "%s/00000001", dir);
    off_t off = (off_t)(8 + 1 + 8 + 10 + 8 + 50);
    fd = open(seg, O_RDWR);
    uint8_t b;
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    static const size_t idx[] = {0, 1, 3, 4, 5, 6, 7, 8, 9};
    check_replay2("corrupt middle", dir, 9, idx, 0, 1);
    /* A length past the end of the segment. */
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    uint8_t huge[4] = {0xff, 0xff, 0xff, 0x7f};
    assert_int_equal(pwrite(fd, huge, 4, 8 + 1), 4);
    close(fd);
    static const size_t idx2[] = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    check_replay2("bad length", dir, 9, idx2, 0, 1);
    fs_rm_rf(dir);
}

/* Records of varied sizes with varied bytes, as real SAMPLES records are. */
static size_t fill_record(uint8_t *p, size_t i)
{
    size_t n = 20 + (i * 37) % 200;
    uint32_t x = (uint32_t)i * 2654435761u + 1;
    for (size_t k = 0; k < n; k++) {
        x = x * 1103515245u + 12345u;
        p[k] = (uint8_t)(x >> 16);
    }
    p[0] = (uint8_t)i;
    return n;
}

/* One flipped bit in the middle of a segment loses only the record it hit:
 * tried at every bit of the middle frame (header included). */
static void test_bit_flip_resync(void **state)
{
    char dir[256], seg[300];
    tmpdir(dir, sizeof dir);
    struct wal *w;
    assert_int_equal(wal_open(&w, dir, NULL), 0);
    enum { N = 200 };
    uint8_t rec[256];
    size_t offs[N + 1], off = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = fill_record(rec, i);
        offs[i] = off;
        off += 8 + n;
        assert_int_equal(wal_append(w, rec, n), 0);
    }
    offs[N] = off;
    assert_int_equal(wal_close(w), 0);
    snprintf(seg, sizeof seg, "%s/00000001", dir);
    assert_int_equal((size_t)file_size(seg), off);
    char *orig;
    size_t olen;
    assert_int_equal(fs_read_file(seg, &orig, &olen), 0);
    size_t mid = N / 2;
    for (size_t byte = offs[mid]; byte < offs[mid + 1]; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            orig[byte] ^= (char)(1 << bit);
            write_prefix(seg, orig, olen);
            orig[byte] ^= (char)(1 << bit);
            struct collected c = {.stop_at = -1};
            struct wal_replay_stats st;
            assert_int_equal(wal_replay(dir, collect, NULL, &c, &st, NULL), 0);
            if (c.n != N - 1 || st.corrupt != 1 || st.torn != 0)
                fail_msg("bit %d of byte %zu (frame %zu at %zu): %zu of %d records, %llu corrupt, "
                         "%llu torn",
                         bit, byte, mid, offs[mid], c.n, N - 1, (unsigned long long)st.corrupt,
                         (unsigned long long)st.torn);
            if (st.corrupt_bytes != offs[mid + 1] - offs[mid])
                fail_msg("bit %d of byte %zu: %llu bytes skipped, want %zu", bit, byte,
                         (unsigned long long)st.corrupt_bytes, offs[mid + 1] - offs[mid]);
        }
    }
    free(orig);
    fs_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_replay),
        cmocka_unit_test(test_counters_and_truncate),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_zero_tail_and_corruption),
        cmocka_unit_test(test_bit_flip_resync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
