/* host.c: the host collector's frame (see host.h). The first stop of the
 * collect → storage flow for the machine Tide runs on: it owns the options,
 * the open /proc files, the one read buffer and the exclusion regexes, and
 * dispatches a group to host_cpu.c, host_mem.c, host_disk.c, host_net.c,
 * host_proc.c or host_service.c, which parse and emit.
 *
 * Invariant: a collection in the steady state allocates nothing. Files stay
 * open and are re-read from offset 0; the read buffer and the batch keep
 * their capacity; label bytes go to the batch arena, which keeps its block.
 * Nothing here prints: a failure names its group and file in struct err.
 */
#include "collect/host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "collect/host_int.h"

static const char *const group_names[HOST_NGROUPS] = {
    [HOST_CPU] = "cpu", [HOST_MEM] = "mem",   [HOST_DISK] = "disk",
    [HOST_NET] = "net", [HOST_PROC] = "proc", [HOST_SERVICE] = "service",
};

void host_opts_init(struct host_opts *o)
{
    *o = (struct host_opts){0};
    o->proc_root = "/proc";
    o->sys_root = "/sys";
    o->os_release_path = "/etc/os-release";
    o->top_n = HOST_TOP_N_DEFAULT;
    o->service_timeout_ms = HOST_SERVICE_TIMEOUT_DEFAULT_MS;
}

const char *host_group_name(enum host_group g)
{
    if ((unsigned)g >= HOST_NGROUPS)
        return NULL;
    return group_names[g];
}

int host_group_parse(const char *name)
{
    for (int g = 0; g < HOST_NGROUPS; g++)
        if (strcmp(name, group_names[g]) == 0)
            return g;
    return -1;
}

/* ---- files ---------------------------------------------------------------- */

static char *join(const char *root, const char *rel)
{
    size_t a = strlen(root), b = strlen(rel);
    char *p = malloc(a + b + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, root, a);
    p[a] = '/';
    memcpy(p + a + 1, rel, b + 1);
    return p;
}

int host__file_init(struct host_file *f, const char *root, const char *rel)
{
    f->fd = -1;
    f->path = join(root, rel);
    return f->path ? 0 : -ENOMEM;
}

void host__file_fini(struct host_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    f->path = NULL;
    f->fd = -1;
}

int host__read(struct host_collector *h, struct host_file *f, struct strv *out)
{
    *out = (struct strv){NULL, 0};
    if (f->fd < 0) {
        f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0)
            return -errno;
    } else if (lseek(f->fd, 0, SEEK_SET) < 0) {
        return -errno;
    }
    struct buf *b = &h->rbuf;
    buf_reset(b);
    for (;;) {
        if (b->cap - b->len < 4096) {
            int rc = buf_reserve(b, b->cap ? b->cap : 16384);
            if (rc < 0)
                return rc;
        }
        ssize_t n = read(f->fd, b->p + b->len, b->cap - b->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            close(f->fd); /* e.g. ENODEV after the device went: reopen next time */
            f->fd = -1;
            return rc;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    b->p[b->len] = 0;
    *out = (struct strv){b->p, b->len};
    return 0;
}

ssize_t host__read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        len--;
    buf[len] = 0;
    return (ssize_t)len;
}

void host__fail(struct err *e, int *rc, int code, const char *group, const char *what)
{
    if (*rc != 0)
        return;
    *rc = code;
    if (e != NULL && e->code == 0)
        ERR_SET(e, code, "%s: %s: %s", group, what, tide_strerror(code));
}

/* ---- tokenizer ------------------------------------------------------------ */

