/* http_client.c: the HTTP request wrapper over one libcurl easy handle
 * (contract in http_client.h).
 *
 * Each request starts from curl_easy_reset(), which forgets every option
 * but keeps the connection cache, so nothing from one request (a method, a
 * body, a header list) leaks into the next while keep-alive still works.
 * The client's settings are applied again on top, then the request's.
 * Invariant: a request's header list lives from prepare to finish and is
 * freed by finish (or by the next prepare, or by http_client_free()).
 */
#include "core/http_client.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_URL_SHOWN 120 /* characters of a URL put in an error message */

/* CURLOPT_SSLVERSION of a TLS version range (10..13 each, 0 = libcurl's
 * default). */
static long tls_sslversion(int min, int max)
{
    static const long mins[] = {CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1,
                                CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3};
    static const long maxs[] = {CURL_SSLVERSION_MAX_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1,
                                CURL_SSLVERSION_MAX_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_3};
    long v = 0;
    if (min >= 10 && min <= 13)
        v |= mins[min - 10];
    if (max >= 10 && max <= 13)
        v |= maxs[max - 10];
    return v;
}

struct http_client {
    /* Set by http_client_new(), then read-only. */
    CURL *h;
    char *user_agent;
    char *auth_header; /* "Authorization: Bearer …", or NULL */
    char *basic_user, *basic_password;
    char *ca_file, *cert_file, *key_file;
    char *server_name; /* NULL = the URL's host */
    long tls_version;  /* 0 = libcurl's default */
    bool insecure, compressed;
    int64_t timeout_ms, connect_timeout_ms;
    int max_redirects;
    /* One request at a time, from prepare to finish. */
    const struct http_request *rq;
    struct http_response *rs;
    const char *method;       /* rq's method, resolved */
    struct curl_slist *hdrs;  /* this request's header lines */
    struct curl_slist *connect_to; /* server_name: "NAME:PORT:HOST:PORT" */
    char *sni_url;            /* server_name: the URL with NAME as its host */
    int body_fail;            /* set by the write callback: TIDE_ELIMIT, -ECANCELED, -ENOMEM */
    char errbuf[CURL_ERROR_SIZE];
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(struct err *e)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return ERR_SET(e, -EIO, "libcurl: %s", curl_easy_strerror(global_rc));
    return 0;
}

static bool has_newline(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") != NULL;
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst == NULL ? -ENOMEM : 0;
}

int http_client_new(const struct http_client_opts *o, struct http_client **out, struct err *e)
{
    *out = NULL;
    int rc = http_global_init(e);
    if (rc != 0)
        return rc;
    if (has_newline(o->bearer_token) || has_newline(o->user_agent))
        return ERR_INVAL(e, "http client: a newline in the bearer token or user agent");
    struct http_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_SET(e, -ENOMEM, "http client: out of memory");
    rc = dup_opt(&c->user_agent, o->user_agent ? o->user_agent : "tide/" TIDE_VERSION);
    if (rc == 0 && o->basic_user != NULL)
        rc = dup_opt(&c->basic_user, o->basic_user);
    if (rc == 0 && o->basic_user != NULL)
        rc = dup_opt(&c->basic_password, o->basic_password ? o->basic_password : "");
    if (rc == 0)
        rc = dup_opt(&c->ca_file, o->ca_file);
    if (rc == 0)
        rc = dup_opt(&c->cert_file, o->cert_file);
    if (rc == 0)
        rc = dup_opt(&c->key_file, o->key_file);
    if (rc == 0 && o->server_name != NULL && o->server_name[0] != 0)
        rc = dup_opt(&c->server_name, o->server_name);
    if (rc == 0 && o->bearer_token != NULL && o->bearer_token[0] != 0) {
        if (asprintf(&c->auth_header, "Authorization: Bearer %s", o->bearer_token) < 0) {
            c->auth_header = NULL;
            rc = -ENOMEM;
        }
    }
    if (rc != 0) {
        http_client_free(c);
        return ERR_SET(e, rc, "http client: out of memory");
    }
    c->insecure = o->insecure_skip_verify;
    c->tls_version = tls_sslversion(o->tls_min_version, o->tls_max_version);
    c->compressed = o->accept_compressed;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
    c->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms
                                                      : HTTP_CONNECT_TIMEOUT_MS;
    c->max_redirects = o->max_redirects > 0 ? o->max_redirects : 0;
    c->h = curl_easy_init();
    if (c->h == NULL) {
        http_client_free(c);
        return ERR_SET(e, -EIO, "http client: curl_easy_init failed");
    }
    *out = c;
    return 0;
}

