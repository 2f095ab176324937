/* test_http_client.c: core/http_client.c against a tiny libmicrohttpd server
 * on 127.0.0.1 (port 0) started here: what goes on the wire (method, body,
 * type, encoding, user agent, bearer and basic auth), keep-alive reuse, the
 * response body cap (fail or truncate), streaming to a sink, Retry-After
 * and Content-Type, the redirect policy (off, on, too many, credentials not
 * sent to another host), timeouts, the abort callback, and the error texts
 * (URL shown without its password or query). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/http_client.h"
#include "core/time.h"

/* What the server saw of the last request. */
struct seen {
    char method[16], path[64], auth[128], ctype[64], cenc[64], ua[64], xtest[64];
    char body[256];
};

struct server {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    struct seen last;        /* mu */
    int connections;         /* mu: TCP connections accepted */
    atomic_bool release;     /* lets /slow answer */
};

struct upload {
    char body[256];
    size_t n;
};

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body,
                              const char *const *hdrs)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i += 2)
        MHD_add_response_header(r, hdrs[i], hdrs[i + 1]);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void copy_hdr(struct MHD_Connection *c, const char *name, char *dst, size_t n)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    snprintf(dst, n, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    struct server *s = cls;
    struct upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*data_size > 0) {
        size_t k = *data_size < sizeof u->body - 1 - u->n ? *data_size : sizeof u->body - 1 - u->n;
        memcpy(u->body + u->n, data, k);
        u->n += k;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&s->mu);
    struct seen *w = &s->last;
    snprintf(w->method, sizeof w->method, "%s", method);
    snprintf(w->path, sizeof w->path, "%s", url);
    snprintf(w->body, sizeof w->body, "%s", u->body);
    copy_hdr(c, "Authorization", w->auth, sizeof w->auth);
    copy_hdr(c, "Content-Type", w->ctype, sizeof w->ctype);
    copy_hdr(c, "Content-Encoding", w->cenc, sizeof w->cenc);
    copy_hdr(c, "User-Agent", w->ua, sizeof w->ua);
    copy_hdr(c, "X-Test", w->xtest, sizeof w->xtest);
    pthread_mutex_unlock(&s->mu);

    if (strcmp(url, "/big") == 0) {
        static char big[10001];
        memset(big, 'x', 10000);
        return answer(c, 200, big, NULL);
    }
    if (strcmp(url, "/slow") == 0) {
        int64_t until = time_mono_ns() + 10 * 1000000000LL; /* never hang the test */
        while (!atomic_load(&s->release) && time_mono_ns() < until) {
            struct timespec ts = {0, 5000000};
            nanosleep(&ts, NULL);
        }
        return answer(c, 200, "late", NULL);
    }
    if (strcmp(url, "/retry") == 0) {
        static const char *const h[] = {"Retry-After", "7", "Content-Type", "text/plain", NULL};
        return answer(c, 429, "slow down", h);
    }
    if (strcmp(url, "/redirect") == 0) {
        static const char *const h[] = {"Location", "/echo", NULL};
        return answer(c, 302, "", h);
    }
    if (strcmp(url, "/loop") == 0) {
        static const char *const h[] = {"Location", "/loop", NULL};
        return answer(c, 302, "", h);
    }
    if (strcmp(url, "/other") == 0) {
        char loc[96];
        snprintf(loc, sizeof loc, "http://localhost:%u/echo", s->port);
        const char *const h[] = {"Location", loc, NULL};
        return answer(c, 302, "", h);
    }
    if (strcmp(url, "/missing") == 0)
        return answer(c, 404, "{\"error\":\"no such thing\"}", NULL);
    static const char *const h[] = {"Content-Type", "application/json; charset=utf-8", NULL};
    return answer(c, 200, u->n ? u->body : "{}", h);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                    enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&s->mu);
        s->connections++;
        pthread_mutex_unlock(&s->mu);
    }
}

static void server_start(struct server *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_ERROR_LOG,
                            0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_conn, s, MHD_OPTION_END);
    assert_non_null(s->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    s->port = info->port;
}

static void server_stop(struct server *s)
{
    atomic_store(&s->release, true);
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->mu);
}

static struct server srv;

