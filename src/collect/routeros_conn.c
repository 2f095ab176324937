/* routeros_conn.c: one RouterOS API connection (routeros.h) as a
 * non-blocking state machine that whoever owns it drives with poll():
 *
 *   IDLE ─open─▶ CONNECTING ─▶ [TLS handshake] ─▶ LOGIN ─▶ READY
 *     ▲                                                      │
 *     └──────────── close / any failure (enum ros_fail) ◀────┘
 *
 * Login sends `/login =name=U =password=P` (RouterOS >= 6.43 and v7 answer
 * !done); a router before 6.43 ignores the password and answers
 * `!done =ret=<challenge>`, and the legacy exchange follows:
 * `/login =name=U =response=00<md5(0x00 password challenge)>`. A !trap is
 * a refused login. EOF before any answer is "closed before login" (an API
 * service restricted to other addresses does that).
 *
 * API-SSL goes through OpenSSL with certificate and host (or IP) checks
 * unless tls_insecure; insecure also admits the anonymous-DH ciphers of
 * routers that have no certificate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "collect/routeros.h"

struct ros_conn {
    const struct ros_conn_cfg *cfg; /* borrowed */
    ros_conn_sentence_fn *fn;
    void *ctx;
    enum ros_conn_state state;
    enum ros_fail fail;
    int fd;
    SSL_CTX *tls_ctx;
    SSL *ssl;
    bool tls_want_write;
    int64_t deadline_ns; /* connect + login */
    bool got_reply;      /* any sentence since connecting */
    bool md5_sent;
    struct ros_dec dec;
    struct buf out; /* bytes to send */
    size_t out_off;
    /* A failure found inside the decoder callback, acted on after it. */
    int pending_rc;
    struct err pending_e;
    uint64_t drops[8];
};

const char *ros_fail_name(enum ros_fail f)
{
    switch (f) {
    case ROS_OK: return "ok";
    case ROS_F_RESOLVE: return "resolve";
    case ROS_F_REFUSED: return "refused";
    case ROS_F_TIMEOUT: return "timeout";
    case ROS_F_TLS: return "tls";
    case ROS_F_AUTH: return "auth";
    case ROS_F_CLOSED: return "closed";
    case ROS_F_FATAL: return "fatal";
    case ROS_F_PROTOCOL: return "protocol";
    default: return "io";
    }
}

static int fail_set(struct ros_conn *c, enum ros_fail f, int rc, struct err *e, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

static int fail_set(struct ros_conn *c, enum ros_fail f, int rc, struct err *e, const char *fmt,
                    ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->fail = f;
    ERR_SET(e, rc, "%s", msg);
    return rc;
}

static int login_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why);

/* The decoder's callback: login replies here, the rest to the owner. */
static int on_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct ros_conn *c = ctx;
    c->got_reply = true;
    if (s == NULL) {
        if ((size_t)why < sizeof c->drops / sizeof c->drops[0])
            c->drops[why]++;
    }
    if (s != NULL && s->type == ROS_FATAL) {
        char msg[120] = "";
        if (s->nwords > 0)
            snprintf(msg, sizeof msg, "%.*s", (int)(s->words[0].n > 100 ? 100 : s->words[0].n),
                     s->words[0].p);
        c->pending_rc = fail_set(c, ROS_F_FATAL, -ECONNRESET, &c->pending_e,
                                 "the router ended the session (!fatal: %s)", msg);
        return 1;
    }
    if (c->state == ROS_C_LOGIN)
        return login_sentence(ctx, s, why);
    c->fn(c->ctx, s, why);
    return 0;
}

int ros_conn_new(const struct ros_conn_cfg *cfg, ros_conn_sentence_fn *fn, void *ctx,
                 struct ros_conn **out, struct err *e)
{
    struct ros_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_SET(e, -ENOMEM, "routeros: out of memory");
    c->cfg = cfg;
    c->fn = fn;
    c->ctx = ctx;
    c->fd = -1;
    ros_dec_init(&c->dec);
    buf_init(&c->out, 0);
    *out = c;
    return 0;
}

void ros_conn_close(struct ros_conn *c)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->tls_ctx) {
        SSL_CTX_free(c->tls_ctx);
        c->tls_ctx = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = ROS_C_IDLE;
    c->deadline_ns = 0;
    c->got_reply = c->md5_sent = false;
    c->tls_want_write = false;
    ros_dec_reset(&c->dec);
    buf_reset(&c->out);
    c->out_off = 0;
}

void ros_conn_free(struct ros_conn *c)
{
    if (c == NULL)
        return;
    ros_conn_close(c);
    ros_dec_fini(&c->dec);
    buf_fini(&c->out);
    free(c);
}