void http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    if (c->h != NULL)
        curl_easy_cleanup(c->h);
    curl_slist_free_all(c->hdrs);
    free(c->user_agent);
    free(c->auth_header);
    free(c->basic_user);
    free(c->basic_password);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->server_name);
    curl_slist_free_all(c->connect_to);
    curl_free(c->sni_url);
    free(c);
}

/* The response body, from libcurl. Returning less than given fails the
 * transfer with CURLE_WRITE_ERROR; body_fail says why. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct http_client *c = ud;
    const struct http_request *rq = c->rq;
    size_t n = size * nmemb;
    if (rq->sink != NULL) {
        long status = 0;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status <= 299) {
            if (rq->sink(rq->sink_ctx, p, n) != 0) {
                c->body_fail = -ECANCELED;
                return 0;
            }
            return n;
        }
    }
    struct buf *b = rq->resp_body;
    if (b == NULL)
        return n;
    size_t room = b->max > b->len ? b->max - b->len : 0;
    if (n > room && !rq->resp_truncate) {
        c->body_fail = TIDE_ELIMIT;
        return 0;
    }
    size_t take = n < room ? n : room;
    if (take > 0 && buf_append(b, p, take) != 0) {
        c->body_fail = -ENOMEM;
        return 0;
    }
    if (take < n)
        c->rs->body_truncated = true;
    return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct http_request *rq = ((struct http_client *)ud)->rq;
    return rq->abort(rq->abort_ctx) ? 1 : 0; /* non-zero aborts the transfer */
}

/* Append "Name: value" (or the line as given when value is NULL). */
static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    char line[512];
    const char *s = name;
    if (value != NULL) {
        int n = snprintf(line, sizeof line, "%s: %s", name, value);
        if (n < 0 || (size_t)n >= sizeof line)
            return TIDE_EINVAL;
        s = line;
    }
    struct curl_slist *nl = curl_slist_append(*l, s);
    if (nl == NULL)
        return -ENOMEM;
    *l = nl;
    return 0;
}

static bool is_token(const char *s)
{
    if (s == NULL || *s == 0)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '-' || *s == '_'))
            return false;
    return true;
}

/* The request's header list: no "Expect: 100-continue" round trip, then
 * the body's type and encoding, the bearer token, the caller's lines. */
static int build_headers(struct http_client *c, const struct http_request *rq)
{
    if (has_newline(rq->content_type) || has_newline(rq->content_encoding))
        return TIDE_EINVAL;
    int rc = add_header(&c->hdrs, "Expect:", NULL);
    if (rc == 0 && rq->content_type != NULL)
        rc = add_header(&c->hdrs, "Content-Type", rq->content_type);
    if (rc == 0 && rq->content_encoding != NULL)
        rc = add_header(&c->hdrs, "Content-Encoding", rq->content_encoding);
    if (rc == 0 && c->auth_header != NULL)
        rc = add_header(&c->hdrs, c->auth_header, NULL);
    for (size_t i = 0; rc == 0 && rq->headers != NULL && rq->headers[i] != NULL; i++) {
        if (has_newline(rq->headers[i]) || strchr(rq->headers[i], ':') == NULL)
            return TIDE_EINVAL;
        rc = add_header(&c->hdrs, rq->headers[i], NULL);
    }
    return rc;
}

