/* host_service.c: the "service" group of the host collector: the state of
 * each configured service as a Prometheus state set,
 *   tide_service_state{service="nginx", state="running"} 1
 *   tide_service_state{service="nginx", state="stopped"} 0   (… one per state)
 * with the states running, stopped, not_found, timeout, error, unknown.
 *
 * How a state is learnt, picked once at creation (DESIGN.md's fallback):
 *  1. systemd runs (/run/systemd/system exists) and systemctl is found:
 *     `systemctl show -p LoadState,ActiveState,SubState NAME` per service;
 *     LoadState=not-found → not_found, ActiveState active/reloading →
 *     running, inactive/failed/deactivating → stopped, other → unknown,
 *     a non-zero exit → error.
 *  2. else `service` is found and /etc/init.d/NAME exists: `service NAME
 *     status`, by its LSB exit code: 0 running, 1–3 stopped, 4 unknown,
 *     other error.
 *  3. else a process whose /proc/<pid>/comm equals NAME (without ".service",
 *     cut at 15 bytes as the kernel cuts comm): running, or stopped. This
 *     cannot tell a stopped service from one not installed.
 * Commands run through posix_spawn with an argv, never a shell, with stdin
 * and stderr on /dev/null and a fixed PATH. All of one collection's commands
 * run at once and share one deadline (service_timeout_ms); a command still
 * running then is killed and its service reported as timeout. So a slow
 * service delays the group by one timeout at most, however many there are.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect/host_int.h"
#include "core/time.h"

static const char *const svc_state_names[SVC_NSTATES] = {
    "running", "stopped", "not_found", "timeout", "error", "unknown",
};

const char *host__service_state_name(int s)
{
    return s >= 0 && s < SVC_NSTATES ? svc_state_names[s] : NULL;
}

#define SVC_OUT_MAX 1024

/* One command in flight. */
struct svc_run {
    pid_t pid;  /* 0 = not spawned */
    int fd;     /* read end of its stdout; -1 when closed */
    size_t len; /* bytes in out */
    char out[SVC_OUT_MAX];
};

static char *const svc_env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};

static char *find_exe(const char *const *cands)
{
    for (; *cands != NULL; cands++)
        if (access(*cands, X_OK) == 0)
            return strdup(*cands);
    return NULL;
}

static bool valid_name(const char *s)
{
    if (s == NULL || s[0] == 0 || s[0] == '-' || s[0] == '.' || strlen(s) > 255)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || (unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

int host__service_init(struct host_collector *h, const struct host_opts *o, struct err *e)
{
    if (o->nservices > HOST_SERVICES_MAX)
        return ERR_LIMIT(e, "service: %zu services configured, at most %d", o->nservices,
                         HOST_SERVICES_MAX);
    h->service_timeout_ms =
        o->service_timeout_ms > 0 ? o->service_timeout_ms : HOST_SERVICE_TIMEOUT_DEFAULT_MS;
    if (o->nservices == 0)
        return 0;
    h->services = calloc(o->nservices, sizeof *h->services);
    h->svc_runs = calloc(o->nservices, sizeof(struct svc_run));
    if (h->services == NULL || h->svc_runs == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < o->nservices; i++) {
        if (!valid_name(o->services[i]))
            return ERR_INVAL(e, "service: bad service name \"%s\"",
                             o->services[i] ? o->services[i] : "(null)");
        h->services[i] = strdup(o->services[i]);
        if (h->services[i] == NULL)
            return -ENOMEM;
        h->nservices++;
    }
    static const char *const systemctls[] = {"/usr/bin/systemctl", "/bin/systemctl", NULL};
    static const char *const services[] = {"/usr/sbin/service", "/sbin/service", NULL};
    if (o->systemctl_path != NULL) {
        h->systemctl_path = strdup(o->systemctl_path);
        if (h->systemctl_path == NULL)
            return -ENOMEM;
    } else if (access("/run/systemd/system", F_OK) == 0) {
        h->systemctl_path = find_exe(systemctls);
    }
    if (h->systemctl_path != NULL) {
        h->svc_method = HOST_SVC_SYSTEMCTL;
        return 0;
    }
    h->service_path = find_exe(services);
    h->svc_method = h->service_path ? HOST_SVC_SERVICE : HOST_SVC_PROC;
    return 0;
}

void host__service_fini(struct host_collector *h)
{
    for (size_t i = 0; i < h->nservices; i++)
        free(h->services[i]);
    free(h->services);
    free(h->svc_runs);
    h->svc_runs = NULL;
    free(h->systemctl_path);
    free(h->service_path);
    h->services = NULL;
    h->nservices = 0;
}

int host__service_state_systemctl(const char *out, int exit_code)
{
    if (exit_code != 0)
        return SVC_ERROR;
    char load[64] = "", active[64] = "";
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > 10 && memcmp(p, "LoadState=", 10) == 0)
            snprintf(load, sizeof load, "%.*s", (int)(n - 10), p + 10);
        else if (n > 12 && memcmp(p, "ActiveState=", 12) == 0)
            snprintf(active, sizeof active, "%.*s", (int)(n - 12), p + 12);
        p += nl ? n + 1 : n;
    }
    if (strcmp(load, "not-found") == 0)
        return SVC_NOT_FOUND;
    if (strcmp(active, "active") == 0 || strcmp(active, "reloading") == 0)
        return SVC_RUNNING;
    if (strcmp(active, "inactive") == 0 || strcmp(active, "failed") == 0 ||
        strcmp(active, "deactivating") == 0)
        return SVC_STOPPED;
    return SVC_UNKNOWN;
}

