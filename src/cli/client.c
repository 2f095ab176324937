/* client.c: the HTTP side of `tide import` / `tide export` (libcurl easy
 * interface, one handle per command so requests reuse one keep-alive
 * connection).
 *
 * Requests carry the configured credentials (bearer token or basic auth,
 * matching the server's auth_* keys). Response bodies of errors are capped
 * in a struct buf; an export body streams through a sink and is never held
 * whole in memory. Transport failures come back as -EIO with curl's text.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

struct client {
    CURL *h;
    char *server;
    struct curl_slist *auth_hdr; /* Authorization: Bearer ..., or NULL */
    char *basic;
    long timeout_s;
    char errbuf[CURL_ERROR_SIZE];
};

int client_open(struct client **out, const struct client_opts *o)
{
    *out = NULL;
    static bool inited;
    if (!inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return -ENOMEM;
        inited = true;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    size_t n = strlen(o->server);
    while (n > 0 && o->server[n - 1] == '/')
        n--;
    c->server = strndup(o->server, n);
    c->h = curl_easy_init();
    if (c->server == NULL || c->h == NULL)
        goto fail;
    if (o->bearer != NULL && o->bearer[0] != 0) {
        size_t hn = strlen(o->bearer) + 32;
        char *h = malloc(hn);
        if (h == NULL)
            goto fail;
        snprintf(h, hn, "Authorization: Bearer %s", o->bearer);
        c->auth_hdr = curl_slist_append(NULL, h);
        free(h);
        if (c->auth_hdr == NULL)
            goto fail;
    }
    if (o->basic != NULL && o->basic[0] != 0) {
        c->basic = strdup(o->basic);
        if (c->basic == NULL)
            goto fail;
    }
    c->timeout_s = o->timeout_s;
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
    if (c->h)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->auth_hdr);
    free(c->basic);
    free(c->server);
    free(c);
}

int client_escape(struct client *c, struct buf *dst, const char *s)
{
    char *e = curl_easy_escape(c->h, s, (int)strlen(s));
    if (e == NULL)
        return -ENOMEM;
    int rc = buf_puts(dst, e);
    curl_free(e);
    return rc;
}

/* Common options of every request. */
static int setup(struct client *c, const char *path_query, struct curl_slist *hdrs)
{
    size_t n = strlen(c->server) + strlen(path_query) + 1;
    char *url = malloc(n);
    if (url == NULL)
        return -ENOMEM;
    snprintf(url, n, "%s%s", c->server, path_query);
    curl_easy_reset(c->h);
    curl_easy_setopt(c->h, CURLOPT_URL, url);
    free(url); /* libcurl copies it */
    curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->h, CURLOPT_USERAGENT, "tide-cli");
    curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (c->timeout_s > 0)
        curl_easy_setopt(c->h, CURLOPT_TIMEOUT, c->timeout_s);
    if (hdrs != NULL)
        curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdrs);
    if (c->basic != NULL) {
        curl_easy_setopt(c->h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c->h, CURLOPT_USERPWD, c->basic);
    }
    c->errbuf[0] = 0;
    return 0;
}

static size_t to_buf(char *p, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    if (b->len < b->max || b->max == 0) {
        size_t room = b->max ? b->max - b->len : n;
        buf_append(b, p, n < room ? n : room); /* the tail of a long body is dropped */
    }
    return n;
}

static int transport_error(struct client *c, CURLcode rc, struct err *e)
{
    return ERR_SET(e, -EIO, "%s: %s", c->server, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
}

int client_post(struct client *c, const char *path_query, const char *content_type,
                const char *body, size_t n, long *status, struct buf *resp, struct err *e)
{
    *status = 0;
    struct curl_slist *hdrs = NULL;
    char ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, ct);
    struct curl_slist *h2 = hdrs ? curl_slist_append(hdrs, "Expect:") : NULL;
    for (struct curl_slist *a = c->auth_hdr; h2 != NULL && a != NULL; a = a->next)
        h2 = curl_slist_append(h2, a->data);
    if (h2 == NULL) {
        curl_slist_free_all(hdrs);
        return ERR_SET(e, -ENOMEM, "out of memory");
    }
    int rc = setup(c, path_query, hdrs);
    if (rc != 0) {
        curl_slist_free_all(hdrs);
        return ERR_SET(e, rc, "out of memory");
    }
    curl_easy_setopt(c->h, CURLOPT_POST, 1L);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, resp);
    CURLcode cc = curl_easy_perform(c->h);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK)
        return transport_error(c, cc, e);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

struct stream_ctx {
    struct client *c;
    client_sink_fn *sink;
    void *ctx;
    struct buf *err_body;
    bool aborted;
};

static size_t to_sink(char *p, size_t size, size_t nmemb, void *ud)
{
    struct stream_ctx *s = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(s->c->h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        return to_buf(p, size, nmemb, s->err_body);
    if (s->sink(s->ctx, p, n) != 0) {
        s->aborted = true;
        return 0;
    }
    return n;
}

int client_get_stream(struct client *c, const char *path_query, client_sink_fn *sink, void *ctx,
                      long *status, struct buf *err_body, struct err *e)
{
    *status = 0;
    int rc = setup(c, path_query, c->auth_hdr);
    if (rc != 0)
        return ERR_SET(e, rc, "out of memory");
    struct stream_ctx s = {.c = c, .sink = sink, .ctx = ctx, .err_body = err_body};
    curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, to_sink);
    curl_easy_setopt(c->h, CURLOPT_WRITEDATA, &s);
    CURLcode cc = curl_easy_perform(c->h);
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, status);
    if (s.aborted)
        return ERR_SET(e, -ECANCELED, "output aborted");
    if (cc != CURLE_OK)
        return transport_error(c, cc, e);
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