enum ros_conn_state ros_conn_state(const struct ros_conn *c) { return c->state; }
enum ros_fail ros_conn_fail(const struct ros_conn *c) { return c->fail; }
int ros_conn_fd(const struct ros_conn *c) { return c->fd; }
const uint64_t *ros_conn_drops(const struct ros_conn *c) { return c->drops; }

int64_t ros_conn_deadline(const struct ros_conn *c)
{
    return c->state == ROS_C_READY || c->state == ROS_C_IDLE ? 0 : c->deadline_ns;
}

short ros_conn_events(const struct ros_conn *c)
{
    switch (c->state) {
    case ROS_C_CONNECTING: return POLLOUT;
    case ROS_C_TLS: return c->tls_want_write ? POLLOUT : POLLIN;
    case ROS_C_LOGIN:
    case ROS_C_READY: return (short)(POLLIN | (c->out.len > c->out_off ? POLLOUT : 0));
    default: return 0;
    }
}

static int queue(struct ros_conn *c, const char *const *words, size_t n)
{
    if (c->out_off > 0 && c->out_off == c->out.len) {
        buf_reset(&c->out);
        c->out_off = 0;
    }
    return ros_put_sentence(&c->out, words, n);
}

int ros_conn_send(struct ros_conn *c, const char *const *words, size_t n)
{
    if (c->state != ROS_C_READY)
        return TIDE_ECLOSED;
    return queue(c, words, n);
}

static int send_login(struct ros_conn *c, struct err *e)
{
    char name[160], pass[ROS_PASSWORD_MAX + 16];
    snprintf(name, sizeof name, "=name=%s", c->cfg->user);
    snprintf(pass, sizeof pass, "=password=%s", c->cfg->password);
    const char *w[] = {"/login", name, pass};
    int rc = queue(c, w, 3);
    memset(pass, 0, sizeof pass);
    if (rc != 0)
        return fail_set(c, ROS_F_IO, rc, e, "out of memory");
    c->state = ROS_C_LOGIN;
    return 0;
}