int host__service_state_lsb(int exit_code)
{
    switch (exit_code) {
    case 0:
        return SVC_RUNNING;
    case 1:
    case 2:
    case 3:
        return SVC_STOPPED;
    case 4:
        return SVC_UNKNOWN;
    default:
        return SVC_ERROR;
    }
}

static int spawn(const char *path, char *const argv[], struct svc_run *r)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (rc == 0)
        rc = posix_spawn(&r->pid, path, &fa, NULL, argv, svc_env);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        r->pid = 0;
        return -rc;
    }
    r->fd = p[0];
    return 0;
}

/* Run every command until they all exit or the deadline passes. On return
 * each run with pid > 0 has *status set: its wait status, or -1 on timeout. */
static void run_all(struct svc_run *runs, size_t n, int *status, int64_t timeout_ms)
{
    int64_t deadline = time_mono_ns() + timeout_ms * 1000000;
    struct pollfd pfd[HOST_SERVICES_MAX];
    size_t idx[HOST_SERVICES_MAX];
    for (;;) {
        size_t np = 0;
        for (size_t i = 0; i < n; i++)
            if (runs[i].fd >= 0) {
                pfd[np] = (struct pollfd){.fd = runs[i].fd, .events = POLLIN};
                idx[np++] = i;
            }
        int64_t left_ms = (deadline - time_mono_ns()) / 1000000;
        if (np == 0 || left_ms <= 0)
            break;
        int k = poll(pfd, np, (int)left_ms);
        if (k < 0 && errno != EINTR)
            break;
        for (size_t j = 0; k > 0 && j < np; j++) {
            if (pfd[j].revents == 0)
                continue;
            struct svc_run *r = &runs[idx[j]];
            char sink[256];
            char *dst = r->len < SVC_OUT_MAX - 1 ? r->out + r->len : sink;
            size_t cap = r->len < SVC_OUT_MAX - 1 ? SVC_OUT_MAX - 1 - r->len : sizeof sink;
            ssize_t got = read(r->fd, dst, cap);
            if (got > 0 && dst != sink)
                r->len += (size_t)got;
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
                close(r->fd);
                r->fd = -1;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct svc_run *r = &runs[i];
        if (r->fd >= 0) {
            close(r->fd);
            r->fd = -1;
        }
        r->out[r->len] = 0;
        if (r->pid <= 0)
            continue;
        int st = 0;
        pid_t w = 0;
        while ((w = waitpid(r->pid, &st, WNOHANG)) == 0 && time_mono_ns() < deadline) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        if (w == 0) {
            kill(r->pid, SIGKILL);
            waitpid(r->pid, &st, 0);
            status[i] = -1;
        } else if (w < 0) {
            status[i] = -2; /* SIGCHLD ignored by the program: no exit code */
        } else {
            status[i] = st;
        }
    }
}

static int exit_code(int status)
{
    if (status < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* Fill state[i] for the services found by their process name. */
static void match_comm(struct host_collector *h, const bool *want, int *state)
{
    size_t nwant = 0;
    for (size_t i = 0; i < h->nservices; i++)
        if (want[i]) {
            state[i] = SVC_STOPPED;
            nwant++;
        }
    if (nwant == 0)
        return;
    char key[HOST_SERVICES_MAX][16];
    for (size_t i = 0; i < h->nservices; i++) {
        if (!want[i])
            continue;
        const char *s = h->services[i];
        size_t n = strlen(s);
        if (n > 8 && strcmp(s + n - 8, ".service") == 0)
            n -= 8;
        if (n > 15)
            n = 15;
        memcpy(key[i], s, n);
        key[i][n] = 0;
    }
    int dfd = open(h->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    DIR *d = fdopendir(dfd);
    if (d == NULL) {
        close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        char rel[300], comm[32];
        snprintf(rel, sizeof rel, "%s/comm", de->d_name);
        int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, comm, sizeof comm - 1);
        close(fd);
        if (n <= 0)
            continue;
        while (n > 0 && comm[n - 1] == '\n')
            n--;
        comm[n] = 0;
        for (size_t i = 0; i < h->nservices; i++)
            if (want[i] && state[i] != SVC_RUNNING && strcmp(comm, key[i]) == 0)
                state[i] = SVC_RUNNING;
    }
    closedir(d);
}

int host__collect_service(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    size_t n = h->nservices;
    if (n == 0)
        return 0;
    struct svc_run *runs = h->svc_runs;
    int state[HOST_SERVICES_MAX], status[HOST_SERVICES_MAX];
    bool by_comm[HOST_SERVICES_MAX] = {0};
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        runs[i].pid = 0;
        runs[i].len = 0;
        runs[i].fd = -1;
        state[i] = SVC_UNKNOWN;
        status[i] = -2;
        char *svc = h->services[i];
        int r = 0;
        if (h->svc_method == HOST_SVC_SYSTEMCTL) {
            char *argv[] = {"systemctl", "show", "-p", "LoadState,ActiveState,SubState", svc, NULL};
            r = spawn(h->systemctl_path, argv, &runs[i]);
        } else if (h->svc_method == HOST_SVC_SERVICE) {
            char init[512];
            snprintf(init, sizeof init, "/etc/init.d/%s", svc);
            if (access(init, X_OK) == 0) {
                char *argv[] = {"service", svc, "status", NULL};
                r = spawn(h->service_path, argv, &runs[i]);
            } else {
                by_comm[i] = true;
            }
        } else {
            by_comm[i] = true;
        }
        if (r < 0) {
            state[i] = SVC_ERROR;
            host__fail(e, &rc, r, "service", svc);
        }
    }
    run_all(runs, n, status, h->service_timeout_ms);
    for (size_t i = 0; i < n; i++) {
        if (runs[i].pid <= 0)
            continue;
        if (status[i] == -1)
            state[i] = SVC_TIMEOUT;
        else if (h->svc_method == HOST_SVC_SYSTEMCTL)
            state[i] = host__service_state_systemctl(runs[i].out, exit_code(status[i]));
        else
            state[i] = host__service_state_lsb(exit_code(status[i]));
    }
    match_comm(h, by_comm, state);
    for (size_t i = 0; i < n; i++) {
        struct strv svc = strv_c(h->services[i]);
        for (int s = 0; s < SVC_NSTATES; s++) {
            struct label l[2] = {{STRV_LIT("service"), svc},
                                 {STRV_LIT("state"), strv_c(svc_state_names[s])}};
            int r = host__emit(h, b, "tide_service_state", now_ms, state[i] == s ? 1 : 0, l, 2);
            if (r < 0) {
                host__fail(e, &rc, r, "service", h->services[i]);
                return rc;
            }
        }
    }
    return rc;
}