/* The URL as shown in an error: no user:password, no query, no fragment. */
static void url_shown(const char *url, char *out, size_t n)
{
    const char *auth = strstr(url, "://");
    auth = auth ? auth + 3 : url;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', auth_len);
    const char *host = at ? at + 1 : auth;
    int scheme_len = (int)(auth - url);
    int rest_len = (int)strcspn(host, "?#");
    snprintf(out, n, "%.*s%.*s", scheme_len, url, rest_len, host);
}

static int fail_request(struct http_client *c, int code, const char *reason, struct err *e)
{
    char url[HTTP_URL_SHOWN + 1];
    url_shown(c->rq && c->rq->url ? c->rq->url : "", url, sizeof url);
    return ERR_SET(e, code, "%s %s: %s", c->method ? c->method : "GET", url, reason);
}

static void set_method(struct http_client *c, const struct http_request *rq)
{
    CURL *h = c->h;
    bool with_body = rq->body_len > 0 || strcmp(c->method, "POST") == 0 ||
                     strcmp(c->method, "PUT") == 0 || strcmp(c->method, "PATCH") == 0;
    if (strcmp(c->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(c->method, "GET") == 0 && !with_body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (with_body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
    }
    if (strcmp(c->method, "POST") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
}

/* server_name on an https URL: ask for NAME in the URL (so libcurl sends
 * it as SNI and verifies the certificate against it), connect to the URL's
 * own host and port (CURLOPT_CONNECT_TO), and keep its host in the Host
 * header as Go's client does. 0, -ENOMEM or TIDE_EINVAL (a URL libcurl
 * cannot parse). */
static int set_server_name(struct http_client *c, const char *url)
{
    if (c->server_name == NULL || strncasecmp(url, "https://", 8) != 0)
        return 0;
    CURLU *u = curl_url();
    if (u == NULL)
        return -ENOMEM;
    char *host = NULL, *port = NULL, *hostport = NULL, *pin = NULL;
    int rc = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
                     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
                     curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK
                 ? 0
                 : TIDE_EINVAL;
    if (rc == 0 && curl_url_set(u, CURLUPART_HOST, c->server_name, 0) != CURLUE_OK)
        rc = TIDE_EINVAL;
    if (rc == 0 && curl_url_get(u, CURLUPART_URL, &c->sni_url, 0) != CURLUE_OK)
        rc = TIDE_EINVAL;
    if (rc == 0 && (asprintf(&pin, "%s:%s:%s:%s", c->server_name, port, host, port) < 0 ||
                    asprintf(&hostport, "Host: %s:%s", host, port) < 0))
        rc = -ENOMEM;
    if (rc == 0 && (c->connect_to = curl_slist_append(NULL, pin)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && (strcmp(port, "443") == 0 ? add_header(&c->hdrs, "Host", host)
                                             : add_header(&c->hdrs, hostport, NULL)) != 0)
        rc = -ENOMEM;
    curl_free(host);
    curl_free(port);
    free(pin);
    free(hostport);
    curl_url_cleanup(u);
    return rc;
}

static void request_free(struct http_client *c)
{
    curl_slist_free_all(c->hdrs);
    c->hdrs = NULL;
    curl_slist_free_all(c->connect_to);
    c->connect_to = NULL;
    curl_free(c->sni_url);
    c->sni_url = NULL;
}

int http_client_prepare(struct http_client *c, const struct http_request *rq,
                        struct http_response *rs, CURL **out, struct err *e)
{
    *out = NULL;
    request_free(c);
    c->rq = rq;
    c->rs = rs;
    c->body_fail = 0;
    c->errbuf[0] = 0;
    memset(rs, 0, sizeof *rs);
    c->method = rq->method ? rq->method : rq->body_len > 0 ? "POST" : "GET";
    if (rq->url == NULL || rq->url[0] == 0)
        return fail_request(c, TIDE_EINVAL, "no URL", e);
    if (!is_token(c->method))
        return fail_request(c, TIDE_EINVAL, "bad method", e);
    int rc = build_headers(c, rq);
    if (rc != 0)
        return fail_request(c, rc, rc == -ENOMEM ? "out of memory" : "a bad header line", e);
    rc = set_server_name(c, rq->url);
    if (rc != 0)
        return fail_request(c, rc, rc == -ENOMEM ? "out of memory" : "a bad URL for server_name",
                            e);

    CURL *h = c->h;
    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, c->sni_url ? c->sni_url : rq->url);
    if (c->connect_to != NULL)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
    int64_t timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : c->timeout_ms;
    int64_t connect_ms = c->connect_timeout_ms;
    if (timeout_ms > 0) {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
        if (connect_ms > timeout_ms)
            connect_ms = timeout_ms;
    }
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
    if (c->max_redirects > 0) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)c->max_redirects);
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (c->basic_user != NULL) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->basic_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->basic_password);
    }
    if (c->ca_file != NULL)
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
    if (c->cert_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file);
    if (c->key_file != NULL)
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file);
    if (c->tls_version != 0)
        curl_easy_setopt(h, CURLOPT_SSLVERSION, c->tls_version);
    if (c->insecure) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->compressed)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    if (rq->abort != NULL) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    }
    set_method(c, rq);
    *out = h;
    return 0;
}

