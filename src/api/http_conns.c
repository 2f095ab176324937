/* http_conns.c: connection limits and header deadlines of the HTTP server
 * (see http_conns.h for the policy).
 *
 * Layout: every tracked connection belongs to one `struct client` (its IP
 * address, IPv4 kept as IPv4-mapped IPv6 so both spellings count as one
 * client) in a chained hash table. A waiting connection is also on two
 * FIFO lists ordered by the time it began waiting: its client's list (the
 * victim when the client is at its limit) and one of the server's two
 * lists, `fresh` (no request yet, header_timeout) or `idle` (kept alive
 * after an answer, idle_timeout). Every list is ordered by `since` because
 * a connection is appended when it starts waiting and times only grow, so
 * the deadline thread and the eviction only ever look at list heads.
 */
#include "api/http_conns.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/time.h"

#define NBUCKETS 4096
#define REPORT_EVERY_NS (10 * 1000000000LL)

enum conn_state {
    CONN_FRESH,   /* accepted, first request headers not complete */
    CONN_IDLE,    /* kept alive after an answer, next headers not complete */
    CONN_BUSY,    /* a request is in progress */
    CONN_CLOSING, /* shut down here, waiting for libmicrohttpd to close it */
};

struct list {
    struct http_conn *head, *tail;
};

struct client {
    uint8_t key[16];      /* IPv6 or IPv4-mapped address */
    struct client *next;  /* hash chain */
    unsigned count;       /* tracked connections not yet shut down */
    struct list waiting;  /* its waiting connections, oldest first */
};

struct http_conn {
    int fd;
    enum conn_state state;
    int64_t since_ns;      /* monotonic time it began waiting */
    struct client *client; /* NULL once shut down or closed */
    struct http_conn *prev, *next;   /* in cs->fresh or cs->idle while waiting */
    struct http_conn *cprev, *cnext; /* in client->waiting while waiting */
};

struct http_conns {
    struct http_conns_opts o; /* immutable */
    pthread_t thread;         /* the deadline thread */
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t wake;      /* stop request (CLOCK_MONOTONIC) */
    bool stop;
    unsigned total;           /* tracked connections not yet shut down */
    struct list fresh, idle;  /* waiting connections, oldest first */
    struct client *buckets[NBUCKETS];
    /* what was closed or refused since the last log line */
    unsigned long n_client, n_total, n_header, n_idle, n_refused;
};

/* ---- lists ---- */

static void list_push(struct list *l, struct http_conn *c)
{
    c->prev = l->tail;
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
}

static void list_del(struct list *l, struct http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    c->prev = c->next = NULL;
}

static void client_push(struct client *cl, struct http_conn *c)
{
    c->cprev = cl->waiting.tail;
    c->cnext = NULL;
    if (cl->waiting.tail)
        cl->waiting.tail->cnext = c;
    else
        cl->waiting.head = c;
    cl->waiting.tail = c;
}

static void client_del(struct client *cl, struct http_conn *c)
{
    if (c->cprev)
        c->cprev->cnext = c->cnext;
    else
        cl->waiting.head = c->cnext;
    if (c->cnext)
        c->cnext->cprev = c->cprev;
    else
        cl->waiting.tail = c->cprev;
    c->cprev = c->cnext = NULL;
}

/* ---- clients ---- */

static void addr_key(const struct sockaddr *a, uint8_t key[16])
{
    memset(key, 0, 16);
    if (a == NULL)
        return;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)a;
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &in->sin_addr, 4);
    } else if (a->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)a)->sin6_addr, 16);
    }
}

static unsigned bucket_of(const uint8_t key[16])
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % NBUCKETS;
}

static struct client *client_find(struct http_conns *cs, const uint8_t key[16])
{
    for (struct client *cl = cs->buckets[bucket_of(key)]; cl; cl = cl->next)
        if (memcmp(cl->key, key, 16) == 0)
            return cl;
    return NULL;
}

static void client_drop(struct http_conns *cs, struct client *cl)
{
    struct client **pp = &cs->buckets[bucket_of(cl->key)];
    while (*pp != cl)
        pp = &(*pp)->next;
    *pp = cl->next;
    free(cl);
}

/* ---- state changes, under cs->mu ---- */

static bool waiting(const struct http_conn *c)
{
    return c->state == CONN_FRESH || c->state == CONN_IDLE;
}

static void unlink_waiting(struct http_conns *cs, struct http_conn *c)
{
    if (!waiting(c))
        return;
    list_del(c->state == CONN_FRESH ? &cs->fresh : &cs->idle, c);
    client_del(c->client, c);
}

/* Stop counting `c` against the limits. */
static void detach(struct http_conns *cs, struct http_conn *c)
{
    if (c->client == NULL)
        return;
    unlink_waiting(cs, c);
    cs->total--;
    if (--c->client->count == 0)
        client_drop(cs, c->client);
    c->client = NULL;
}

/* Close a waiting connection: libmicrohttpd sees the end of the stream on
 * its next look at the socket and closes it. */
static void shut(struct http_conns *cs, struct http_conn *c)
{
    detach(cs, c);
    c->state = CONN_CLOSING;
    shutdown(c->fd, SHUT_RDWR);
}

static void set_waiting(struct http_conns *cs, struct http_conn *c, enum conn_state s)
{
    c->state = s;
    c->since_ns = time_mono_ns();
    list_push(s == CONN_FRESH ? &cs->fresh : &cs->idle, c);
    client_push(c->client, c);
}

/* ---- the interface ---- */

