/* client.c: the HTTP side of `tide import` / `tide export` (libcurl easy
 * interface, one handle per command so requests reuse one keep-alive
 * connection).
 *
 * Requests go through core/http_client.h and carry the configured
 * credentials (bearer token or basic auth, matching the server's auth_*
 * keys). Response bodies of errors are capped in a struct buf; an export
 * body streams through a sink and is never held whole in memory. Transport
 * failures come back as -EIO with http_client's text (method, URL, reason).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/http_client.h"

struct client {
    struct http_client *http;
    char *server; /* without trailing slashes */
};

int client_open(struct client **out, const struct client_opts *o)
{
    *out = NULL;
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    size_t n = strlen(o->server);
    while (n > 0 && o->server[n - 1] == '/')
        n--;
    c->server = strndup(o->server, n);
    if (c->server == NULL)
        goto fail;
    /* "user:password": the user ends at the first colon, as curl reads it. */
    char *user = NULL;
    const char *password = NULL;
    if (o->basic != NULL && o->basic[0] != 0) {
        const char *colon = strchr(o->basic, ':');
        user = colon ? strndup(o->basic, (size_t)(colon - o->basic)) : strdup(o->basic);
        password = colon ? colon + 1 : "";
        if (user == NULL)
            goto fail;
    }
    struct http_client_opts ho = {
        .user_agent = "tide-cli",
        .bearer_token = o->bearer,
        .basic_user = user,
        .basic_password = password,
        .timeout_ms = o->timeout_s > 0 ? o->timeout_s * 1000 : 0,
    };
    int rc = http_client_new(&ho, &c->http, NULL);
    free(user);
    if (rc != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    client_close(c);
    return -ENOMEM;
}

void client_close(struct client *c)
{
    if (c == NULL)
        return;
    http_client_free(c->http);
    free(c->server);
    free(c);
}

int client_escape(struct client *c, struct buf *dst, const char *s)
{
    return http_escape(dst, s);
}

/* server + path_query, in a new string (free()), or NULL. */
static char *url_of(struct client *c, const char *path_query)
{
    char *url = NULL;
    if (asprintf(&url, "%s%s", c->server, path_query) < 0)
        return NULL;
    return url;
}

/* The client's contract (cli.h): a transport failure is -EIO, a sink
 * abort -ECANCELED; the text is http_client's ("METHOD URL: reason"). */
static int transport_rc(int rc)
{
    return rc == -ECANCELED || rc == -ENOMEM ? rc : -EIO;
}

int client_post(struct client *c, const char *path_query, const char *content_type,
                const char *body, size_t n, long *status, struct buf *resp, struct err *e)
{
    *status = 0;
    char *url = url_of(c, path_query);
    if (url == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    struct http_request rq = {
        .method = "POST",
        .url = url,
        .body = body,
        .body_len = n,
        .content_type = content_type,
        .resp_body = resp,
        .resp_truncate = true, /* the tail of a long error body is dropped */
    };
    struct http_response rs;
    int rc = http_client_do(c->http, &rq, &rs, e);
    free(url);
    if (rc != 0)
        return transport_rc(rc);
    *status = rs.status;
    return 0;
}

#define RETRY_FIRST_MS 500
#define RETRY_MAX_MS 30000

/* May a request that got this answer succeed if sent again later? */
static bool retryable(int rc, long status)
{
    if (rc != 0)
        return rc == -EIO; /* no connection, a timeout, a reset: not -ENOMEM */
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

int client_post_retrying(struct client *c, unsigned retries, const char *path, const char *ctype,
                         const char *label, const char *p, size_t n, long *status,
                         struct buf *resp, struct progress *pr, struct err *e)
{
    int64_t wait_ms = RETRY_FIRST_MS;
    for (unsigned attempt = 0;; attempt++) {
        buf_reset(resp);
        int rc = client_post(c, path, ctype, p, n, status, resp, e);
        if (attempt >= retries || !retryable(rc, *status))
            return rc;
        struct buf why;
        buf_init(&why, 4096);
        if (rc != 0)
            buf_puts(&why, e->msg);
        else
            client_error_message(resp->p, resp->len, &why);
        if (pr != NULL)
            progress_clear(pr);
        if (rc != 0)
            fprintf(stderr, "tide: %s: %s; retry %u of %u in %.1f s\n", label,
                    why.p ? why.p : "", attempt + 1, retries, (double)wait_ms / 1000);
        else
            fprintf(stderr, "tide: %s: HTTP %ld: %s; retry %u of %u in %.1f s\n", label,
                    *status, why.p ? why.p : "", attempt + 1, retries, (double)wait_ms / 1000);
        buf_fini(&why);
        struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        wait_ms = wait_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait_ms * 2;
    }
}

int client_get_stream(struct client *c, const char *path_query, client_sink_fn *sink, void *ctx,
                      long *status, struct buf *err_body, struct err *e)
{
    *status = 0;
    char *url = url_of(c, path_query);
    if (url == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    struct http_request rq = {
        .url = url,
        .resp_body = err_body,
        .resp_truncate = true,
        .sink = sink,
        .sink_ctx = ctx,
    };
    struct http_response rs;
    int rc = http_client_do(c->http, &rq, &rs, e);
    free(url);
    *status = rs.status;
    if (rc == -ECANCELED)
        return ERR_SET(e, -ECANCELED, "output aborted");
    if (rc != 0)
        return transport_rc(rc);
    return 0;
}

/* The JSON string starting after the opening quote at p, unescaped into dst.
 * \uXXXX below 0x80 is decoded; others are kept as written. */
static void json_string(const char *p, const char *end, struct buf *dst)
{
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) {
            p++;
            char c = *p;
            if (c == 'n')
                buf_putc(dst, '\n');
            else if (c == 't')
                buf_putc(dst, '\t');
            else if (c == 'u' && end - p >= 5 && strncmp(p + 1, "00", 2) == 0) {
                char hex[3] = {p[3], p[4], 0};
                buf_putc(dst, (char)strtol(hex, NULL, 16));
                p += 4;
            } else
                buf_putc(dst, c);
            p++;
            continue;
        }
        buf_putc(dst, *p++);
    }
}

void client_error_message(const char *body, size_t n, struct buf *dst)
{
    static const char *const keys[] = {"\"error\"", "\"message\""};
    const char *end = body + n;
    for (size_t k = 0; k < 2 && body != NULL; k++) {
        /* The key, not a value that spells it: Prometheus' errors read
         * {"status":"error","errorType":...,"error":"..."}. */
        const char *from = body;
        const char *at;
        while ((at = memmem(from, (size_t)(end - from), keys[k], strlen(keys[k]))) != NULL) {
            const char *p = at + strlen(keys[k]);
            from = p;
            while (p < end && *p == ' ')
                p++;
            if (p >= end || *p != ':')
                continue;
            p++;
            while (p < end && *p == ' ')
                p++;
            if (p < end && *p == '"') {
                json_string(p + 1, end, dst);
                return;
            }
        }
    }
    while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r' || body[n - 1] == ' '))
        n--;
    if (n > 0)
        buf_append(dst, body, n);
    else
        buf_puts(dst, "(empty body)");
}