static int hexval(char h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

/* The legacy answer to challenge `ret` (32 hex digits). */
static int send_md5(struct ros_conn *c, struct strv ret, struct err *e)
{
    unsigned char chal[64], in[1 + ROS_PASSWORD_MAX + 64], md[EVP_MAX_MD_SIZE];
    size_t nchal = ret.n / 2;
    if (ret.n % 2 != 0 || nchal == 0 || nchal > sizeof chal)
        return fail_set(c, ROS_F_PROTOCOL, TIDE_EPARSE, e, "login: a malformed challenge");
    for (size_t i = 0; i < nchal; i++) {
        int hi = hexval(ret.p[2 * i]), lo = hexval(ret.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail_set(c, ROS_F_PROTOCOL, TIDE_EPARSE, e, "login: a malformed challenge");
        chal[i] = (unsigned char)(hi << 4 | lo);
    }
    size_t pn = strlen(c->cfg->password);
    in[0] = 0;
    memcpy(in + 1, c->cfg->password, pn);
    memcpy(in + 1 + pn, chal, nchal);
    unsigned int mdn = 0;
    int ok = EVP_Digest(in, 1 + pn + nchal, md, &mdn, EVP_md5(), NULL);
    memset(in, 0, sizeof in);
    if (!ok || mdn != 16)
        return fail_set(c, ROS_F_IO, -EIO, e, "login: MD5 is not available");
    char name[160], resp[64] = "=response=00";
    snprintf(name, sizeof name, "=name=%s", c->cfg->user);
    char *p = resp + strlen(resp);
    for (unsigned i = 0; i < 16; i++)
        p += sprintf(p, "%02x", md[i]);
    const char *w[] = {"/login", name, resp};
    c->md5_sent = true;
    return queue(c, w, 3) == 0 ? 0 : fail_set(c, ROS_F_IO, -ENOMEM, e, "out of memory");
}

static int login_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct ros_conn *c = ctx;
    struct err *e = &c->pending_e;
    if (s == NULL) {
        c->pending_rc = fail_set(c, ROS_F_PROTOCOL, TIDE_EPARSE, e,
                                 "login: a malformed reply (%s)", ros_drop_name(why));
        return 1;
    }
    if (s->type == ROS_TRAP) {
        struct strv m = {0};
        ros_get(s, "message", &m);
        c->pending_rc = fail_set(c, ROS_F_AUTH, -EACCES, e,
                                 "login refused: %.*s (check username and password)",
                                 (int)(m.n > 100 ? 100 : m.n), m.p ? m.p : "");
        return 1;
    }
    if (s->type != ROS_DONE)
        return 0;
    struct strv ret;
    if (ros_get(s, "ret", &ret) && !c->md5_sent) {
        int rc = send_md5(c, ret, e);
        if (rc != 0) {
            c->pending_rc = rc;
            return 1;
        }
        return 0;
    }
    c->state = ROS_C_READY;
    c->deadline_ns = 0;
    return 0;
}

static int tls_begin(struct ros_conn *c, struct err *e)
{
    ERR_clear_error();
    c->tls_ctx = SSL_CTX_new(TLS_client_method());
    if (c->tls_ctx == NULL)
        return fail_set(c, ROS_F_TLS, -ENOMEM, e, "TLS: cannot make a context");
    if (c->cfg->tls_insecure) {
        SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_NONE, NULL);
        /* Routers without a certificate offer only anonymous DH. */
        SSL_CTX_set_cipher_list(c->tls_ctx, "ALL:aNULL:@SECLEVEL=0");
    } else {
        SSL_CTX_set_verify(c->tls_ctx, SSL_VERIFY_PEER, NULL);
        int ok = c->cfg->tls_ca_file[0]
                     ? SSL_CTX_load_verify_locations(c->tls_ctx, c->cfg->tls_ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(c->tls_ctx);
        if (!ok)
            return fail_set(c, ROS_F_TLS, TIDE_EINVAL, e, "TLS: cannot read the CA file %s",
                            c->cfg->tls_ca_file);
    }
    c->ssl = SSL_new(c->tls_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
        return fail_set(c, ROS_F_TLS, -ENOMEM, e, "TLS: cannot make a session");
    SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!c->cfg->tls_insecure) {
        unsigned char addr[16];
        X509_VERIFY_PARAM *p = SSL_get0_param(c->ssl);
        if (inet_pton(AF_INET, c->cfg->host, addr) == 1 ||
            inet_pton(AF_INET6, c->cfg->host, addr) == 1) {
            X509_VERIFY_PARAM_set1_ip_asc(p, c->cfg->host);
        } else {
            SSL_set1_host(c->ssl, c->cfg->host);
            SSL_set_tlsext_host_name(c->ssl, c->cfg->host);
        }
    }
    SSL_set_connect_state(c->ssl);
    c->state = ROS_C_TLS;
    return 0;
}

static int tls_step(struct ros_conn *c, struct err *e)
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return send_login(c, e);
    int se = SSL_get_error(c->ssl, r);
    if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE) {
        c->tls_want_write = se == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    long vr = SSL_get_verify_result(c->ssl);
    if (vr != X509_V_OK)
        return fail_set(c, ROS_F_TLS, -EPROTO, e,
                        "TLS: certificate verification failed: %s (set tls_ca_file, or "
                        "tls_insecure: true for a self-signed router)",
                        X509_verify_cert_error_string(vr));
    unsigned long le = ERR_get_error();
    char why[160] = "the peer closed the connection";
    if (le != 0)
        ERR_error_string_n(le, why, sizeof why);
    return fail_set(c, ROS_F_TLS, -EPROTO, e, "TLS handshake failed: %s (is it API-SSL, 8729?)",
                    why);
}

static int connected(struct ros_conn *c, struct err *e)
{
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->cfg->tls) {
        int rc = tls_begin(c, e);
        return rc != 0 ? rc : tls_step(c, e);
    }
    return send_login(c, e);
}

int ros_conn_open(struct ros_conn *c, int64_t now_ns, struct err *e)
{
    ros_conn_close(c);
    c->fail = ROS_OK;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai = NULL;
    char port[16];
    snprintf(port, sizeof port, "%u", c->cfg->port);
    int g = getaddrinfo(c->cfg->host, port, &hints, &ai);
    if (g != 0) {
        hints.ai_flags = 0;
        g = getaddrinfo(c->cfg->host, port, &hints, &ai);
    }
    if (g != 0)
        return fail_set(c, ROS_F_RESOLVE, TIDE_ENOTFOUND, e, "cannot resolve %s: %s",
                        c->cfg->host, gai_strerror(g));
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        int err = errno;
        freeaddrinfo(ai);
        return fail_set(c, ROS_F_IO, -err, e, "socket: %s", strerror(err));
    }
    int r = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
    int err = errno;
    freeaddrinfo(ai);
    c->deadline_ns = now_ns + c->cfg->timeout_ms * 1000000;
    if (r == 0) {
        int rc = connected(c, e);
        if (rc != 0)
            ros_conn_close(c);
        return rc;
    }
    if (err != EINPROGRESS) {
        ros_conn_close(c);
        if (err == ECONNREFUSED)
            return fail_set(c, ROS_F_REFUSED, -err, e,
                            "connection refused by %s:%u (API service disabled, or another port?)",
                            c->cfg->host, c->cfg->port);
        return fail_set(c, ROS_F_IO, -err, e, "connect to %s:%u: %s", c->cfg->host,
                        c->cfg->port, strerror(err));
    }
    c->state = ROS_C_CONNECTING;
    return 0;
}