bool host__line(struct strv *rest, struct strv *line)
{
    if (rest->n == 0)
        return false;
    const char *nl = memchr(rest->p, '\n', rest->n);
    size_t n = nl ? (size_t)(nl - rest->p) : rest->n;
    *line = (struct strv){rest->p, n};
    size_t skip = nl ? n + 1 : n;
    rest->p += skip;
    rest->n -= skip;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

bool host__tok(struct strv *line, struct strv *tok)
{
    size_t i = 0;
    while (i < line->n && is_space(line->p[i]))
        i++;
    if (i == line->n) {
        line->p += i;
        line->n = 0;
        return false;
    }
    size_t j = i;
    while (j < line->n && !is_space(line->p[j]))
        j++;
    *tok = (struct strv){line->p + i, j - i};
    line->p += j;
    line->n -= j;
    return true;
}

bool host__u64(struct strv tok, uint64_t *v)
{
    if (tok.n == 0 || tok.n > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < tok.n; i++) {
        unsigned d = (unsigned)(tok.p[i] - '0');
        if (d > 9)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

bool host__f64(struct strv tok, double *v)
{
    char tmp[64];
    if (tok.n == 0 || tok.n >= sizeof tmp)
        return false;
    memcpy(tmp, tok.p, tok.n);
    tmp[tok.n] = 0;
    char *end;
    *v = strtod(tmp, &end);
    return *end == 0;
}

/* ---- regex ---------------------------------------------------------------- */

int host__re_init(struct host_re *re, const char *pattern, const char *what, struct err *e)
{
    *re = (struct host_re){0};
    if (pattern == NULL || pattern[0] == 0)
        return 0;
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &off, NULL);
    if (code == NULL) {
        PCRE2_UCHAR msg[120];
        pcre2_get_error_message(ec, msg, sizeof msg);
        return ERR_INVAL(e, "%s: bad regex at offset %zu: %s", what, (size_t)off, (char *)msg);
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* an interpreter fallback is fine */
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
    if (md == NULL) {
        pcre2_code_free(code);
        return -ENOMEM;
    }
    re->code = code;
    re->md = md;
    return 0;
}

void host__re_fini(struct host_re *re)
{
    pcre2_match_data_free(re->md);
    pcre2_code_free(re->code);
    *re = (struct host_re){0};
}

bool host__re_match(struct host_re *re, struct strv s)
{
    if (re->code == NULL)
        return false;
    return pcre2_match(re->code, (PCRE2_SPTR)(s.p ? s.p : ""), s.n, 0, 0, re->md, NULL) >= 0;
}

/* ---- emitting ------------------------------------------------------------- */

int host__emit(struct host_collector *h, struct batch *b, const char *name, int64_t t_ms, double v,
               const struct label *extra, size_t nextra)
{
    int rc = batch_begin_series(b);
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT(LABEL_METRIC_NAME), strv_c(name));
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("instance"), strv_c(h->instance));
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("job"), strv_c(h->job));
    for (size_t i = 0; rc == 0 && i < nextra; i++)
        rc = batch_add_label(b, extra[i].name, extra[i].value);
    if (rc == 0)
        rc = batch_add_sample(b, t_ms, v);
    if (rc == 0)
        return batch_end_series(b);
    batch_abort_series(b);
    return rc;
}

struct strv host__dup(struct batch *b, struct strv s)
{
    char *p = batch_strdup(b, s.p ? s.p : "", s.n);
    if (p == NULL)
        return (struct strv){NULL, 0};
    return (struct strv){p, s.n};
}

/* ---- creation ------------------------------------------------------------- */

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s != NULL ? s : dflt);
}

/* PRETTY_NAME from an os-release file, unquoted; NULL when absent. */
static char *os_pretty_name(const char *path)
{
    char text[8192];
    if (host__read_small(path, text, sizeof text) < 0)
        return NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "PRETTY_NAME=", 12) != 0)
            continue;
        char *v = line + 12;
        size_t n = strlen(v);
        if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
            v++;
            n -= 2;
        }
        return strndup(v, n);
    }
    return NULL;
}

