/* ui.h: the built-in web dashboard, served from assets embedded in the
 * binary at build time (web/build.mjs writes them, gzip'd, with their ETags,
 * into the generated web_assets.c; docs/ui.md).
 *
 *   GET /                the application shell (index.html), revalidated
 *                        on every load (Cache-Control: no-cache + ETag)
 *   GET /assets/NAME     the bundle; NAME carries a content hash, so it is
 *                        cached for a year as immutable
 * Both answer 304 to a matching If-None-Match, and gzip to clients that
 * accept it (the stored form); others get it inflated.
 */
#ifndef TIDE_API_UI_H
#define TIDE_API_UI_H

#include <stdbool.h>
#include <stddef.h>

#include "api/http.h"

/* One embedded file (static data, generated). */
struct ui_asset {
    const char *path;         /* "/" or "/assets/app-HASH.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const unsigned char *gz;  /* gzip'd bytes; plain when gz_len is 0 */
    size_t gz_len;
    size_t raw_len;           /* inflated size */
    const char *etag;         /* quoted: "\"3f2a...\"" */
    bool immutable;           /* a hashed name: cache for ever */
};

extern const struct ui_asset ui_assets[];
extern const size_t ui_nassets;

/* The asset at `path`, or NULL. */
const struct ui_asset *ui_asset_find(const char *path);

/* Does an If-None-Match value name `etag`? ("*", lists, W/ prefixes) */
bool ui_etag_matches(const char *if_none_match, const char *etag);
/* Does an Accept-Encoding value accept gzip (not with q=0)? */
bool ui_accepts_gzip(const char *accept_encoding);

/* router_handler_fn of GET / and GET /assets/NAME. */
void ui_serve(struct http_req *rq, struct http_resp *rs);

#endif
