/* test_sender.c: remote-write delivery (remote/sender.c) against a tiny
 * libmicrohttpd receiver on 127.0.0.1 that answers a scripted sequence of
 * status codes: 5xx and 429 are retried with backoff and the record is
 * delivered once, in order; a 400 drops the record and says why; a dead
 * receiver leaves the record queued; the remote-write headers are sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/time.h"
#include "remote/queue.h"
#include "remote/sender.h"

#define MAX_REQ 64

/* The receiver: answers script[i] to the i-th request (then 204) and
 * records what came in. */
struct receiver {
    struct MHD_Daemon *d;
    uint16_t port;
    pthread_mutex_t mu;
    int script[MAX_REQ];
    size_t nscript;
    size_t nreq;
    char bodies[MAX_REQ][64]; /* each request's body (short records) */
    int answered[MAX_REQ];
    char encoding[64], ctype[64], version[64], auth[128];
};

struct upload {
    char body[64];
    size_t n;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    struct receiver *r = cls;
    struct upload *u = *con_cls;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size > 0) {
        size_t k = *data_size;
        if (u->n + k > sizeof u->body - 1)
            k = sizeof u->body - 1 - u->n;
        memcpy(u->body + u->n, data, k);
        u->n += k;
        *data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&r->mu);
    size_t i = r->nreq++;
    int status = i < r->nscript ? r->script[i] : 204;
    if (i < MAX_REQ) {
        snprintf(r->bodies[i], sizeof r->bodies[i], "%s", u->body);
        r->answered[i] = status;
    }
    const char *v;
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    snprintf(r->encoding, sizeof r->encoding, "%s", v ? v : "");
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    snprintf(r->ctype, sizeof r->ctype, "%s", v ? v : "");
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Prometheus-Remote-Write-Version");
    snprintf(r->version, sizeof r->version, "%s", v ? v : "");
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    snprintf(r->auth, sizeof r->auth, "%s", v ? v : "");
    pthread_mutex_unlock(&r->mu);
    const char *msg = status == 400 ? "out of order sample" : "";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    free(*con_cls);
    *con_cls = NULL;
}

static void receiver_start(struct receiver *r, const int *script, size_t n)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    if (n > 0)
        memcpy(r->script, script, n * sizeof *script);
    r->nscript = n;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    r->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handle, r, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, r, MHD_OPTION_END);
    assert_non_null(r->d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    assert_non_null(info);
    r->port = info->port;
}

static void receiver_stop(struct receiver *r)
{
    MHD_stop_daemon(r->d);
    pthread_mutex_destroy(&r->mu);
}

static char dir[512];

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/test_sender.XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    fs_rm_rf(dir);
    return 0;
}

struct logbook {
    pthread_mutex_t mu;
    char text[4096];
};

static void on_log(void *ctx, int level, const char *msg)
{
    struct logbook *l = ctx;
    pthread_mutex_lock(&l->mu);
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s\n", msg);
    pthread_mutex_unlock(&l->mu);
}

