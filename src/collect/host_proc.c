/* host_proc.c: the "proc" group of the host collector: the processes using
 * the most CPU, and process counts.
 *
 * Each collection reads /proc/<pid>/stat of every process:
 *   1234 (comm may hold spaces and parens) S 1 ... utime stime ... num_threads
 *   0 starttime vsize rss ...        (field 3 is the state, 14/15 utime/stime,
 *                                      20 num_threads, 22 starttime, 24 rss)
 * and keeps (pid, utime+stime, starttime) sorted by pid for the next one.
 * A process's CPU ratio is its tick delta between two collections over the
 * wall-clock time between them (1.0 = one CPU busy); a pid whose starttime
 * changed is a new process and starts from zero.
 *
 * Processes are reported as people read them, by name and user, never by
 * pid: a pid label made a new series for every restart, fork or short-lived
 * command (285 new series in 20 minutes on one agent). All processes of one
 * comm and one owner form a group whose ratio and RSS are summed, as
 * process-exporter's name groups are; the top N groups by ratio are emitted:
 *   tide_process_cpu_usage_ratio{name, user}        summed CPU ratio
 *   tide_process_resident_memory_bytes{name, user}  summed RSS
 *   tide_process_count{name, user}                  processes in the group
 *   tide_process_pid{name, user}                    pid of its busiest process
 * so the series are bounded by the (name, user) pairs the host runs, and a
 * restarted daemon keeps its series. The first collection has no delta and
 * emits no tide_process_* series.
 * Counts follow node_exporter's processes collector: node_processes_pids,
 * _threads, _state{state} (the stat letter), _max_processes, _max_threads.
 * The user is the owner of /proc/<pid> (the effective uid, as ps(1) shows
 * it), one fstatat() per process, named for the N emitted only through a
 * small uid cache; "unknown" if the process exited before it was read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/host_int.h"

struct stat_line {
    char state;
    uint64_t ticks, start, threads, rss_pages;
    struct strv comm;
};

/* Parse one /proc/<pid>/stat; false when malformed. */
static bool parse_stat(const char *p, size_t n, struct stat_line *out)
{
    const char *open = memchr(p, '(', n);
    const char *close = NULL;
    for (size_t i = n; i > 0; i--)
        if (p[i - 1] == ')') {
            close = p + i - 1;
            break;
        }
    if (open == NULL || close == NULL || close < open)
        return false;
    out->comm = (struct strv){open + 1, (size_t)(close - open - 1)};
    struct strv rest = {close + 1, n - (size_t)(close + 1 - p)}, tok;
    uint64_t v[22];
    size_t k = 0;
    /* index 0 is field 3 (state); index i is field i + 3 */
    while (k < 22 && host__tok(&rest, &tok)) {
        if (k == 0) {
            out->state = tok.p[0];
            v[0] = 0;
        } else if (!host__u64(tok, &v[k])) {
            v[k] = 0; /* a signed field (priority, nice): not used */
        }
        k++;
    }
    if (k < 22)
        return false;
    out->ticks = v[11] + v[12];
    out->threads = v[17];
    out->start = v[19];
    out->rss_pages = v[21];
    return true;
}

static int cmp_ent(const void *a, const void *b)
{
    int x = ((const struct host_proc_ent *)a)->pid, y = ((const struct host_proc_ent *)b)->pid;
    return x < y ? -1 : x > y;
}

static const struct host_proc_ent *find_prev(const struct host_collector *h, int pid)
{
    size_t lo = 0, hi = h->nprev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->prev[mid].pid < pid)
            lo = mid + 1;
        else if (h->prev[mid].pid > pid)
            hi = mid;
        else
            return &h->prev[mid];
    }
    return NULL;
}

/* Insert a candidate into the top N (kept sorted, highest ratio first). */
static void top_insert(struct host_collector *h, size_t *ntop, const struct host_proc_top *c)
{
    size_t n = *ntop;
    if (n == h->top_n && !(c->ratio > h->top[n - 1].ratio))
        return;
    size_t i = n < h->top_n ? n : n - 1;
    while (i > 0 && c->ratio > h->top[i - 1].ratio) {
        h->top[i] = h->top[i - 1];
        i--;
    }
    h->top[i] = *c;
    if (n < h->top_n)
        *ntop = n + 1;
}

