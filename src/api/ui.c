/* ui.c: serving the embedded dashboard (see ui.h): lookup, conditional
 * requests and content coding. The assets are stored gzip'd once at build
 * time; a client that does not accept gzip (curl without --compressed, a
 * probe) gets them inflated here with zlib, which costs a few milliseconds
 * for the whole bundle and is rare.
 */
#include "api/ui.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

const struct ui_asset *ui_asset_find(const char *path)
{
    for (size_t i = 0; i < ui_nassets; i++)
        if (strcmp(ui_assets[i].path, path) == 0)
            return &ui_assets[i];
    return NULL;
}

bool ui_etag_matches(const char *inm, const char *etag)
{
    if (inm == NULL)
        return false;
    size_t elen = strlen(etag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        size_t n = strcspn(p, ", \t");
        if (n == elen && memcmp(p, etag, n) == 0)
            return true;
        p += n;
    }
    return false;
}

bool ui_accepts_gzip(const char *ae)
{
    if (ae == NULL)
        return false;
    const char *p = ae;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, ",;");
        size_t name = n;
        while (name > 0 && isspace((unsigned char)p[name - 1]))
            name--;
        bool gz = (name == 4 && strncasecmp(p, "gzip", 4) == 0) ||
                  (name == 1 && p[0] == '*');
        const char *q = p + n;
        bool zero = false;
        if (*q == ';') {
            const char *e = q + strcspn(q, ",");
            const char *qv = strstr(q, "q=");
            if (qv != NULL && qv < e) {
                qv += 2;
                zero = qv[0] == '0' && (qv + 1 >= e || qv[1] != '.' ||
                                         strspn(qv + 2, "0") >= (size_t)(e - qv - 2));
            }
            q = e;
        }
        if (gz)
            return !zero;
        p = q;
    }
    return false;
}

/* Inflate a gzip member into rs->body. */
static int inflate_into(struct http_resp *rs, const struct ui_asset *a)
{
    if (buf_reserve(&rs->body, a->raw_len + 1) != 0)
        return -1;
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return -1;
    z.next_in = (unsigned char *)a->gz;
    z.avail_in = (uInt)a->gz_len;
    z.next_out = (unsigned char *)rs->body.p;
    z.avail_out = (uInt)(a->raw_len + 1);
    int zr = inflate(&z, Z_FINISH);
    size_t out = z.total_out;
    inflateEnd(&z);
    if (zr != Z_STREAM_END || out != a->raw_len)
        return -1;
    rs->body.len = out;
    return 0;
}

void ui_serve(struct http_req *rq, struct http_resp *rs)
{
    const struct ui_asset *a = ui_asset_find(rq->path);
    if (a == NULL) {
        http_reply(rs, 404, "text/plain; charset=utf-8", "not found\n");
        return;
    }
    http_header(rs, "ETag", a->etag);
    http_header(rs, "Cache-Control",
                a->immutable ? "public, max-age=31536000, immutable" : "no-cache");
    http_header(rs, "Vary", "Accept-Encoding");
    http_header(rs, "X-Content-Type-Options", "nosniff");
    if (ui_etag_matches(http_req_header(rq, "If-None-Match"), a->etag)) {
        rs->status = 304;
        return;
    }
    rs->status = 200;
    rs->content_type = a->content_type;
    if (a->gz_len == 0) { /* stored plain (the placeholder of a build without node) */
        if (buf_append(&rs->body, a->gz, a->raw_len) != 0)
            http_reply(rs, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    if (ui_accepts_gzip(http_req_header(rq, "Accept-Encoding"))) {
        http_header(rs, "Content-Encoding", "gzip");
        if (buf_append(&rs->body, a->gz, a->gz_len) != 0)
            http_reply(rs, 500, "text/plain; charset=utf-8", "out of memory\n");
        return;
    }
    if (inflate_into(rs, a) != 0) {
        rs->nheaders = 0;
        http_reply(rs, 500, "text/plain; charset=utf-8", "cannot inflate the asset\n");
    }
}