/* A listener that answers one connection with a line of plain text. */
struct plain {
    int fd;
    uint16_t port;
    pthread_t th;
};

static void *plain_main(void *arg)
{
    struct plain *p = arg;
    int c = accept(p->fd, NULL, NULL);
    if (c >= 0) {
        char junk[512];
        ssize_t n = read(c, junk, sizeof junk);
        (void)n;
        static const char reply[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
        n = write(c, reply, sizeof reply - 1);
        (void)n;
        close(c);
    }
    return NULL;
}

static void plain_start(struct plain *p)
{
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(p->fd, 4), 0);
    assert_int_equal(getsockname(p->fd, (struct sockaddr *)&sa, &len), 0);
    p->port = ntohs(sa.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, plain_main, p), 0);
}

static void plain_stop(struct plain *p)
{
    shutdown(p->fd, SHUT_RDWR); /* wakes an accept() that got nothing */
    pthread_join(p->th, NULL);
    close(p->fd);
}

static int setup(void **state)
{
    server_start(&srv);
    return 0;
}

static int teardown(void **state)
{
    server_stop(&srv);
    return 0;
}

static char *url_of(const char *path)
{
    static char u[256];
    snprintf(u, sizeof u, "http://127.0.0.1:%u%s", srv.port, path);
    return u;
}

static struct http_client *client(const struct http_client_opts *o)
{
    struct http_client *c = NULL;
    struct err e = {0};
    if (http_client_new(o, &c, &e) != 0)
        fail_msg("http_client_new: %s", e.msg);
    return c;
}

static void test_what_goes_out(void **state)
{
    /* Table: method and body in, what the server must see. */
    static const struct {
        const char *name, *method, *body, *want_method;
    } cases[] = {
        {"default GET", NULL, NULL, "GET"},
        {"body makes POST", NULL, "a=1", "POST"},
        {"PUT with body", "PUT", "put-body", "PUT"},
        {"DELETE", "DELETE", NULL, "DELETE"},
        {"GET after a POST is a GET again", "GET", NULL, "GET"},
    };
    struct http_client_opts o = {.user_agent = "tide-test/1", .bearer_token = "s3cret"};
    struct http_client *c = client(&o);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        static const char *const extra[] = {"X-Test: yes", NULL};
        struct buf body;
        buf_init(&body, 1024);
        struct http_request rq = {.method = cases[i].method,
                                  .url = url_of("/echo"),
                                  .headers = extra,
                                  .body = cases[i].body,
                                  .body_len = cases[i].body ? strlen(cases[i].body) : 0,
                                  .content_type = cases[i].body ? "text/plain" : NULL,
                                  .content_encoding = cases[i].body ? "identity" : NULL,
                                  .resp_body = &body};
        struct http_response rs;
        struct err e = {0};
        int rc = http_client_do(c, &rq, &rs, &e);
        if (rc != 0 || rs.status != 200)
            fail_msg("%s: rc %d status %d: %s", cases[i].name, rc, rs.status, e.msg);
        if (strcmp(srv.last.method, cases[i].want_method) != 0)
            fail_msg("%s: server saw %s", cases[i].name, srv.last.method);
        assert_string_equal(srv.last.auth, "Bearer s3cret");
        assert_string_equal(srv.last.ua, "tide-test/1");
        assert_string_equal(srv.last.xtest, "yes");
        if (cases[i].body) {
            assert_string_equal(srv.last.body, cases[i].body);
            assert_string_equal(srv.last.ctype, "text/plain");
            assert_string_equal(srv.last.cenc, "identity");
            assert_string_equal(body.p, cases[i].body); /* echoed */
        } else {
            assert_string_equal(srv.last.body, "");
        }
        assert_string_equal(rs.content_type, "application/json; charset=utf-8");
        buf_fini(&body);
    }
    /* Five requests, one keep-alive connection. */
    assert_int_equal(srv.connections, 1);
    http_client_free(c);
}

static void test_basic_auth(void **state)
{
    struct http_client_opts o = {.basic_user = "reader", .basic_password = "pa:ss"};
    struct http_client *c = client(&o);
    struct http_request rq = {.url = url_of("/echo")};
    struct http_response rs;
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_string_equal(srv.last.auth, "Basic cmVhZGVyOnBhOnNz"); /* reader:pa:ss */
    http_client_free(c);
}

