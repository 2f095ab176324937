/* test_http_conns.c: the connection policy of api/http_conns.c on socket
 * pairs standing in for HTTP connections: a client at its limit loses its
 * longest-waiting connection (never a busy one, never another client's),
 * is refused when all its connections are busy, the total limit evicts
 * across clients, and connections without complete headers are shut after
 * the header deadline while busy ones stay. "Shut" is seen from the peer
 * end: recv() returns 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "api/http_conns.h"

struct pair {
    int server, peer; /* server: what http_conns shuts; peer: what we look at */
    struct http_conn *c;
};

static struct sockaddr_in ip(const char *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, s, &a.sin_addr);
    return a;
}

/* Admit and open one connection from `addr`; false when refused. */
static bool connect_from(struct http_conns *cs, const char *addr, struct pair *p)
{
    struct sockaddr_in a = ip(addr);
    if (!http_conns_admit(cs, (struct sockaddr *)&a, sizeof a))
        return false;
    int fds[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    p->server = fds[0];
    p->peer = fds[1];
    p->c = http_conns_open(cs, p->server, (struct sockaddr *)&a);
    assert_non_null(p->c);
    return true;
}

static bool is_shut(const struct pair *p)
{
    char b;
    return recv(p->peer, &b, 1, MSG_DONTWAIT) == 0;
}

static void finish(struct http_conns *cs, struct pair *p)
{
    http_conns_close(cs, p->c);
    close(p->server);
    close(p->peer);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_per_client(void **state)
{
    (void)state;
    struct http_conns_opts o = {.max_connections = 100, .max_per_client = 3,
                                .header_timeout_ms = 60000, .idle_timeout_ms = 60000};
    struct http_conns *cs;
    assert_int_equal(http_conns_new(&cs, &o), 0);
    struct pair a[5], other;
    assert_true(connect_from(cs, "10.0.0.1", &a[0]));
    assert_true(connect_from(cs, "10.0.0.1", &a[1]));
    assert_true(connect_from(cs, "10.0.0.1", &a[2]));
    assert_true(connect_from(cs, "10.0.0.2", &other));
    http_conns_busy(cs, a[0].c); /* a request in progress: never evicted */
    /* The 4th from 10.0.0.1 closes its longest-waiting one, a[1]. */
    assert_true(connect_from(cs, "10.0.0.1", &a[3]));
    assert_true(is_shut(&a[1]));
    assert_false(is_shut(&a[0]));
    assert_false(is_shut(&a[2]));
    assert_false(is_shut(&other));
    /* a[2] finished a request and waits again: now a[3] is the oldest waiting. */
    http_conns_busy(cs, a[2].c);
    http_conns_idle(cs, a[2].c);
    assert_true(connect_from(cs, "10.0.0.1", &a[4]));
    assert_true(is_shut(&a[3]));
    assert_false(is_shut(&a[2]));
    /* All three busy: the next one is refused, another client is not. */
    http_conns_busy(cs, a[2].c);
    http_conns_busy(cs, a[4].c);
    struct pair x;
    assert_false(connect_from(cs, "10.0.0.1", &x));
    assert_true(connect_from(cs, "10.0.0.3", &x));
    finish(cs, &x);
    /* A closed busy connection frees its place. */
    finish(cs, &a[0]);
    assert_true(connect_from(cs, "10.0.0.1", &a[0]));
    for (int i = 0; i < 5; i++)
        finish(cs, &a[i]);
    finish(cs, &other);
    http_conns_free(cs);
}

static void test_total(void **state)
{
    (void)state;
    struct http_conns_opts o = {.max_connections = 2, .max_per_client = 10,
                                .header_timeout_ms = 60000, .idle_timeout_ms = 60000};
    struct http_conns *cs;
    assert_int_equal(http_conns_new(&cs, &o), 0);
    struct pair a, b, c, d;
    assert_true(connect_from(cs, "10.0.0.1", &a));
    assert_true(connect_from(cs, "10.0.0.2", &b));
    assert_true(connect_from(cs, "10.0.0.3", &c)); /* evicts a, the oldest */
    assert_true(is_shut(&a));
    assert_false(is_shut(&b));
    http_conns_busy(cs, b.c);
    http_conns_busy(cs, c.c);
    assert_false(connect_from(cs, "10.0.0.4", &d)); /* nothing waiting: refused */
    finish(cs, &a);
    finish(cs, &b);
    finish(cs, &c);
    http_conns_free(cs);
}

static void test_deadlines(void **state)
{
    (void)state;
    struct http_conns_opts o = {.max_connections = 100, .max_per_client = 100,
                                .header_timeout_ms = 200, .idle_timeout_ms = 1500};
    struct http_conns *cs;
    assert_int_equal(http_conns_new(&cs, &o), 0);
    struct pair fresh, busy, idle;
    assert_true(connect_from(cs, "10.0.0.1", &fresh));
    assert_true(connect_from(cs, "10.0.0.1", &busy));
    assert_true(connect_from(cs, "10.0.0.1", &idle));
    http_conns_busy(cs, busy.c);
    http_conns_busy(cs, idle.c);
    http_conns_idle(cs, idle.c); /* kept alive: idle_timeout, not header_timeout */
    sleep_ms(800);
    assert_true(is_shut(&fresh));
    assert_false(is_shut(&busy));
    assert_false(is_shut(&idle));
    sleep_ms(1500);
    assert_true(is_shut(&idle));
    assert_false(is_shut(&busy));
    finish(cs, &fresh);
    finish(cs, &busy);
    finish(cs, &idle);
    http_conns_free(cs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_client),
        cmocka_unit_test(test_total),
        cmocka_unit_test(test_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
