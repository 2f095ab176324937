/* cli.h: the client subcommands of `tide` that talk to a running server
 * over HTTP (libcurl): `tide import` and `tide export`, and what they share:
 * an HTTP client (client.c) and a terminal progress line (progress.c).
 *
 * Only main.c calls the *_main() entry points; they print to stdout/stderr
 * and return the process exit status (0 ok, 1 failure, 2 usage).
 * Thread: single-threaded; libcurl's global init is done by client_open().
 */
#ifndef TIDE_CLI_CLI_H
#define TIDE_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jsontree.h"

#define CLI_DEFAULT_SERVER "http://127.0.0.1:9470"

/* ---- flags.c ---- */

/* The value of flag `name` at argv[*i], written "--name V" (then *i moves
 * past V) or "--name=V"; NULL when argv[*i] is another flag. A missing value
 * is reported on stderr as "tide CMD: flag NAME needs a value" and sets *bad. */
const char *cli_flag_value(const char *cmd, int argc, char **argv, int *i, const char *name,
                           bool *bad);

/* "4MiB", "512KiB", "64k", "1048576" to bytes (at most 1 TiB); 0 when it
 * does not parse. */
size_t cli_parse_bytes(const char *s);
/* --retries' value, 0 to 100, into *out; -1 with the reason printed as
 * "tide CMD: --retries V: ..." otherwise. */
int cli_parse_retries(const char *cmd, const char *v, unsigned *out);

/* ---- import.c / export.c ---- */

/* `tide import [flags] FILE...`; argv excludes "tide import". */
int import_main(int argc, char **argv);
void import_usage(FILE *f);
/* `tide import sqlite:FILE.db --table T ...` (import_sqlite.c), reached
 * through import_main() when an argument starts with "sqlite:". */
int import_sqlite_main(int argc, char **argv);
void import_sqlite_usage(FILE *f);
/* `tide export [flags]`; argv excludes "tide export". */
int export_main(int argc, char **argv);
void export_usage(FILE *f);

/* `tide query [flags] EXPR` (query.c); argv excludes "tide query". */
int query_main(int argc, char **argv);
void query_usage(FILE *f);

/* `tide admin cleanup [flags]` (admin.c); argv excludes "tide admin". */
int admin_main(int argc, char **argv);
void admin_usage(FILE *f);

/* ---- client.c: one keep-alive HTTP connection to the server ---- */

struct client_opts {
    const char *server; /* "http://127.0.0.1:9470", no trailing path */
    const char *bearer; /* Authorization: Bearer, or NULL */
    const char *basic;  /* "user:password" for basic auth, or NULL */
    long timeout_s;     /* per request; 0 = none */
};

/* Write callback of a streamed response body: 0 to go on, non-zero to abort. */
typedef int client_sink_fn(void *ctx, const char *p, size_t n);

struct client;
/* A client for o->server (copied). 0 or -ENOMEM; *out NULL on failure. */
int client_open(struct client **out, const struct client_opts *o);
void client_close(struct client *c);

/* The URL-encoded form of s, appended to dst ("a b" -> "a%20b"). */
int client_escape(struct client *c, struct buf *dst, const char *s);

/* POST body[0..n) to server + path_query. The status lands in *status, the
 * response body (up to resp->max) in resp. 0 when an HTTP answer came (any
 * status), else -EIO with the transport error in `e`. */
int client_post(struct client *c, const char *path_query, const char *content_type,
                const char *body, size_t n, long *status, struct buf *resp, struct err *e);

/* client_post(), resent up to `retries` times while the failure is one a
 * later attempt may not meet (a transport error, HTTP 429, 500, 502, 503,
 * 504), waiting 0.5 s, 1 s, 2 s … (at most 30 s) in between; each retry is
 * announced on stderr as "tide: LABEL: reason; retry i of n in x s" (the
 * progress line `pr`, which may be NULL, cleared first). Same returns. */
struct progress;
int client_post_retrying(struct client *c, unsigned retries, const char *path_query,
                         const char *content_type, const char *label, const char *body, size_t n,
                         long *status, struct buf *resp, struct progress *pr, struct err *e);

/* GET server + path_query, handing the body to `sink` as it arrives when
 * the status is 2xx; a non-2xx body goes to `err_body` (capped) instead.
 * Same returns as client_post(); a sink abort is -ECANCELED. */
int client_get_stream(struct client *c, const char *path_query, client_sink_fn *sink, void *ctx,
                      long *status, struct buf *err_body, struct err *e);

/* The human message of a server error body: the "error" or "message" field
 * of a JSON object, else the body itself (trimmed), into dst. */
void client_error_message(const char *body, size_t n, struct buf *dst);

/* ---- progress.c: a status line on stderr ---- */

struct progress {
    bool tty;              /* stderr is a terminal: redraw in place */
    const char *label;     /* file name or "-" */
    uint64_t total_bytes;  /* 0 = unknown (stdin, export) */
    uint64_t bytes, lines; /* done so far */
    int64_t start_ns;      /* monotonic */
    int64_t drawn_ns;      /* last redraw */
    size_t width;          /* characters of the last line drawn, to blank them */
};

/* Start a progress line for `label` (borrowed). `tty` decides redraws. */
void progress_init(struct progress *p, const char *label, uint64_t total_bytes, bool tty);
/* Set the counters; redraw at most 5 times a second on a terminal. */
void progress_update(struct progress *p, uint64_t bytes, uint64_t lines);
/* Clear the redrawn line (before printing an error over it). */
void progress_clear(struct progress *p);
/* The final summary line, on every output: "<label>: <verb> N lines (X MiB)
 * in T s, R lines/s<extra>". */
void progress_done(struct progress *p, const char *verb, const char *extra);
/* Seconds since progress_init(). */
double progress_elapsed_s(const struct progress *p);

#endif