int host_collector_new(const struct host_opts *o, struct host_collector **out, struct err *e)
{
    *out = NULL;
    struct host_collector *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    const char *proc_root = o->proc_root ? o->proc_root : "/proc";
    const char *sys_root = o->sys_root ? o->sys_root : "/sys";
    int rc = -ENOMEM;
    struct host_file *files[] = {&h->f_stat,      &h->f_loadavg,   &h->f_uptime, &h->f_meminfo,
                                 &h->f_mountinfo, &h->f_diskstats, &h->f_netdev};
    const char *rels[] = {"stat",           "loadavg",   "uptime", "meminfo",
                          "self/mountinfo", "diskstats", "net/dev"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        files[i]->fd = -1;
    buf_init(&h->rbuf, HOST_READ_MAX);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (host__file_init(files[i], proc_root, rels[i]) < 0)
            goto fail;

    h->proc_root = strdup(proc_root);
    h->sys_root = strdup(sys_root);
    h->job = dup_or(o->job, "tide");
    h->version = dup_or(o->version, "unknown");
    if (o->instance != NULL) {
        h->instance = strdup(o->instance);
    } else {
        char host[256] = "localhost";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = 0;
        h->instance = strdup(host);
    }
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    h->sysname = strdup(u.sysname);
    h->nodename = strdup(u.nodename);
    h->release = strdup(u.release);
    h->uversion = strdup(u.version);
    h->machine = strdup(u.machine);
#ifdef _GNU_SOURCE
    h->domainname = strdup(u.domainname);
#else
    h->domainname = strdup("");
#endif
    h->os = os_pretty_name(o->os_release_path ? o->os_release_path : "/etc/os-release");
    if (h->os == NULL && o->os_release_path == NULL)
        h->os = os_pretty_name("/usr/lib/os-release");
    if (h->os == NULL)
        h->os = strdup("unknown");
    if (!h->proc_root || !h->sys_root || !h->job || !h->version || !h->instance || !h->sysname ||
        !h->nodename || !h->release || !h->uversion || !h->machine || !h->domainname || !h->os)
        goto fail;

    for (int g = 0; g < HOST_NGROUPS; g++) {
        int64_t iv = o->interval_ms[g];
        h->interval_ms[g] = iv == 0 ? HOST_INTERVAL_DEFAULT_MS : iv;
        h->group_ctx[g] = (struct host_group_ctx){h, (enum host_group)g};
    }
    h->clk_tck = sysconf(_SC_CLK_TCK);
    if (h->clk_tck <= 0)
        h->clk_tck = 100;
    h->page_size = sysconf(_SC_PAGESIZE);
    if (h->page_size <= 0)
        h->page_size = 4096;

    const char *mex = o->fs_mount_exclude ? o->fs_mount_exclude : HOST_FS_MOUNT_EXCLUDE_DEFAULT;
    const char *tex = o->fs_type_exclude ? o->fs_type_exclude : HOST_FS_TYPE_EXCLUDE_DEFAULT;
    const char *dex =
        o->disk_device_exclude ? o->disk_device_exclude : HOST_DISK_DEVICE_EXCLUDE_DEFAULT;
    const char *nex =
        o->net_device_exclude ? o->net_device_exclude : HOST_NET_DEVICE_EXCLUDE_DEFAULT;
    if ((rc = host__re_init(&h->fs_mount_ex, mex, "fs_mount_exclude", e)) < 0 ||
        (rc = host__re_init(&h->fs_type_ex, tex, "fs_type_exclude", e)) < 0 ||
        (rc = host__re_init(&h->disk_ex, dex, "disk_device_exclude", e)) < 0 ||
        (rc = host__re_init(&h->net_ex, nex, "net_device_exclude", e)) < 0)
        goto fail;

    h->top_n = o->top_n;
    if (h->top_n > 0) {
        h->top = calloc(h->top_n, sizeof *h->top);
        if (h->top == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
    }
    if ((rc = host__service_init(h, o, e)) < 0)
        goto fail;
    *out = h;
    return 0;
fail:
    if (rc == -ENOMEM)
        ERR_SET(e, rc, "host: out of memory");
    host_collector_free(h);
    return rc;
}

void host_collector_free(struct host_collector *h)
{
    if (h == NULL)
        return;
    host__file_fini(&h->f_stat);
    host__file_fini(&h->f_loadavg);
    host__file_fini(&h->f_uptime);
    host__file_fini(&h->f_meminfo);
    host__file_fini(&h->f_mountinfo);
    host__file_fini(&h->f_diskstats);
    host__file_fini(&h->f_netdev);
    host__re_fini(&h->fs_mount_ex);
    host__re_fini(&h->fs_type_ex);
    host__re_fini(&h->disk_ex);
    host__re_fini(&h->net_ex);
    buf_fini(&h->rbuf);
    host__proc_fini(h);
    host__service_fini(h);
    free(h->top);
    free(h->proc_root);
    free(h->sys_root);
    free(h->instance);
    free(h->job);
    free(h->version);
    free(h->os);
    free(h->sysname);
    free(h->nodename);
    free(h->release);
    free(h->uversion);
    free(h->machine);
    free(h->domainname);
    free(h);
}

int64_t host_group_interval_ms(const struct host_collector *h, enum host_group g)
{
    if ((unsigned)g >= HOST_NGROUPS)
        return -1;
    return h->interval_ms[g];
}

int host_collect_group(struct host_collector *h, enum host_group g, int64_t now_ms,
                       struct batch *out, struct err *e)
{
    switch (g) {
    case HOST_CPU:
        return host__collect_cpu(h, now_ms, out, e);
    case HOST_MEM:
        return host__collect_mem(h, now_ms, out, e);
    case HOST_DISK:
        return host__collect_disk(h, now_ms, out, e);
    case HOST_NET:
        return host__collect_net(h, now_ms, out, e);
    case HOST_PROC:
        return host__collect_proc(h, now_ms, out, e);
    case HOST_SERVICE:
        return host__collect_service(h, now_ms, out, e);
    default:
        return ERR_INVAL(e, "host: no group %d", (int)g);
    }
}

const char *host_collector_instance(const struct host_collector *h)
{
    return h->instance;
}
