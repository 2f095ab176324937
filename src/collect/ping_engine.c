/* ping_engine.c: every ping target's round in flight at once on one thread
 * (ping.h). One ICMP socket per address family is shared by all targets:
 *
 *   conn_start ──mu──▶ engine thread: send probes when due ──▶ socket
 *                                     poll(wake, icmp4, icmp6)
 *   socket ──▶ parse ──▶ slot[seq]: token matches? ──▶ rtt ──▶ done
 *
 * Matching. Each probe takes a free 16-bit sequence number (a slot of a
 * 65 536-entry table) and a 64-bit token; the payload carries the engine's
 * random cookie and the token, so a reply counts only when its sequence
 * number's slot holds a probe with that token, sent to the address the
 * reply comes from. On a raw socket (which sees every echo reply on the
 * host) the identifier must be the engine's as well; on a datagram socket
 * the kernel owns the identifier and delivers only our replies.
 *
 * Threads: conn_new / _start / _free run on any thread and only touch the
 * fields marked "mu", waking the engine through a pipe. Everything else is
 * the engine thread's, and done runs there.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collect/ping.h"
#include "core/mem.h"
#include "core/time.h"

#define SLOTS 65536
#define RCVBUF_BYTES (4 << 20)
#define LINUX_ICMP_FILTER 1 /* linux/icmp.h: a raw IPv4 socket's type filter */
#define LINUX_SOL_RAW 255

enum probe_state { P_PENDING = 0, P_OUT, P_GOT, P_LOST };

struct probe {
    enum probe_state st;
    uint16_t seq;
    uint64_t token;
    int64_t sent_ns;
};

struct ping_conn {
    struct ping_engine *eng;
    /* mu */
    struct ping_conn *next; /* the engine's list */
    bool want_start, want_close, closed;
    struct ping_request req;
    ping_done_fn *done;
    void *done_ctx;
    int64_t asked_ns;

    /* The engine thread only. */
    bool busy;
    struct ping_request r;
    ping_done_fn *r_done;
    void *r_ctx;
    int64_t start_ns, asked_ns_r;
    int nsent, nout;
    struct probe p[PING_COUNT_MAX];
    struct ping_result res;
};

struct slot {
    struct ping_conn *c; /* NULL: free */
    uint64_t token;
    int probe;
};

struct sock {
    int fd;     /* -1: none */
    bool raw;   /* raw socket (sees every reply; IPv4 ones with the IP header) */
    int errnum; /* why there is none */
};

struct ping_engine {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t closed; /* a conn was closed by the engine */
    int wake[2];
    struct ping_conn *conns; /* mu */
    bool stop;               /* mu */
    bool started;            /* the thread runs */
    /* Engine thread (and read-only after new). */
    struct sock s4, s6;
    uint16_t id;
    uint64_t cookie;
    uint64_t next_token;
    uint16_t next_seq;
    struct slot *slots;
};

static void wake(struct ping_engine *eng)
{
    char c = 1;
    ssize_t w = write(eng->wake[1], &c, 1);
    (void)w; /* a full pipe is already a pending wake-up */
}

/* ---- sockets ---- */

static void open_sock(struct sock *s, int family)
{
    int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    s->raw = false;
    s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (s->fd < 0) {
        s->errnum = errno;
        s->fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
        if (s->fd < 0) {
            if (s->errnum == EACCES || errno == EPERM)
                s->errnum = EPERM;
            else
                s->errnum = errno;
            return;
        }
        s->raw = true;
    }
    int on = 1, sz = RCVBUF_BYTES;
    if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (family == AF_INET) {
        if (!s->raw)
            (void)setsockopt(s->fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof on);
        else {
            uint32_t filter = ~(1u << 0); /* pass echo replies (type 0) only */
            (void)setsockopt(s->fd, LINUX_SOL_RAW, LINUX_ICMP_FILTER, &filter, sizeof filter);
        }
    } else {
        (void)setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on);
        if (s->raw) {
            struct icmp6_filter f;
            ICMP6_FILTER_SETBLOCKALL(&f);
            ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
            (void)setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof f);
        }
    }
}

static struct sock *sock_of(struct ping_engine *eng, int family)
{
    return family == AF_INET6 ? &eng->s6 : &eng->s4;
}

const char *ping_engine_socket(struct ping_engine *eng, int family)
{
    struct sock *s = sock_of(eng, family);
    return s->fd < 0 ? "none" : s->raw ? "raw" : "dgram";
}

