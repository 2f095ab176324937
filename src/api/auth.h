/* auth.h: optional credentials per scope (write, read) for the HTTP API.
 *
 * Each route belongs to a scope (router.h): `write` (ingest, delete, admin),
 * `read` (query, export, metadata, status, /metrics) or `open` (/health,
 * /ready, /ping). A scope with no credentials configured is open. A scope
 * with a bearer token and/or a user:password accepts a request carrying
 * either one: `Authorization: Bearer <token>` (InfluxDB clients' `Token
 * <token>` too) or `Authorization: Basic base64(user:password)`.
 *
 * Ownership: struct auth borrows its strings (main.c's struct config).
 * Thread: immutable after set-up; auth_check() is thread-safe.
 */
#ifndef TIDE_API_AUTH_H
#define TIDE_API_AUTH_H

#include <stdbool.h>
#include <stddef.h>

enum auth_scope {
    AUTH_READ = 0, /* the default of a route */
    AUTH_WRITE,
    AUTH_OPEN,
};

struct auth_creds {
    const char *bearer; /* token, or NULL/"" for none */
    const char *basic;  /* "user:password", or NULL/"" for none */
};

struct auth {
    struct auth_creds write; /* AUTH_WRITE routes */
    struct auth_creds read;  /* AUTH_READ routes */
};

/* Does scope `s` need credentials at all? */
bool auth_required(const struct auth *a, enum auth_scope s);

/* May a request with this Authorization header value (NULL when absent)
 * use scope `s`? Secrets are compared in time that depends only on the
 * length of what the client sent. */
bool auth_check(const struct auth *a, enum auth_scope s, const char *authorization);

/* The WWW-Authenticate value of a 401 for scope `s`: `Basic realm="tide"`
 * when basic credentials are configured, else `Bearer realm="tide"`. */
const char *auth_challenge(const struct auth *a, enum auth_scope s);

/* Equal in time independent of the secret: 1 when given[0..n) == secret. */
bool auth_equal(const char *given, size_t n, const char *secret);

/* Decode standard base64 (padding optional) into out, at most cap bytes.
 * Returns the decoded length, or -1 for bad input or no room. */
long auth_base64_decode(const char *in, size_t n, char *out, size_t cap);

#endif
