/* host_disk.c: the "disk" group of the host collector.
 *
 * Filesystems: each line of /proc/self/mountinfo
 *   36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   id par dev  root  MOUNTPOINT OPTIONS    [tags]  - FSTYPE SOURCE  SUPER-OPTIONS
 * not excluded by the mount-point or fs-type regex is measured with statfs(2)
 * and becomes node_filesystem_{size,free,avail}_bytes, _files, _files_free,
 * _readonly and _device_error {device, fstype, mountpoint}, computed as
 * node_exporter does (blocks × f_bsize; readonly from the "ro" option). A
 * statfs failure emits device_error 1 and nothing else for that mount. The
 * same {device, fstype, mountpoint} seen twice (bind mounts) is emitted once.
 * mountinfo escapes space, tab, newline and backslash as \ooo; they are
 * decoded before matching and labelling.
 *
 * Block devices: each /proc/diskstats line
 *   major minor name f0 f1 ... f16   (fields 11+ exist since Linux 4.18 / 5.5)
 * whose name is not excluded becomes node_disk_*{device}, sectors scaled by
 * 512 (the kernel's fixed unit there) and milliseconds by 1/1000.
 */
#include <errno.h>
#include <string.h>
#include <sys/vfs.h>

#include "collect/host_int.h"
#include "core/hash.h"

#define DISK_SECTOR_BYTES 512.0
#define FS_SEEN_MAX 512

static const struct {
    const char *name;
    double scale; /* multiply by it; a negative scale divides by its magnitude (ms → s) */
} disk_fields[] = {
    {"node_disk_reads_completed_total", 1},
    {"node_disk_reads_merged_total", 1},
    {"node_disk_read_bytes_total", DISK_SECTOR_BYTES},
    {"node_disk_read_time_seconds_total", -1000},
    {"node_disk_writes_completed_total", 1},
    {"node_disk_writes_merged_total", 1},
    {"node_disk_written_bytes_total", DISK_SECTOR_BYTES},
    {"node_disk_write_time_seconds_total", -1000},
    {"node_disk_io_now", 1},
    {"node_disk_io_time_seconds_total", -1000},
    {"node_disk_io_time_weighted_seconds_total", -1000},
    {"node_disk_discards_completed_total", 1},
    {"node_disk_discards_merged_total", 1},
    {"node_disk_discarded_sectors_total", 1},
    {"node_disk_discard_time_seconds_total", -1000},
    {"node_disk_flush_requests_total", 1},
    {"node_disk_flush_requests_time_seconds_total", -1000},
};

/* Decode mountinfo's \ooo escapes from s into out[cap] (NUL-terminated). */
static size_t unescape(struct strv s, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s.n && n + 1 < cap; i++) {
        char c = s.p[i];
        if (c == '\\' && s.n - i >= 4 && s.p[i + 1] >= '0' && s.p[i + 1] <= '3' &&
            s.p[i + 2] >= '0' && s.p[i + 2] <= '7' && s.p[i + 3] >= '0' && s.p[i + 3] <= '7') {
            c = (char)((s.p[i + 1] - '0') * 64 + (s.p[i + 2] - '0') * 8 + (s.p[i + 3] - '0'));
            i += 3;
        }
        out[n++] = c;
    }
    out[n] = 0;
    return n;
}

/* Is `opt` one of the comma-separated options in `opts`? */
static bool has_option(struct strv opts, const char *opt)
{
    size_t n = strlen(opt);
    size_t i = 0;
    while (i <= opts.n) {
        size_t j = i;
        while (j < opts.n && opts.p[j] != ',')
            j++;
        if (j - i == n && memcmp(opts.p + i, opt, n) == 0)
            return true;
        i = j + 1;
    }
    return false;
}

static int emit_fs(struct host_collector *h, struct batch *b, int64_t t, const char *mnt,
                   struct label *l, bool readonly)
{
    struct statfs st;
    if (statfs(mnt, &st) != 0)
        return host__emit(h, b, "node_filesystem_device_error", t, 1, l, 3);
    double bs = (double)st.f_bsize;
    int rc = host__emit(h, b, "node_filesystem_device_error", t, 0, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_size_bytes", t, (double)st.f_blocks * bs, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_free_bytes", t, (double)st.f_bfree * bs, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_avail_bytes", t, (double)st.f_bavail * bs, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_files", t, (double)st.f_files, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_files_free", t, (double)st.f_ffree, l, 3);
    if (rc == 0)
        rc = host__emit(h, b, "node_filesystem_readonly", t, readonly ? 1 : 0, l, 3);
    return rc;
}

static int collect_mounts(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, line;
    int rc = host__read(h, &h->f_mountinfo, &text);
    if (rc < 0)
        return rc;
    uint64_t seen[FS_SEEN_MAX];
    size_t nseen = 0;
    while (rc == 0 && host__line(&text, &line)) {
        struct strv f[6], tok, fstype, source;
        size_t i = 0;
        while (i < 6 && host__tok(&line, &f[i]))
            i++;
        if (i < 6)
            continue;
        bool dash = false;
        while (host__tok(&line, &tok))
            if (tok.n == 1 && tok.p[0] == '-') {
                dash = true;
                break;
            }
        if (!dash || !host__tok(&line, &fstype) || !host__tok(&line, &source))
            continue;
        char mnt[4096], dev[1024];
        size_t nmnt = unescape(f[4], mnt, sizeof mnt);
        size_t ndev = unescape(source, dev, sizeof dev);
        if (host__re_match(&h->fs_mount_ex, (struct strv){mnt, nmnt}) ||
            host__re_match(&h->fs_type_ex, fstype))
            continue;
        uint64_t key = hash_bytes(mnt, nmnt);
        key = hash_combine(key, dev, ndev + 1);
        key = hash_combine(key, fstype.p, fstype.n);
        bool dup = false;
        for (size_t k = 0; k < nseen && !dup; k++)
            dup = seen[k] == key;
        if (dup)
            continue;
        if (nseen < FS_SEEN_MAX)
            seen[nseen++] = key;
        struct label l[3] = {
            {STRV_LIT("device"), host__dup(b, (struct strv){dev, ndev})},
            {STRV_LIT("fstype"), host__dup(b, fstype)},
            {STRV_LIT("mountpoint"), host__dup(b, (struct strv){mnt, nmnt})},
        };
        rc = emit_fs(h, b, t, mnt, l, has_option(f[5], "ro"));
    }
    return rc;
}

static int collect_diskstats(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, line, tok, name;
    int rc = host__read(h, &h->f_diskstats, &text);
    if (rc < 0)
        return rc;
    while (rc == 0 && host__line(&text, &line)) {
        if (!host__tok(&line, &tok) || !host__tok(&line, &tok) || !host__tok(&line, &name))
            continue;
        if (host__re_match(&h->disk_ex, name))
            continue;
        struct label l[1] = {{STRV_LIT("device"), host__dup(b, name)}};
        uint64_t v;
        for (size_t i = 0; rc == 0 && i < sizeof disk_fields / sizeof *disk_fields; i++) {
            if (!host__tok(&line, &tok) || !host__u64(tok, &v))
                break;
            double sc = disk_fields[i].scale;
            double x = sc < 0 ? (double)v / -sc : (double)v * sc;
            rc = host__emit(h, b, disk_fields[i].name, t, x, l, 1);
        }
    }
    return rc;
}

int host__collect_disk(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    int rc = 0, r;
    if ((r = collect_mounts(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "disk", h->f_mountinfo.path);
    if ((r = collect_diskstats(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "disk", h->f_diskstats.path);
    return rc;
}