/* ---- rounds ---- */

static void release_slot(struct ping_engine *eng, struct probe *p)
{
    struct slot *s = &eng->slots[p->seq];
    if (s->token == p->token)
        s->c = NULL;
}

static void finish(struct ping_engine *eng, struct ping_conn *c)
{
    for (int i = 0; i < c->r.count; i++)
        if (c->p[i].st == P_OUT)
            release_slot(eng, &c->p[i]);
    c->busy = false;
    c->r_done(c->r_ctx, &c->res);
}

static void begin_round(struct ping_conn *c, int64_t asked_ns)
{
    c->busy = true;
    c->start_ns = time_mono_ns();
    c->nsent = c->nout = 0;
    memset(c->p, 0, sizeof c->p);
    memset(&c->res, 0, sizeof c->res);
    c->res.ttl = -1;
    c->res.setup_ns = -1;
    for (int i = 0; i < PING_COUNT_MAX; i++)
        c->res.rtt_ns[i] = -1;
    c->asked_ns_r = asked_ns;
}

/* Send probe c->nsent. */
static void send_probe(struct ping_engine *eng, struct ping_conn *c, int64_t now)
{
    struct probe *p = &c->p[c->nsent++];
    struct sock *s = sock_of(eng, c->r.addr.ss_family);
    p->st = P_LOST;
    /* A free sequence number: at most SLOTS probes can be in flight. */
    uint16_t seq = eng->next_seq;
    int tries = 0;
    while (eng->slots[seq].c != NULL && tries++ < SLOTS)
        seq++;
    if (eng->slots[seq].c != NULL) {
        if (c->res.send_errno == 0)
            c->res.send_errno = ENOBUFS;
        return;
    }
    eng->next_seq = (uint16_t)(seq + 1);
    p->seq = seq;
    p->token = ++eng->next_token;
    uint8_t buf[8 + PING_PAYLOAD_BYTES];
    size_t n = ping_build_request(buf, c->r.addr.ss_family, eng->id, seq, eng->cookie, p->token);
    p->sent_ns = time_mono_ns();
    ssize_t w = sendto(s->fd, buf, n, MSG_NOSIGNAL, (const struct sockaddr *)&c->r.addr,
                       c->r.addrlen);
    if (w < 0) {
        if (c->res.send_errno == 0)
            c->res.send_errno = errno;
        return;
    }
    if (c->res.setup_ns < 0)
        c->res.setup_ns = p->sent_ns - c->asked_ns_r;
    c->res.sent++;
    p->st = P_OUT;
    c->nout++;
    eng->slots[seq] = (struct slot){.c = c, .token = p->token, .probe = (int)(p - c->p)};
    (void)now;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* Read every datagram waiting on s. */
static void drain(struct ping_engine *eng, struct sock *s, int family)
{
    for (;;) {
        uint8_t buf[1500];
        union {
            char b[CMSG_SPACE(sizeof(int)) * 2];
            struct cmsghdr align;
        } cbuf;
        struct sockaddr_storage from;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr mh = {.msg_name = &from,
                            .msg_namelen = sizeof from,
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf.b,
                            .msg_controllen = sizeof cbuf.b};
        ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or an error with nothing to read */
        }
        int64_t now = time_mono_ns();
        struct ping_reply rep;
        if (ping_parse_reply(buf, (size_t)n, family, family == AF_INET && s->raw, &rep) != 0)
            continue;
        if (rep.cookie != eng->cookie || (s->raw && rep.id != eng->id))
            continue;
        struct slot *sl = &eng->slots[rep.seq];
        struct ping_conn *c = sl->c;
        if (c == NULL || sl->token != rep.token || !c->busy || !same_addr(&from, &c->r.addr))
            continue;
        struct probe *p = &c->p[sl->probe];
        if (p->st != P_OUT || p->token != rep.token)
            continue;
        sl->c = NULL;
        p->st = P_GOT;
        c->nout--;
        c->res.received++;
        c->res.rtt_ns[sl->probe] = now - p->sent_ns;
        int ttl = rep.ttl;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
                (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT))
                memcpy(&ttl, CMSG_DATA(cm), sizeof ttl);
        }
        c->res.ttl = ttl;
        if (c->nsent == c->r.count && c->nout == 0)
            finish(eng, c);
    }
}