static const char *user_name(struct host_collector *h, uid_t uid, char *num, size_t cap)
{
    for (unsigned i = 0; i < h->nuid_cache; i++)
        if (h->uid_cache[i].uid == uid)
            return h->uid_cache[i].name;
    struct passwd pw, *res = NULL;
    char tmp[4096];
    const char *name = num;
    snprintf(num, cap, "%u", (unsigned)uid);
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res != NULL)
        name = res->pw_name;
    unsigned slot = h->nuid_cache < 64 ? h->nuid_cache++ : uid % 64;
    h->uid_cache[slot].uid = uid;
    snprintf(h->uid_cache[slot].name, sizeof h->uid_cache[slot].name, "%s", name);
    return h->uid_cache[slot].name;
}

static int push_cur(struct host_collector *h, const struct host_proc_ent *ent)
{
    if (h->ncur == h->cap_cur) {
        size_t ncap = h->cap_cur ? h->cap_cur * 2 : 512;
        void *p = realloc(h->cur, ncap * sizeof *h->cur);
        if (p == NULL)
            return -ENOMEM;
        h->cur = p;
        h->cap_cur = ncap;
    }
    h->cur[h->ncur++] = *ent;
    return 0;
}

static int emit_counts(struct host_collector *h, struct batch *b, int64_t t, uint64_t pids,
                       uint64_t threads, const uint64_t *states)
{
    int rc = host__emit(h, b, "node_processes_pids", t, (double)pids, NULL, 0);
    if (rc == 0)
        rc = host__emit(h, b, "node_processes_threads", t, (double)threads, NULL, 0);
    for (int c = 'A'; rc == 0 && c <= 'Z'; c++) {
        if (states[c - 'A'] == 0)
            continue;
        char s[2] = {(char)c, 0};
        struct label l[1] = {{STRV_LIT("state"), host__dup(b, (struct strv){s, 1})}};
        rc = host__emit(h, b, "node_processes_state", t, (double)states[c - 'A'], l, 1);
    }
    static const struct {
        const char *rel, *name;
    } limits[] = {{"sys/kernel/pid_max", "node_processes_max_processes"},
                  {"sys/kernel/threads-max", "node_processes_max_threads"}};
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        char path[512], text[64];
        uint64_t v;
        snprintf(path, sizeof path, "%s/%s", h->proc_root, limits[i].rel);
        ssize_t n = host__read_small(path, text, sizeof text);
        if (n > 0 && host__u64((struct strv){text, (size_t)n}, &v))
            rc = host__emit(h, b, limits[i].name, t, (double)v, NULL, 0);
    }
    return rc;
}

static int emit_top(struct host_collector *h, struct batch *b, int64_t t, size_t ntop)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < ntop; i++) {
        const struct host_proc_top *p = &h->top[i];
        char num[16];
        const char *user = p->uid_ok ? user_name(h, p->uid, num, sizeof num) : "unknown";
        struct label l[2] = {
            {STRV_LIT("name"), host__dup(b, strv_c(p->comm))},
            {STRV_LIT("user"), host__dup(b, strv_c(user))},
        };
        rc = host__emit(h, b, "tide_process_cpu_usage_ratio", t, p->ratio, l, 2);
        if (rc == 0)
            rc = host__emit(h, b, "tide_process_resident_memory_bytes", t, (double)p->rss_bytes, l,
                            2);
        if (rc == 0)
            rc = host__emit(h, b, "tide_process_count", t, (double)p->nprocs, l, 2);
        if (rc == 0)
            rc = host__emit(h, b, "tide_process_pid", t, (double)p->pid, l, 2);
    }
    return rc;
}

static int push_cand(struct host_collector *h, const struct host_proc_top *c)
{
    if (h->ncands == h->cap_cands) {
        size_t ncap = h->cap_cands ? h->cap_cands * 2 : 512;
        void *p = realloc(h->cands, ncap * sizeof *h->cands);
        if (p == NULL)
            return -ENOMEM;
        h->cands = p;
        h->cap_cands = ncap;
    }
    h->cands[h->ncands++] = *c;
    return 0;
}

