/* err.c: filling struct err and naming error codes (see err.h). */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set_at(struct err *e, int code, const char *where, int line, int col, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    e->code = code;
    e->line = line;
    e->col = col;
    e->where = where;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void err_clear(struct err *e)
{
    if (e == NULL)
        return;
    memset(e, 0, sizeof *e);
}

const char *tide_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case TIDE_ECORRUPT:
        return "corrupt data";
    case TIDE_EPARSE:
        return "parse error";
    case TIDE_ELIMIT:
        return "limit exceeded";
    case TIDE_ENOTFOUND:
        return "not found";
    case TIDE_EINVAL:
        return "invalid argument";
    case TIDE_ECLOSED:
        return "closed";
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}