/* Send what is due, expire what timed out, finish rounds that are over.
 * Returns the monotonic time of the next event (INT64_MAX: none). */
static int64_t tick(struct ping_engine *eng, struct ping_conn *c, int64_t now)
{
    if (!c->busy)
        return INT64_MAX;
    int64_t iv = c->r.packet_interval_ms * 1000000, to = c->r.timeout_ms * 1000000;
    while (c->nsent < c->r.count && c->start_ns + c->nsent * iv <= now)
        send_probe(eng, c, now);
    int64_t next = INT64_MAX;
    if (c->nsent < c->r.count)
        next = c->start_ns + c->nsent * iv;
    for (int i = 0; i < c->nsent; i++) {
        struct probe *p = &c->p[i];
        if (p->st != P_OUT)
            continue;
        if (p->sent_ns + to <= now) {
            release_slot(eng, p);
            p->st = P_LOST;
            c->nout--;
        } else if (p->sent_ns + to < next) {
            next = p->sent_ns + to;
        }
    }
    if (c->nsent == c->r.count && c->nout == 0) {
        finish(eng, c);
        return INT64_MAX;
    }
    return next;
}

static void *engine_main(void *arg)
{
    struct ping_engine *eng = arg;
    struct ping_conn **act = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&eng->mu);
    while (!eng->stop) {
        /* Commands: closes and new rounds. */
        size_t na = 0;
        for (struct ping_conn **pp = &eng->conns; *pp;) {
            struct ping_conn *c = *pp;
            if (c->want_close) {
                *pp = c->next;
                for (int i = 0; c->busy && i < c->nsent; i++)
                    if (c->p[i].st == P_OUT)
                        release_slot(eng, &c->p[i]);
                c->busy = false;
                c->closed = true;
                pthread_cond_broadcast(&eng->closed);
                continue;
            }
            if (c->want_start && !c->busy) {
                c->want_start = false;
                c->r = c->req;
                c->r_done = c->done;
                c->r_ctx = c->done_ctx;
                begin_round(c, c->asked_ns);
            }
            if (c->busy && mem_grow((void **)&act, &cap, na + 1, sizeof *act) == 0)
                act[na++] = c;
            pp = &c->next;
        }
        pthread_mutex_unlock(&eng->mu);

        int64_t now = time_mono_ns(), next = INT64_MAX;
        for (size_t i = 0; i < na; i++) {
            int64_t t = tick(eng, act[i], now);
            if (t < next)
                next = t;
        }
        struct pollfd pfd[3] = {{.fd = eng->wake[0], .events = POLLIN},
                                {.fd = eng->s4.fd, .events = POLLIN},
                                {.fd = eng->s6.fd, .events = POLLIN}};
        int ms = -1;
        if (next != INT64_MAX) {
            int64_t d = (next - time_mono_ns() + 999999) / 1000000;
            ms = d < 0 ? 0 : d > 1000 ? 1000 : (int)d;
        }
        int n = poll(pfd, 3, ms);
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            char b[64];
            while (read(eng->wake[0], b, sizeof b) > 0)
                ;
        }
        if (n > 0 && (pfd[1].revents & (POLLIN | POLLERR)))
            drain(eng, &eng->s4, AF_INET);
        if (n > 0 && (pfd[2].revents & (POLLIN | POLLERR)))
            drain(eng, &eng->s6, AF_INET6);
        now = time_mono_ns();
        for (size_t i = 0; i < na; i++)
            (void)tick(eng, act[i], now);
        pthread_mutex_lock(&eng->mu);
    }
    for (struct ping_conn *c = eng->conns; c; c = c->next) {
        c->busy = false;
        c->closed = true;
    }
    eng->conns = NULL;
    pthread_cond_broadcast(&eng->closed);
    pthread_mutex_unlock(&eng->mu);
    free(act);
    return NULL;
}

/* ---- the public side ---- */