static void test_body_cap(void **state)
{
    struct http_client *c = client(&(struct http_client_opts){0});
    struct buf b;
    buf_init(&b, 1000);
    struct http_request rq = {.url = url_of("/big?token=hidden"), .resp_body = &b};
    struct http_response rs;
    struct err e = {0};
    assert_int_equal(http_client_do(c, &rq, &rs, &e), TIDE_ELIMIT);
    if (!strstr(e.msg, "larger than 1000 bytes") || !strstr(e.msg, url_of("/big")) ||
        strstr(e.msg, "hidden"))
        fail_msg("error text: %s", e.msg);
    buf_reset(&b);
    rq.resp_truncate = true;
    assert_int_equal(http_client_do(c, &rq, &rs, &e), 0);
    assert_int_equal(rs.status, 200);
    assert_int_equal(b.len, 1000);
    assert_true(rs.body_truncated);
    buf_fini(&b);
    http_client_free(c);
}

static void test_retry_after_and_error_body(void **state)
{
    struct http_client *c = client(&(struct http_client_opts){0});
    struct buf b;
    buf_init(&b, 1024);
    struct http_request rq = {.url = url_of("/retry"), .resp_body = &b};
    struct http_response rs;
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_int_equal(rs.status, 429);
    assert_int_equal(rs.retry_after_s, 7);
    assert_string_equal(rs.content_type, "text/plain");
    assert_string_equal(b.p, "slow down");
    buf_fini(&b);
    http_client_free(c);
}

struct sink {
    char got[64];
    size_t n;
    bool stop;
};

static int to_sink(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    if (s->stop)
        return 1;
    size_t k = n < sizeof s->got - 1 - s->n ? n : sizeof s->got - 1 - s->n;
    memcpy(s->got + s->n, p, k);
    s->n += k;
    return 0;
}

static void test_sink(void **state)
{
    struct http_client *c = client(&(struct http_client_opts){0});
    struct buf b;
    buf_init(&b, 1024);
    struct sink sk = {0};
    /* 2xx: to the sink, not the buffer. */
    struct http_request rq = {
        .url = url_of("/echo"), .resp_body = &b, .sink = to_sink, .sink_ctx = &sk};
    struct http_response rs;
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_string_equal(sk.got, "{}");
    assert_int_equal(b.len, 0);
    /* 404: to the buffer. */
    rq.url = url_of("/missing");
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_int_equal(rs.status, 404);
    assert_string_equal(b.p, "{\"error\":\"no such thing\"}");
    /* The sink says stop. */
    sk.stop = true;
    rq.url = url_of("/big");
    struct err e = {0};
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -ECANCELED);
    buf_fini(&b);
    http_client_free(c);
}

static void test_redirects(void **state)
{
    struct http_response rs;
    struct err e = {0};
    /* Off (the default): the 3xx is the answer. */
    struct http_client *c = client(&(struct http_client_opts){.bearer_token = "tok"});
    struct http_request rq = {.url = url_of("/redirect")};
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_int_equal(rs.status, 302);
    assert_string_equal(srv.last.path, "/redirect");
    http_client_free(c);

    c = client(&(struct http_client_opts){.bearer_token = "tok", .max_redirects = 3});
    /* On: followed, with the credentials, on the same host. */
    assert_int_equal(http_client_do(c, &rq, &rs, NULL), 0);
    assert_int_equal(rs.status, 200);
    assert_int_equal(rs.redirects, 1);
    assert_string_equal(srv.last.path, "/echo");
    assert_string_equal(srv.last.auth, "Bearer tok");
    /* Another host name: followed, but the token stays home. */
    rq.url = url_of("/other");
    assert_int_equal(http_client_do(c, &rq, &rs, &e), 0);
    assert_int_equal(rs.status, 200);
    assert_string_equal(srv.last.path, "/echo");
    assert_string_equal(srv.last.auth, "");
    /* A loop: stopped after max_redirects. */
    rq.url = url_of("/loop");
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -EIO);
    if (!strstr(e.msg, "redirect"))
        fail_msg("error text: %s", e.msg);
    http_client_free(c);
}

static bool abort_now(void *ctx)
{
    return atomic_load((atomic_bool *)ctx);
}