/* Read what is there and feed the decoder. */
static int do_read(struct ros_conn *c, struct err *e)
{
    char b[16384];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_read(c->ssl, b, sizeof b);
            if (r <= 0) {
                int se = SSL_get_error(c->ssl, r);
                if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
                    return 0;
                n = se == SSL_ERROR_ZERO_RETURN ? 0 : -1;
                if (n < 0)
                    errno = ECONNRESET;
            } else {
                n = r;
            }
        } else {
            n = read(c->fd, b, sizeof b);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        }
        if (n == 0 || n < 0) {
            int err = n < 0 ? errno : 0;
            if (c->state == ROS_C_LOGIN && !c->got_reply)
                return fail_set(c, ROS_F_CLOSED, -ECONNRESET, e,
                                "the router closed the connection before login (API service "
                                "restricted to other addresses, or not the API port?)");
            if (n == 0)
                return fail_set(c, ROS_F_IO, -ECONNRESET, e, "connection closed by the router");
            return fail_set(c, ROS_F_IO, -err, e, "read: %s", strerror(err));
        }
        c->pending_rc = 0;
        int rc = ros_dec_feed(&c->dec, b, (size_t)n, on_sentence, c, e);
        if (c->pending_rc != 0) {
            *e = c->pending_e;
            return c->pending_rc;
        }
        if (rc == TIDE_EPARSE)
            return fail_set(c, ROS_F_PROTOCOL, rc, e, "a malformed reply: %s", e->msg);
        if (rc != 0)
            return fail_set(c, ROS_F_IO, rc, e, "out of memory");
        if (c->state == ROS_C_IDLE)
            return 0;
    }
    return 0;
}

static int do_write(struct ros_conn *c, struct err *e)
{
    while (c->out_off < c->out.len) {
        size_t left = c->out.len - c->out_off;
        ssize_t n;
        if (c->ssl) {
            ERR_clear_error();
            int r = SSL_write(c->ssl, c->out.p + c->out_off, (int)(left > 65536 ? 65536 : left));
            if (r <= 0) {
                int se = SSL_get_error(c->ssl, r);
                if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
                    return 0;
                return fail_set(c, ROS_F_IO, -ECONNRESET, e, "TLS write failed");
            }
            n = r;
        } else {
            n = send(c->fd, c->out.p + c->out_off, left, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
            if (n < 0) {
                int err = errno;
                return fail_set(c, ROS_F_IO, -err, e, "write: %s", strerror(err));
            }
        }
        c->out_off += (size_t)n;
    }
    buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

static int io(struct ros_conn *c, short revents, int64_t now_ns, struct err *e)
{
    if (c->state == ROS_C_IDLE)
        return 0;
    if (c->deadline_ns > 0 && now_ns >= c->deadline_ns && c->state != ROS_C_READY) {
        static const char *const step[] = {"", "connecting", "in the TLS handshake",
                                           "logging in", ""};
        return fail_set(c, ROS_F_TIMEOUT, -ETIMEDOUT, e, "timeout after %lldms %s",
                        (long long)c->cfg->timeout_ms, step[c->state]);
    }
    if (revents == 0)
        return 0;
    if (c->state == ROS_C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == ECONNREFUSED)
            return fail_set(c, ROS_F_REFUSED, -err, e,
                            "connection refused by %s:%u (API service disabled, or another port?)",
                            c->cfg->host, c->cfg->port);
        if (err != 0)
            return fail_set(c, err == ETIMEDOUT ? ROS_F_TIMEOUT : ROS_F_IO, -err, e,
                            "connect to %s:%u: %s", c->cfg->host, c->cfg->port, strerror(err));
        if (!(revents & POLLOUT))
            return 0;
        int rc = connected(c, e);
        if (rc != 0)
            return rc;
        return do_write(c, e);
    }
    if (c->state == ROS_C_TLS) {
        int rc = tls_step(c, e);
        if (rc != 0 || c->state != ROS_C_LOGIN)
            return rc;
        return do_write(c, e);
    }
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        int rc = do_read(c, e);
        if (rc != 0)
            return rc;
    }
    return do_write(c, e);
}

int ros_conn_io(struct ros_conn *c, short revents, int64_t now_ns, struct err *e)
{
    int rc = io(c, revents, now_ns, e);
    if (rc != 0)
        ros_conn_close(c);
    return rc;
}