int ping_engine_new(struct ping_engine **out, struct err *e)
{
    *out = NULL;
    struct ping_engine *eng = calloc(1, sizeof *eng);
    if (eng == NULL)
        return ERR_SET(e, -ENOMEM, "ping: out of memory");
    eng->slots = calloc(SLOTS, sizeof *eng->slots);
    if (eng->slots == NULL) {
        free(eng);
        return ERR_SET(e, -ENOMEM, "ping: out of memory");
    }
    uint64_t rnd[2] = {0, 0};
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd[0] = (uint64_t)time_mono_ns() ^ ((uint64_t)getpid() << 32), rnd[1] = rnd[0] * 31;
    eng->cookie = rnd[0];
    eng->id = (uint16_t)rnd[1];
    eng->next_seq = (uint16_t)(rnd[1] >> 16);
    eng->s4.fd = eng->s6.fd = -1;
    open_sock(&eng->s4, AF_INET);
    open_sock(&eng->s6, AF_INET6);
    if (pipe2(eng->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        int rc = -errno;
        ping_engine_free(eng); /* thread not started: frees sockets only */
        return ERR_SET(e, rc, "ping: pipe: %s", strerror(-rc));
    }
    pthread_mutex_init(&eng->mu, NULL);
    pthread_cond_init(&eng->closed, NULL);
    int rc = pthread_create(&eng->thread, NULL, engine_main, eng);
    if (rc != 0) {
        close(eng->wake[0]);
        close(eng->wake[1]);
        pthread_mutex_destroy(&eng->mu);
        pthread_cond_destroy(&eng->closed);
        ping_engine_free(eng);
        return ERR_SET(e, -rc, "ping: cannot start the engine thread");
    }
    pthread_setname_np(eng->thread, "tide-ping");
    eng->started = true;
    *out = eng;
    return 0;
}

void ping_engine_free(struct ping_engine *eng)
{
    if (eng == NULL)
        return;
    if (eng->started) {
        pthread_mutex_lock(&eng->mu);
        eng->stop = true;
        pthread_mutex_unlock(&eng->mu);
        wake(eng);
        pthread_join(eng->thread, NULL);
        close(eng->wake[0]);
        close(eng->wake[1]);
        pthread_mutex_destroy(&eng->mu);
        pthread_cond_destroy(&eng->closed);
    }
    if (eng->s4.fd >= 0)
        close(eng->s4.fd);
    if (eng->s6.fd >= 0)
        close(eng->s6.fd);
    free(eng->slots);
    free(eng);
}

int ping_conn_new(struct ping_engine *eng, struct ping_conn **out, struct err *e)
{
    *out = NULL;
    struct ping_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_SET(e, -ENOMEM, "ping: out of memory");
    c->eng = eng;
    pthread_mutex_lock(&eng->mu);
    c->next = eng->conns;
    eng->conns = c;
    pthread_mutex_unlock(&eng->mu);
    *out = c;
    return 0;
}

int ping_conn_start(struct ping_conn *c, const struct ping_request *req, ping_done_fn *done,
                    void *ctx, struct err *e)
{
    struct ping_engine *eng = c->eng;
    struct sock *s = sock_of(eng, req->addr.ss_family);
    if (s->fd < 0) {
        bool v6 = req->addr.ss_family == AF_INET6;
        if (s->errnum == EPERM)
            return ERR_SET(e, -EPERM,
                           "ping: no ICMP%s socket: this process's group is outside "
                           "net.ipv4.ping_group_range and it lacks CAP_NET_RAW",
                           v6 ? "v6" : "");
        return ERR_SET(e, -s->errnum, "ping: no ICMP%s socket: %s", v6 ? "v6" : "",
                       strerror(s->errnum));
    }
    pthread_mutex_lock(&eng->mu);
    int rc = 0;
    if (c->want_start || c->want_close || c->closed || eng->stop) {
        rc = TIDE_EINVAL;
    } else {
        c->req = *req;
        if (c->req.count < 1)
            c->req.count = 1;
        if (c->req.count > PING_COUNT_MAX)
            c->req.count = PING_COUNT_MAX;
        c->done = done;
        c->done_ctx = ctx;
        c->asked_ns = time_mono_ns();
        c->want_start = true;
    }
    pthread_mutex_unlock(&eng->mu);
    if (rc != 0)
        return ERR_SET(e, rc, "ping: a round is still in flight");
    wake(eng);
    return 0;
}

void ping_conn_free(struct ping_conn *c)
{
    if (c == NULL)
        return;
    struct ping_engine *eng = c->eng;
    pthread_mutex_lock(&eng->mu);
    if (!c->closed) {
        c->want_close = true;
        pthread_mutex_unlock(&eng->mu);
        wake(eng);
        pthread_mutex_lock(&eng->mu);
        while (!c->closed)
            pthread_cond_wait(&eng->closed, &eng->mu);
    }
    pthread_mutex_unlock(&eng->mu);
    free(c);
}