static void test_timeout_and_abort(void **state)
{
    struct http_client *c = client(&(struct http_client_opts){.timeout_ms = 10000});
    struct http_request rq = {.url = url_of("/slow"), .timeout_ms = 200};
    struct http_response rs;
    struct err e = {0};
    int64_t t0 = time_mono_ns();
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -ETIMEDOUT);
    /* Generous: the server would answer after 10 s. */
    assert_true(time_mono_ns() - t0 < 8 * 1000000000LL);
    if (!strstr(e.msg, "GET ") || !strstr(e.msg, url_of("/slow")) || !strstr(e.msg, "imed out"))
        fail_msg("error text: %s", e.msg);
    atomic_bool stop = true;
    rq = (struct http_request){.url = url_of("/slow"), .abort = abort_now, .abort_ctx = &stop};
    t0 = time_mono_ns();
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -ECANCELED);
    assert_true(time_mono_ns() - t0 < 8 * 1000000000LL);
    http_client_free(c);
}

static void test_error_texts(void **state)
{
    /* A port nobody listens on: bind one, then stop it. */
    struct server dead;
    server_start(&dead);
    uint16_t port = dead.port;
    server_stop(&dead);
    struct http_client *c = client(&(struct http_client_opts){.timeout_ms = 5000});
    char url[128];
    snprintf(url, sizeof url, "http://user:pw-secret@127.0.0.1:%u/api/v1/write?k=v", port);
    struct http_request rq = {.url = url, .body = "x", .body_len = 1};
    struct http_response rs;
    struct err e = {0};
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -ECONNREFUSED);
    char want[96];
    snprintf(want, sizeof want, "POST http://127.0.0.1:%u/api/v1/write: ", port);
    if (strncmp(e.msg, want, strlen(want)) != 0 || strstr(e.msg, "secret") ||
        strstr(e.msg, "k=v") || !strstr(e.msg, "onnect"))
        fail_msg("error text: %s", e.msg);
    assert_int_equal(rs.status, 0);

    /* Table of requests refused before or by libcurl. */
    static const char *const bad_hdr[] = {"X-Evil: a\r\nInjected: b", NULL};
    const struct {
        const char *name;
        struct http_request rq;
        int want;
        const char *text;
    } cases[] = {
        {"no URL", {.url = NULL}, TIDE_EINVAL, "no URL"},
        {"file scheme", {.url = "file:///etc/passwd"}, -EIO, "file"},
        {"header injection", {.url = url_of("/echo"), .headers = bad_hdr}, TIDE_EINVAL, "header"},
        {"bad method", {.url = url_of("/echo"), .method = "GET /x"}, TIDE_EINVAL, "method"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e = (struct err){0};
        int rc = http_client_do(c, &cases[i].rq, &rs, &e);
        if (rc != cases[i].want || !strstr(e.msg, cases[i].text))
            fail_msg("%s: rc %d, text %s", cases[i].name, rc, e.msg);
    }
    http_client_free(c);

    /* TLS: a missing CA file, and TLS spoken to a plain port. The plain
     * side is a bare socket, not the MHD server: Debian's libmicrohttpd
     * 0.9.x crashes now and then in a per-connection thread that answered
     * a TLS hello with 400 while the daemon stops. */
    c = client(&(struct http_client_opts){.ca_file = "/nonexistent/ca.pem", .timeout_ms = 5000});
    struct plain plain;
    plain_start(&plain);
    char https[128];
    snprintf(https, sizeof https, "https://127.0.0.1:%u/", plain.port);
    rq = (struct http_request){.url = https};
    e = (struct err){0};
    assert_int_equal(http_client_do(c, &rq, &rs, &e), -EIO);
    if (!strstr(e.msg, "GET https://127.0.0.1"))
        fail_msg("error text: %s", e.msg);
    http_client_free(c);
    plain_stop(&plain);
}

static void test_escape(void **state)
{
    struct buf b;
    buf_init(&b, 0);
    assert_int_equal(http_escape(&b, "a b{x=\"1\"}"), 0);
    assert_string_equal(b.p, "a%20b%7Bx%3D%221%22%7D");
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_what_goes_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_basic_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_and_error_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_texts, setup, teardown),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