static struct queue *queue_with(const char *const *recs, size_t n)
{
    struct queue_opts o = {.dir = dir, .fsync = QUEUE_FSYNC_NEVER};
    struct queue *q = NULL;
    assert_int_equal(queue_open(&q, &o, NULL), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(queue_push(q, recs[i], strlen(recs[i]), NULL), 0);
    return q;
}

/* Wait until the sender has a verdict on `want` records (or 10 s). */
static void wait_done(struct sender *s, uint64_t want)
{
    int64_t until = time_mono_ns() + 10 * 1000000000LL;
    for (;;) {
        struct sender_stats st;
        sender_stats(s, &st);
        if (st.sent_records + st.dropped_records >= want || time_mono_ns() > until)
            return;
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static void test_retry_then_deliver(void **state)
{
    /* Table: what the receiver answers; every record must arrive once, in
     * order, after as many failed attempts as the script has failures. */
    static const struct {
        const char *name;
        int script[8];
        size_t n;
        uint64_t failures;
    } cases[] = {
        {"all fine", {0}, 0, 0},
        {"500s then 204", {500, 500, 500, 204}, 4, 3},
        {"503 and 429 mixed", {204, 503, 429, 200, 502, 204}, 6, 3},
    };
    static const char *const recs[] = {"rec-A", "rec-B", "rec-C"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fs_rm_rf(dir);
        struct receiver r;
        receiver_start(&r, cases[c].script, cases[c].n);
        struct queue *q = queue_with(recs, 3);
        char url[128];
        snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
        struct sender_opts o = {
            .url = url, .backoff_min_ms = 1, .backoff_max_ms = 20, .bearer_token = "s3cret"};
        struct sender *s = NULL;
        assert_int_equal(sender_new(&o, q, &s, NULL), 0);
        assert_int_equal(sender_start(s, NULL), 0);
        wait_done(s, 3);
        sender_stop(s, 0);
        struct sender_stats st;
        sender_stats(s, &st);
        if (st.sent_records != 3 || st.failed_attempts != cases[c].failures)
            fail_msg("%s: sent %llu, failed attempts %llu", cases[c].name,
                     (unsigned long long)st.sent_records, (unsigned long long)st.failed_attempts);
        /* Requests went out as A… until A succeeded, then B…, then C: never
         * out of order, and each 2xx exactly once per record. */
        size_t next = 0, ok = 0;
        for (size_t i = 0; i < r.nreq; i++) {
            if (strcmp(r.bodies[i], recs[next]) != 0)
                fail_msg("%s: request %zu carried %s, want %s", cases[c].name, i, r.bodies[i],
                         recs[next]);
            if (r.answered[i] >= 200 && r.answered[i] < 300) {
                next++;
                ok++;
            }
        }
        assert_int_equal(ok, 3);
        assert_int_equal(r.nreq, 3 + cases[c].failures);
        assert_string_equal(r.encoding, "snappy");
        assert_string_equal(r.ctype, "application/x-protobuf");
        assert_string_equal(r.version, "0.1.0");
        assert_string_equal(r.auth, "Bearer s3cret");
        struct queue_stats qs;
        queue_stats(q, &qs);
        assert_int_equal(qs.records, 0);
        sender_free(s);
        assert_int_equal(queue_close(q), 0);
        receiver_stop(&r);
    }
}

static void test_400_drops(void **state)
{
    static const int script[] = {400, 204};
    static const char *const recs[] = {"bad-one", "good-one"};
    struct receiver r;
    receiver_start(&r, script, 2);
    struct queue *q = queue_with(recs, 2);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", r.port);
    struct logbook lb = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct sender_opts o = {
        .url = url, .backoff_min_ms = 1, .backoff_max_ms = 5, .log = on_log, .log_ctx = &lb};
    struct sender *s = NULL;
    assert_int_equal(sender_new(&o, q, &s, NULL), 0);
    assert_int_equal(sender_start(s, NULL), 0);
    wait_done(s, 2);
    sender_stop(s, 0);
    struct sender_stats st;
    sender_stats(s, &st);
    assert_int_equal(st.dropped_records, 1);
    assert_int_equal(st.sent_records, 1);
    assert_int_equal(st.failed_attempts, 0);
    assert_int_equal(r.nreq, 2);
    assert_string_equal(r.bodies[0], "bad-one");
    assert_string_equal(r.bodies[1], "good-one");
    pthread_mutex_lock(&lb.mu);
    if (!strstr(lb.text, "HTTP 400") || !strstr(lb.text, "out of order sample"))
        fail_msg("the log does not give the reason: %s", lb.text);
    pthread_mutex_unlock(&lb.mu);
    struct queue_stats qs;
    queue_stats(q, &qs);
    assert_int_equal(qs.records, 0);
    sender_free(s);
    assert_int_equal(queue_close(q), 0);
    receiver_stop(&r);
}

static void test_dead_receiver_keeps_record(void **state)
{
    /* Bind a receiver to learn a free port, then stop it: nobody listens. */
    struct receiver r;
    receiver_start(&r, NULL, 0);
    uint16_t port = r.port;
    receiver_stop(&r);
    static const char *const recs[] = {"kept"};
    struct queue *q = queue_with(recs, 1);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/write", port);
    struct sender_opts o = {.url = url, .backoff_min_ms = 1, .backoff_max_ms = 5};
    struct sender *s = NULL;
    assert_int_equal(sender_new(&o, q, &s, NULL), 0);
    assert_int_equal(sender_start(s, NULL), 0);
    int64_t until = time_mono_ns() + 10 * 1000000000LL;
    struct sender_stats st;
    do {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        sender_stats(s, &st);
    } while (st.failed_attempts < 3 && time_mono_ns() < until);
    assert_true(st.failed_attempts >= 3);
    assert_int_equal(st.last_status, 0);
    int64_t t0 = time_mono_ns();
    sender_stop(s, 500); /* a failing receiver does not hold up the stop */
    assert_true(time_mono_ns() - t0 < 2000000000LL);
    struct queue_stats qs;
    queue_stats(q, &qs);
    assert_int_equal(qs.records, 1);
    sender_free(s);
    assert_int_equal(queue_close(q), 0);
}

static void test_bad_opts(void **state)
{
    struct sender *s = (struct sender *)1;
    struct sender_opts o = {0};
    assert_int_equal(sender_new(&o, NULL, &s, NULL), TIDE_EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retry_then_deliver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_400_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dead_receiver_keeps_record, setup, teardown),
        cmocka_unit_test(test_bad_opts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