/* Order by (name, user known, uid), so a group's processes are adjacent. */
static int cmp_group(const void *a, const void *b)
{
    const struct host_proc_top *x = a, *y = b;
    int c = strcmp(x->comm, y->comm);
    if (c != 0)
        return c;
    if (x->uid_ok != y->uid_ok)
        return x->uid_ok ? -1 : 1;
    if (x->uid != y->uid)
        return x->uid < y->uid ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Fold the scan's processes into groups of one name and user and keep the
 * top N groups by summed CPU ratio. Returns how many there are. */
static size_t group_top(struct host_collector *h)
{
    size_t ntop = 0;
    if (h->ncands == 0)
        return 0;
    qsort(h->cands, h->ncands, sizeof *h->cands, cmp_group);
    struct host_proc_top g = h->cands[0];
    double busiest = g.ratio;
    for (size_t i = 1; i <= h->ncands; i++) {
        const struct host_proc_top *c = i < h->ncands ? &h->cands[i] : NULL;
        if (c != NULL && strcmp(c->comm, g.comm) == 0 && c->uid_ok == g.uid_ok && c->uid == g.uid) {
            g.ratio += c->ratio;
            g.rss_bytes += c->rss_bytes;
            g.nprocs++;
            if (c->ratio > busiest) { /* pids ascend: the lowest wins a tie */
                busiest = c->ratio;
                g.pid = c->pid;
            }
            continue;
        }
        top_insert(h, &ntop, &g);
        if (c != NULL) {
            g = *c;
            busiest = c->ratio;
        }
    }
    return ntop;
}

static int scan(struct host_collector *h, int64_t t, struct batch *b)
{
    if (h->proc_dir == NULL) {
        h->proc_dir = opendir(h->proc_root);
        if (h->proc_dir == NULL)
            return -errno;
    } else {
        rewinddir(h->proc_dir);
    }
    DIR *d = h->proc_dir;
    int dfd = dirfd(d);
    double elapsed_s = h->prev_t_ms > 0 ? (double)(t - h->prev_t_ms) / 1000.0 : 0;
    bool have_prev = h->prev_t_ms > 0 && elapsed_s > 0;
    uint64_t pids = 0, threads = 0, states[26] = {0};
    size_t ntop = 0;
    int rc = 0;
    h->ncur = 0;
    h->ncands = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char rel[300], text[2048];
        snprintf(rel, sizeof rel, "%s/stat", de->d_name);
        int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue; /* exited since readdir */
        ssize_t n = read(fd, text, sizeof text - 1);
        close(fd);
        struct stat_line sl;
        if (n <= 0 || !parse_stat(text, (size_t)n, &sl))
            continue;
        pids++;
        threads += sl.threads;
        if (sl.state >= 'A' && sl.state <= 'Z')
            states[sl.state - 'A']++;
        struct host_proc_ent ent = {atoi(de->d_name), sl.ticks, sl.start};
        rc = push_cur(h, &ent);
        if (!have_prev || h->top_n == 0)
            continue;
        const struct host_proc_ent *old = find_prev(h, ent.pid);
        uint64_t delta = 0;
        if (old != NULL && old->start == ent.start && ent.ticks >= old->ticks)
            delta = ent.ticks - old->ticks;
        else if (old == NULL || old->start != ent.start)
            delta = ent.ticks; /* born during the interval: all its time is in it */
        struct host_proc_top c = {
            .pid = ent.pid,
            .ratio = (double)delta / (double)h->clk_tck / elapsed_s,
            .rss_bytes = sl.rss_pages * (uint64_t)h->page_size,
            .nprocs = 1,
        };
        size_t cn = sl.comm.n < sizeof c.comm - 1 ? sl.comm.n : sizeof c.comm - 1;
        memcpy(c.comm, sl.comm.p, cn);
        c.comm[cn] = 0;
        /* the owner (effective uid, as ps shows it) keys the group */
        struct stat st;
        if (fstatat(dfd, de->d_name, &st, 0) == 0) {
            c.uid = st.st_uid;
            c.uid_ok = true;
        }
        rc = push_cand(h, &c);
    }
    if (rc < 0)
        return rc;
    ntop = group_top(h);
    /* /proc lists pids in ascending order; sort only if it did not. */
    for (size_t i = 1; i < h->ncur; i++)
        if (h->cur[i - 1].pid > h->cur[i].pid) {
            qsort(h->cur, h->ncur, sizeof *h->cur, cmp_ent);
            break;
        }
    struct host_proc_ent *sw = h->prev;
    size_t swcap = h->cap_prev;
    h->prev = h->cur;
    h->nprev = h->ncur;
    h->cap_prev = h->cap_cur;
    h->cur = sw;
    h->cap_cur = swcap;
    h->ncur = 0;
    h->prev_t_ms = t;
    rc = emit_counts(h, b, t, pids, threads, states);
    if (rc == 0 && have_prev)
        rc = emit_top(h, b, t, ntop);
    return rc;
}

int host__collect_proc(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    int rc = 0, r;
    if ((r = scan(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "proc", h->proc_root);
    return rc;
}

void host__proc_fini(struct host_collector *h)
{
    if (h->proc_dir != NULL)
        closedir(h->proc_dir);
    h->proc_dir = NULL;
    free(h->prev);
    free(h->cur);
    free(h->cands);
    h->prev = h->cur = NULL;
    h->cands = NULL;
    h->nprev = h->ncur = h->cap_prev = h->cap_cur = 0;
    h->ncands = h->cap_cands = 0;
}