static int code_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_ABORTED_BY_CALLBACK:
        return -ECANCELED;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

int http_client_finish(struct http_client *c, CURLcode result, struct err *e)
{
    struct http_response *rs = c->rs;
    long status = 0;
    curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
    rs->status = (int)status;
    char *ct = NULL;
    curl_easy_getinfo(c->h, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(rs->content_type, sizeof rs->content_type, "%s", ct ? ct : "");
    curl_off_t retry = 0;
    curl_easy_getinfo(c->h, CURLINFO_RETRY_AFTER, &retry);
    rs->retry_after_s = retry > 0 ? (int64_t)retry : 0;
    long redirects = 0;
    curl_easy_getinfo(c->h, CURLINFO_REDIRECT_COUNT, &redirects);
    rs->redirects = (int)redirects;
    request_free(c);

    int rc = 0;
    if (result == CURLE_WRITE_ERROR && c->body_fail == TIDE_ELIMIT) {
        char why[96];
        snprintf(why, sizeof why, "response body larger than %zu bytes", c->rq->resp_body->max);
        rc = fail_request(c, TIDE_ELIMIT, why, e);
    } else if (result == CURLE_WRITE_ERROR && c->body_fail != 0) {
        rc = fail_request(c, c->body_fail,
                          c->body_fail == -ECANCELED ? "the body's receiver stopped the transfer"
                                                     : "out of memory",
                          e);
    } else if (result == CURLE_ABORTED_BY_CALLBACK) {
        rc = fail_request(c, -ECANCELED, "aborted", e);
    } else if (result != CURLE_OK) {
        rc = fail_request(c, code_of(result), c->errbuf[0] ? c->errbuf : curl_easy_strerror(result),
                          e);
    }
    c->rq = NULL;
    c->rs = NULL;
    return rc;
}

int http_client_do(struct http_client *c, const struct http_request *rq, struct http_response *rs,
                   struct err *e)
{
    CURL *h;
    int rc = http_client_prepare(c, rq, rs, &h, e);
    if (rc != 0) {
        c->rq = NULL;
        c->rs = NULL;
        return rc;
    }
    return http_client_finish(c, curl_easy_perform(h), e);
}

int http_escape(struct buf *dst, const char *s)
{
    char *esc = curl_easy_escape(NULL, s, (int)strlen(s));
    if (esc == NULL)
        return -ENOMEM;
    int rc = buf_puts(dst, esc);
    curl_free(esc);
    return rc;
}