bool http_conns_admit(struct http_conns *cs, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    uint8_t key[16];
    addr_key(addr, key);
    bool ok = true;
    pthread_mutex_lock(&cs->mu);
    struct client *cl = client_find(cs, key);
    if (cl != NULL && cl->count >= cs->o.max_per_client) {
        struct http_conn *victim = cl->waiting.head;
        if (victim != NULL) {
            shut(cs, victim);
            cs->n_client++;
        } else {
            ok = false;
        }
    } else if (cs->total >= cs->o.max_connections) {
        struct http_conn *f = cs->fresh.head, *i = cs->idle.head;
        struct http_conn *victim = f == NULL ? i : i == NULL ? f : f->since_ns <= i->since_ns ? f : i;
        if (victim != NULL) {
            shut(cs, victim);
            cs->n_total++;
        } else {
            ok = false;
        }
    }
    if (!ok)
        cs->n_refused++;
    pthread_mutex_unlock(&cs->mu);
    return ok;
}

struct http_conn *http_conns_open(struct http_conns *cs, int fd, const struct sockaddr *addr)
{
    struct http_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = fd;
    uint8_t key[16];
    addr_key(addr, key);
    pthread_mutex_lock(&cs->mu);
    struct client *cl = client_find(cs, key);
    if (cl == NULL) {
        cl = calloc(1, sizeof *cl);
        if (cl == NULL) {
            pthread_mutex_unlock(&cs->mu);
            free(c);
            return NULL;
        }
        memcpy(cl->key, key, 16);
        unsigned b = bucket_of(key);
        cl->next = cs->buckets[b];
        cs->buckets[b] = cl;
    }
    cl->count++;
    cs->total++;
    c->client = cl;
    set_waiting(cs, c, CONN_FRESH);
    pthread_mutex_unlock(&cs->mu);
    return c;
}

void http_conns_busy(struct http_conns *cs, struct http_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&cs->mu);
    if (waiting(c)) {
        unlink_waiting(cs, c);
        c->state = CONN_BUSY;
    }
    pthread_mutex_unlock(&cs->mu);
}

void http_conns_idle(struct http_conns *cs, struct http_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&cs->mu);
    if (c->state == CONN_BUSY)
        set_waiting(cs, c, CONN_IDLE);
    pthread_mutex_unlock(&cs->mu);
}

void http_conns_close(struct http_conns *cs, struct http_conn *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&cs->mu);
    detach(cs, c);
    pthread_mutex_unlock(&cs->mu);
    free(c);
}

/* ---- deadlines ---- */

/* Shut the connections of `l` that began waiting before `cutoff_ns`. */
static unsigned long expire(struct http_conns *cs, struct list *l, int64_t cutoff_ns)
{
    unsigned long n = 0;
    while (l->head != NULL && l->head->since_ns <= cutoff_ns) {
        shut(cs, l->head);
        n++;
    }
    return n;
}

static void report(struct http_conns *cs)
{
    if (cs->n_client + cs->n_total + cs->n_header + cs->n_idle + cs->n_refused == 0)
        return;
    log_warn("http",
             "closed %lu connections over http_max_connections_per_client (%u), %lu over "
             "http_max_connections (%u), %lu without request headers within "
             "http_header_timeout, %lu idle past http_idle_timeout; refused %lu",
             cs->n_client, cs->o.max_per_client, cs->n_total, cs->o.max_connections,
             cs->n_header, cs->n_idle, cs->n_refused);
    cs->n_client = cs->n_total = cs->n_header = cs->n_idle = cs->n_refused = 0;
}

static void *deadline_main(void *arg)
{
    struct http_conns *cs = arg;
    int64_t last_report = time_mono_ns();
    pthread_mutex_lock(&cs->mu);
    while (!cs->stop) {
        int64_t now = time_mono_ns();
        cs->n_header += expire(cs, &cs->fresh, now - cs->o.header_timeout_ms * 1000000);
        cs->n_idle += expire(cs, &cs->idle, now - cs->o.idle_timeout_ms * 1000000);
        if (now - last_report >= REPORT_EVERY_NS) {
            report(cs);
            last_report = now;
        }
        /* A quarter of a second: deadlines are enforced within that. */
        int64_t wake = now + 250000000;
        struct timespec ts = {.tv_sec = wake / 1000000000, .tv_nsec = wake % 1000000000};
        pthread_cond_timedwait(&cs->wake, &cs->mu, &ts);
    }
    report(cs);
    pthread_mutex_unlock(&cs->mu);
    return NULL;
}

int http_conns_new(struct http_conns **out, const struct http_conns_opts *o)
{
    *out = NULL;
    struct http_conns *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return -ENOMEM;
    cs->o = *o;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&cs->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        free(cs);
        return -rc;
    }
    pthread_mutex_init(&cs->mu, NULL);
    rc = pthread_create(&cs->thread, NULL, deadline_main, cs);
    if (rc != 0) {
        pthread_cond_destroy(&cs->wake);
        pthread_mutex_destroy(&cs->mu);
        free(cs);
        return -rc;
    }
    *out = cs;
    return 0;
}

void http_conns_free(struct http_conns *cs)
{
    if (cs == NULL)
        return;
    pthread_mutex_lock(&cs->mu);
    cs->stop = true;
    pthread_cond_signal(&cs->wake);
    pthread_mutex_unlock(&cs->mu);
    pthread_join(cs->thread, NULL);
    for (size_t b = 0; b < NBUCKETS; b++) { /* none left once MHD stopped; be safe */
        while (cs->buckets[b] != NULL) {
            struct client *cl = cs->buckets[b];
            cs->buckets[b] = cl->next;
            free(cl);
        }
    }
    pthread_cond_destroy(&cs->wake);
    pthread_mutex_destroy(&cs->mu);
    free(cs);
}
