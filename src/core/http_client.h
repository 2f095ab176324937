/* http_client.h: Tide's one way to make an HTTP request (libcurl easy
 * handle underneath): remote-write sending, the CLI's import/export/query,
 * and next scraping, webhooks and the agent's config poll.
 *
 * A client holds what stays the same between requests (user agent, auth,
 * TLS, timeouts, redirect policy) and one easy handle, so consecutive
 * requests to one host reuse a keep-alive connection. A request says what
 * changes (method, URL, headers, body, where the response body goes). The
 * answer is a status and a few headers; any 1xx-5xx status is a success of
 * the transport (return 0): the caller decides what a 404 means.
 *
 * Errors (return value; `e->msg` reads "METHOD URL: reason", with the URL's
 * user:password and query string left out, the reason from curl's error
 * buffer):
 *   -ETIMEDOUT     the request's timeout passed (connect or whole request)
 *   -ECONNREFUSED  nobody listens at the host and port
 *   -ECANCELED     the abort callback or the body sink asked to stop
 *   TIDE_ELIMIT    the response body went past resp_body->max (and
 *                  resp_truncate was false)
 *   TIDE_EINVAL    a bad request (no URL, a header with a newline)
 *   -ENOMEM        out of memory
 *   -EIO           any other transport failure: DNS, TLS, protocol, too
 *                  many redirects, an unsupported URL scheme
 *
 * libcurl's global init: http_global_init() runs curl_global_init() once
 * per process. main.c should call it at start, before any thread exists;
 * http_client_new() calls it too (through pthread_once), which is safe
 * with this libcurl (7.84+, thread-safe init) and keeps tests and tools
 * simple. Nobody calls curl_global_cleanup(): the process exit does.
 *
 * Thread: a client is used by one thread at a time (like a CURL easy
 * handle); different clients may run on different threads at once.
 */
#ifndef TIDE_CORE_HTTP_CLIENT_H
#define TIDE_CORE_HTTP_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define HTTP_CONNECT_TIMEOUT_MS 10000 /* default connect timeout, capped by timeout_ms */
#define HTTP_CONTENT_TYPE_MAX 128     /* bytes kept of a response's Content-Type */

/* Settings shared by every request of a client. Strings are copied by
 * http_client_new(); the caller may free them after it returns. */
struct http_client_opts {
    const char *user_agent;     /* NULL = "tide/<version>" */
    const char *bearer_token;   /* "Authorization: Bearer …"; NULL or "" = none */
    const char *basic_user;     /* basic auth when non-NULL (takes precedence over no auth,
                                 * and is sent along with a bearer token if both are set) */
    const char *basic_password; /* NULL = "" */
    const char *ca_file;        /* PEM CA bundle to verify servers; NULL = system store */
    const char *cert_file;      /* client certificate, PEM; NULL = none (not yet tested) */
    const char *key_file;       /* its private key, PEM; NULL = in cert_file */
    bool insecure_skip_verify;  /* TLS: accept any server certificate and host name */
    const char *server_name;    /* TLS: https requests send this SNI name and verify the
                                 * certificate against it (the connection still goes to
                                 * the URL's host, whose name stays in the Host header);
                                 * NULL = the URL's host */
    int tls_min_version;        /* 10..13 = TLS 1.0..1.3 (core/tls_config.h); 0 = libcurl's */
    int tls_max_version;        /* the same for the highest version; 0 = libcurl's */
    bool accept_compressed;     /* send Accept-Encoding (gzip, deflate…) and decode */
    int64_t timeout_ms;         /* whole request, connect to last byte; 0 = no limit */
    int64_t connect_timeout_ms; /* 0 = HTTP_CONNECT_TIMEOUT_MS; never above timeout_ms */
    int max_redirects;          /* 0 = do not follow: a 3xx comes back as the status;
                                 * N > 0 = follow up to N (http/https only; credentials
                                 * are not sent to another host) */
};

