/* http_conns.h: the HTTP server's connection accounting (http_conns.c):
 * a total and a per-client (per IP address) connection limit, and a
 * deadline for connections that have not sent complete request headers.
 *
 * Only http.c uses this module, from libmicrohttpd's callbacks:
 *   accept policy       → http_conns_admit()  (may evict, may refuse)
 *   connection started  → http_conns_open()
 *   headers complete    → http_conns_busy()
 *   request completed   → http_conns_idle()
 *   connection closed   → http_conns_close()
 *
 * A connection is "waiting" while no request is in progress on it: from
 * its accept (or the end of its previous request) until its next request's
 * headers are complete. Only waiting connections are ever closed by this
 * module, with shutdown(2) on their socket; libmicrohttpd then sees the
 * end of the stream and closes and frees the connection as usual.
 *   - A client at its limit that opens one more connection makes its own
 *     longest-waiting connection close; with none waiting, the new one is
 *     refused. The server at its total limit does the same across clients.
 *   - A new connection whose first request headers are not complete within
 *     header_timeout is closed; a kept-alive connection whose next request
 *     headers are not complete within idle_timeout of the previous answer
 *     is closed (a trickle of bytes does not keep it open).
 * A connection with a request in progress (body upload, evaluation, answer
 * being sent) counts against both limits but is never closed here.
 *
 * Thread: every function is thread-safe (one mutex); a background thread
 * enforces the deadlines. Socket descriptors are touched only under the
 * mutex and a connection leaves the table in http_conns_close(), which
 * libmicrohttpd calls before it closes the descriptor, so a descriptor
 * shut down here is never one reused by another connection.
 */
#ifndef TIDE_API_HTTP_CONNS_H
#define TIDE_API_HTTP_CONNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct http_conns_opts {
    unsigned max_connections;    /* total, >= 1 */
    unsigned max_per_client;     /* per IP address, >= 1 */
    int64_t header_timeout_ms;   /* first request's headers, from accept */
    int64_t idle_timeout_ms;     /* next request's headers, from the previous answer */
};

struct http_conns;
struct http_conn; /* one connection; owned by the table, freed by http_conns_close() */

/* 0, -ENOMEM, or -errno when the deadline thread cannot start. */
int http_conns_new(struct http_conns **out, const struct http_conns_opts *o);
/* Stop the deadline thread and free; call once no connection is left. */
void http_conns_free(struct http_conns *cs);

/* May a connection from `addr` come in? Makes room by closing a waiting
 * connection when a limit is reached; false when nothing could be closed. */
bool http_conns_admit(struct http_conns *cs, const struct sockaddr *addr, socklen_t len);
/* Record an accepted connection; NULL on -ENOMEM (it is then untracked). */
struct http_conn *http_conns_open(struct http_conns *cs, int fd, const struct sockaddr *addr);
void http_conns_busy(struct http_conns *cs, struct http_conn *c);
void http_conns_idle(struct http_conns *cs, struct http_conn *c);
void http_conns_close(struct http_conns *cs, struct http_conn *c);

#endif
