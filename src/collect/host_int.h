/* host_int.h: what the host_*.c files share and nothing outside collect/
 * includes: the collector struct, the file reader that reuses descriptors and
 * one buffer, the tokenizer for /proc text, the regex filter and the series
 * emitter. Internal non-static names take the `host__` prefix (libuv's rule).
 */
#ifndef TIDE_COLLECT_HOST_INT_H
#define TIDE_COLLECT_HOST_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/host.h"
#include "core/buf.h"
#include "core/strv.h"
#include "model/batch.h"

#define HOST_READ_MAX (64u << 20) /* no /proc file we read is near this */

/* A /proc file kept open between collections: seq_file regenerates its
 * contents on every read from offset 0. Opened lazily, so a file that
 * appears later (a container gaining /proc/diskstats) is picked up. */
struct host_file {
    char *path; /* owned; root prefix included */
    int fd;     /* -1 when not open */
};

/* An unanchored PCRE2 search (Go's regexp.MatchString), or none. */
struct host_re {
    void *code; /* pcre2_code *; NULL = matches nothing */
    void *md;   /* pcre2_match_data * */
};

/* One process seen by the previous or the current /proc scan (host_proc.c). */
struct host_proc_ent {
    int pid;
    uint64_t ticks; /* utime + stime */
    uint64_t start; /* starttime: tells a reused pid from the old one */
};

/* A process, then a group of processes of one name and user: a candidate
 * for the top N (host_proc.c). */
struct host_proc_top {
    int pid;            /* the group's busiest process (lowest pid on a tie) */
    double ratio;       /* CPU seconds per elapsed second, summed over the group */
    uint64_t rss_bytes; /* summed over the group */
    unsigned nprocs;    /* processes in the group */
    uid_t uid;          /* owner of /proc/<pid> */
    bool uid_ok;        /* false: the process exited before its owner was read */
    char comm[32];
};

struct host_uid_name {
    uid_t uid;
    char name[32];
};

/* One group as a target's state (host_target.c): points into the collector. */
struct host_group_ctx {
    struct host_collector *h;
    enum host_group g;
};

enum host_svc_method { HOST_SVC_SYSTEMCTL, HOST_SVC_SERVICE, HOST_SVC_PROC };

/* The values of tide_service_state's `state` label, in this order. */
enum host_svc_state {
    SVC_RUNNING,
    SVC_STOPPED,
    SVC_NOT_FOUND,
    SVC_TIMEOUT,
    SVC_ERROR,
    SVC_UNKNOWN,
    SVC_NSTATES
};

/* Owner: the caller of host_collector_new(). Thread: one at a time. */
struct host_collector {
    char *proc_root, *sys_root;     /* owned, no trailing slash */
    char *instance, *job, *version; /* owned; borrowed by every emitted batch */
    int64_t interval_ms[HOST_NGROUPS];
    struct host_group_ctx group_ctx[HOST_NGROUPS];
    long clk_tck; /* sysconf(_SC_CLK_TCK) */
    long page_size;

    struct buf rbuf; /* contents of the last file read */
    struct host_file f_stat, f_loadavg, f_uptime, f_meminfo, f_mountinfo, f_diskstats, f_netdev;
    struct host_re fs_mount_ex, fs_type_ex, disk_ex, net_ex;

    /* tide_host_info and node_uname_info, read once at creation */
    char *os, *sysname, *nodename, *release, *uversion, *machine, *domainname;

    /* host_proc.c: the scan before this one, sorted by pid */
    unsigned top_n;
    void *proc_dir; /* DIR * on proc_root, rewound each scan */
    struct host_proc_ent *prev, *cur;
    size_t nprev, ncur, cap_prev, cap_cur;
    int64_t prev_t_ms;         /* now_ms of the scan that filled `prev`; 0 = none */
    struct host_proc_top *top; /* top_n slots */
    struct host_proc_top *cands; /* every process of the scan, grouped after it */
    size_t ncands, cap_cands;
    struct host_uid_name uid_cache[64];
    unsigned nuid_cache;

    /* host_service.c */
    char **services;
    size_t nservices;
    int64_t service_timeout_ms;
    enum host_svc_method svc_method;
    void *svc_runs; /* struct svc_run[nservices], host_service.c */
    char *systemctl_path, *service_path;
};

/* Open `path` under root (root + rel) into *f. -ENOMEM only. */
int host__file_init(struct host_file *f, const char *root, const char *rel);
void host__file_fini(struct host_file *f);
/* Read the whole file into h->rbuf; *out views it (valid until the next
 * host__read). NUL-terminated. -errno on failure. */
int host__read(struct host_collector *h, struct host_file *f, struct strv *out);
/* Read a small file by path (open, read, close) into buf[cap], NUL-terminated,
 * trailing newline dropped. Returns the length or -errno. */
ssize_t host__read_small(const char *path, char *buf, size_t cap);

/* Record the first failure of a group: fills `e` when *rc is still 0, sets
 * *rc = code. "group: what: strerror". */
void host__fail(struct err *e, int *rc, int code, const char *group, const char *what);

/* Tokenizer over /proc text. */
bool host__line(struct strv *rest, struct strv *line);
bool host__tok(struct strv *line, struct strv *tok); /* whitespace-separated */
bool host__u64(struct strv tok, uint64_t *v);        /* decimal; false if not a number */
bool host__f64(struct strv tok, double *v);

int host__re_init(struct host_re *re, const char *pattern, const char *what, struct err *e);
void host__re_fini(struct host_re *re);
bool host__re_match(struct host_re *re, struct strv s);

/* Append one series `name`{instance, job, extra...} = v @ t_ms. `name` and
 * the extra labels must outlive the batch's use (static, h-owned or in the
 * batch arena: see host__dup). -ENOMEM. */
int host__emit(struct host_collector *h, struct batch *b, const char *name, int64_t t_ms, double v,
               const struct label *extra, size_t nextra);
/* Copy s into the batch arena; {NULL,0} on -ENOMEM (the label is then
 * dropped as empty, which is better than a dangling view). */
struct strv host__dup(struct batch *b, struct strv s);

int host__collect_cpu(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);
int host__collect_mem(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);
int host__collect_disk(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);
int host__collect_net(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);
int host__collect_proc(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);
int host__collect_service(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e);

void host__proc_fini(struct host_collector *h);
int host__service_init(struct host_collector *h, const struct host_opts *o, struct err *e);
void host__service_fini(struct host_collector *h);
/* The state a command's result means (pure, for tests): systemctl show's
 * output and exit code; an LSB init script's status exit code. */
int host__service_state_systemctl(const char *out, int exit_code);
int host__service_state_lsb(int exit_code);
const char *host__service_state_name(int state);

#endif
