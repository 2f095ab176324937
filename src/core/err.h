/* err.h: Tide's error codes and the detail record that travels with them.
 *
 * Convention (libuv): functions return int, 0 on success, a negative value on
 * failure. System failures pass -errno through; Tide's own codes sit in their
 * own range below -30700 (as LMDB uses -30799...). Details (line, column, a
 * message) go in an optional `struct err *` out-parameter filled where the
 * problem is found; only api/ handlers and main.c print them.
 */
#ifndef TIDE_CORE_ERR_H
#define TIDE_CORE_ERR_H

enum {
    TIDE_ECORRUPT = -30700,  /* on-disk data failed a checksum or a bound */
    TIDE_EPARSE = -30701,    /* malformed input: line/col in struct err */
    TIDE_ELIMIT = -30702,    /* a configured limit was hit (series, labels, body size) */
    TIDE_ENOTFOUND = -30703, /* no such series, label, file or endpoint */
    TIDE_EINVAL = -30704,    /* a bad argument from a user (time, duration, matcher) */
    TIDE_ECLOSED = -30705,   /* the object is shutting down */
};

/* Detail of an error. `line`/`col` are 1-based, 0 when unknown. `where` is the
 * source location that set it (SQLite's *_BKPT): a place for a breakpoint and
 * for a fuzz finding to point at. */
struct err {
    int code;          /* one of the codes above or -errno; 0 when unset */
    int line, col;     /* position in the input, 1-based; 0 = none */
    const char *where; /* "file.c:123" of the check that tripped */
    char msg[200];     /* human-readable reason, NUL-terminated */
};

/* Fill `e` (may be NULL) and return `code`, so a caller can write
 * `return err_set(e, TIDE_EPARSE, ...)`. */
int err_set_at(struct err *e, int code, const char *where, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define ERR_STR2(x) #x
#define ERR_STR(x) ERR_STR2(x)
#define ERR_WHERE __FILE__ ":" ERR_STR(__LINE__)
#define ERR_SET(e, code, ...) err_set_at((e), (code), ERR_WHERE, 0, 0, __VA_ARGS__)
#define ERR_PARSE(e, line, col, ...) err_set_at((e), TIDE_EPARSE, ERR_WHERE, (line), (col), __VA_ARGS__)
#define ERR_CORRUPT(e, ...) err_set_at((e), TIDE_ECORRUPT, ERR_WHERE, 0, 0, __VA_ARGS__)
#define ERR_LIMIT(e, ...) err_set_at((e), TIDE_ELIMIT, ERR_WHERE, 0, 0, __VA_ARGS__)
#define ERR_INVAL(e, ...) err_set_at((e), TIDE_EINVAL, ERR_WHERE, 0, 0, __VA_ARGS__)

/* Reset `e` to "no error". */
void err_clear(struct err *e);

/* A static, human-readable name for a code (Tide's or -errno). */
const char *tide_strerror(int code);

#endif