/* Receives a 2xx response body as it arrives. Return 0 to go on, non-zero
 * to abort the transfer (the request then returns -ECANCELED). `p` is valid
 * during the call only. Runs on the thread that runs the request. */
typedef int http_sink_fn(void *ctx, const char *p, size_t n);

/* Polled by libcurl during a transfer (at least once a second, also while
 * connecting or waiting): non-zero aborts it with -ECANCELED. */
typedef bool http_abort_fn(void *ctx);

/* One request. Everything is borrowed: it must stay valid and unchanged
 * until the request's call returns (for http_client_prepare(), until
 * http_client_finish()). */
struct http_request {
    const char *method;          /* "GET", "POST", "PUT", "DELETE", "HEAD"…; NULL = GET,
                                  * or POST when body_len > 0 */
    const char *url;             /* absolute http:// or https:// URL */
    const char *const *headers;  /* extra "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;            /* request body (not copied); may be NULL when body_len == 0 */
    size_t body_len;
    const char *content_type;     /* "Content-Type" of the body; NULL = none */
    const char *content_encoding; /* "Content-Encoding" of the body ("snappy", "gzip");
                                   * the body is sent as given, not encoded here */
    int64_t timeout_ms;          /* this request only; 0 = the client's */
    struct buf *resp_body;       /* the caller's buffer for the response body, appended to,
                                  * capped by its max; NULL = discard the body */
    bool resp_truncate;          /* past resp_body->max: keep the first max bytes and go on
                                  * (true), or fail with TIDE_ELIMIT (false) */
    http_sink_fn *sink;          /* when set, a 2xx body goes here instead of resp_body
                                  * (non-2xx bodies still go to resp_body) */
    void *sink_ctx;
    http_abort_fn *abort;        /* may be NULL */
    void *abort_ctx;
};

/* The answer. Filled by the request's call; valid until the next one. */
struct http_response {
    int status;                               /* HTTP status of the last response; 0 = none */
    char content_type[HTTP_CONTENT_TYPE_MAX]; /* its Content-Type, "" when absent */
    int64_t retry_after_s; /* Retry-After in seconds (a date is turned into a delay);
                            * 0 when absent or unparsable */
    bool body_truncated;   /* resp_truncate dropped the end of the body */
    int redirects;         /* redirects followed */
};

struct http_client;

/* Run curl_global_init() once per process. 0, or -EIO with a message. */
int http_global_init(struct err *e);

/* A new client. On failure *out is NULL: -ENOMEM, or -EIO when libcurl
 * cannot start. Free with http_client_free(). */
int http_client_new(const struct http_client_opts *o, struct http_client **out, struct err *e);

/* Close the client's connections and free it. NULL is a no-op. */
void http_client_free(struct http_client *c);

/* Send `rq` and wait for the whole answer. 0 when an HTTP response came
 * (any status; see *rs), else one of the errors at the top of this file.
 * *rs is filled in both cases; after an error, a non-zero status is that
 * of an answer cut short (check the return first). */
int http_client_do(struct http_client *c, const struct http_request *rq, struct http_response *rs,
                   struct err *e);

/* For a curl-multi user, the two halves of http_client_do(): prepare sets
 * up the client's easy handle for `rq` and hands it out in *out (add it to
 * a multi handle; do not change its options). When the multi handle
 * reports it done, remove it, and call finish with its CURLcode: same
 * returns as http_client_do(). One request per client at a time; the
 * handle stays the client's (never curl_easy_cleanup() it). */
int http_client_prepare(struct http_client *c, const struct http_request *rq,
                        struct http_response *rs, CURL **out, struct err *e);
int http_client_finish(struct http_client *c, CURLcode result, struct err *e);

/* The URL-encoded form of s, appended to dst ("a b" -> "a%20b"). 0,
 * -ENOMEM or TIDE_ELIMIT (dst's cap). */
int http_escape(struct buf *dst, const char *s);

#endif
