/* time.c: clocks and parsing of durations and timestamps (see time.h). */
#include "core/time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int parse_plain_seconds(const char *s, int64_t *out_ms)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != 0 || errno != 0 || !isfinite(v) || fabs(v) > 9.2e15)
        return -1;
    *out_ms = (int64_t)llround(v * 1000.0);
    return 0;
}

int time_parse_duration_ms(const char *s, int64_t *out_ms, struct err *e)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", 365LL * 86400000}, {"w", 7LL * 86400000}, {"d", 86400000},
                 {"h", 3600000},          {"m", 60000},          {"s", 1000},
                 {"ms", 1}};
    if (s == NULL || *s == 0)
        return ERR_INVAL(e, "empty duration");
    if (parse_plain_seconds(s, out_ms) == 0)
        return 0;
    int64_t total = 0;
    int last = -1;
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return ERR_INVAL(e, "invalid duration \"%s\"", s);
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > 922337203685LL)
                return ERR_INVAL(e, "duration \"%s\" out of range", s);
            n = n * 10 + (*p - '0');
            p++;
        }
        int u = -1;
        /* "ms" before "m": try the two-letter unit first. */
        if (p[0] == 'm' && p[1] == 's')
            u = 6;
        else
            for (int i = 0; i < 6; i++)
                if (*p == units[i].unit[0])
                    u = i;
        if (u < 0 || u <= last)
            return ERR_INVAL(e, "invalid duration \"%s\"", s);
        p += strlen(units[u].unit);
        last = u;
        if (n > INT64_MAX / units[u].ms || total > INT64_MAX - n * units[u].ms)
            return ERR_INVAL(e, "duration \"%s\" out of range", s);
        total += n * units[u].ms;
    }
    *out_ms = total;
    return 0;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int time_parse_ms(const char *s, int64_t *out_ms, struct err *e)
{
    if (s == NULL || *s == 0)
        return ERR_INVAL(e, "empty time");
    if (parse_plain_seconds(s, out_ms) == 0)
        return 0;
    const char *p = s;
    int Y, M, D, h, m, sec;
    if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
        digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        goto bad;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) || *p++ != ':' ||
        digits(&p, 2, &sec))
        goto bad;
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int64_t scale = 100;
        if (!isdigit((unsigned char)*p))
            goto bad;
        while (isdigit((unsigned char)*p)) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
            goto bad;
        off_s = sign * (oh * 3600 + om * 60);
    } else {
        goto bad;
    }
    if (*p != 0 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        goto bad;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    int64_t epoch = (int64_t)timegm(&tm);
    *out_ms = (epoch - off_s) * 1000 + frac_ms;
    return 0;
bad:
    return ERR_INVAL(e, "cannot parse \"%s\" to a valid timestamp", s);
}

void time_format_rfc3339(int64_t t_ms, char *buf, unsigned len)
{
    int64_t sec = t_ms / 1000;
    int64_t ms = t_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        sec -= 1;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}
