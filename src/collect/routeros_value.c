/* routeros_value.c: RouterOS value texts as float64 (routeros.h). The API
 * returns every value as text in the console's formats: plain numbers,
 * booleans, durations ("1w2d3h4m5s", "12ms250us", or "01:02:03"), bit
 * rates ("1Gbps"), signal strengths with a rate ("-61dBm@6Mbps"), and
 * upload/download pairs ("1000/2000"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "collect/routeros.h"

/* A number at the start of s: its value and length, or 0 bytes. */
static size_t lead(struct strv s, double *out)
{
    char tmp[64];
    size_t n = s.n < sizeof tmp - 1 ? s.n : sizeof tmp - 1;
    if (n == 0)
        return 0;
    memcpy(tmp, s.p, n);
    tmp[n] = 0;
    if (!(tmp[0] == '-' || tmp[0] == '+' || tmp[0] == '.' || (tmp[0] >= '0' && tmp[0] <= '9')))
        return 0;
    char *end = NULL;
    double v = strtod(tmp, &end);
    if (end == tmp || !isfinite(v))
        return 0;
    *out = v;
    return (size_t)(end - tmp);
}

int ros_num(struct strv s, double *out)
{
    double v;
    size_t k = lead(s, &v);
    if (k == 0 || k != s.n)
        return TIDE_EINVAL;
    *out = v;
    return 0;
}

int ros_bool(struct strv s, double *out)
{
    if (strv_eq_c(s, "true") || strv_eq_c(s, "yes")) {
        *out = 1;
        return 0;
    }
    if (strv_eq_c(s, "false") || strv_eq_c(s, "no")) {
        *out = 0;
        return 0;
    }
    return TIDE_EINVAL;
}

int ros_lead_num(struct strv s, double *out)
{
    return lead(s, out) > 0 ? 0 : TIDE_EINVAL;
}

int ros_duration(struct strv s, double *out)
{
    if (s.n == 0)
        return TIDE_EINVAL;
    /* "[Nd ]HH:MM:SS[.fff]" as some menus print */
    if (memchr(s.p, ':', s.n)) {
        double parts[3] = {0};
        int np = 0;
        size_t i = 0;
        while (i < s.n && np < 3) {
            double v;
            size_t k = lead((struct strv){s.p + i, s.n - i}, &v);
            if (k == 0 || v < 0)
                return TIDE_EINVAL;
            parts[np++] = v;
            i += k;
            if (i < s.n) {
                if (s.p[i] != ':')
                    return TIDE_EINVAL;
                i++;
            }
        }
        if (np != 3 || i != s.n)
            return TIDE_EINVAL;
        *out = parts[0] * 3600 + parts[1] * 60 + parts[2];
        return 0;
    }
    double total = 0;
    size_t i = 0;
    while (i < s.n) {
        double v;
        size_t k = lead((struct strv){s.p + i, s.n - i}, &v);
        if (k == 0 || v < 0)
            return TIDE_EINVAL;
        i += k;
        double unit;
        if (i + 1 < s.n && s.p[i] == 'm' && s.p[i + 1] == 's')
            unit = 1e-3, i += 2;
        else if (i + 1 < s.n && s.p[i] == 'u' && s.p[i + 1] == 's')
            unit = 1e-6, i += 2;
        else if (i + 1 < s.n && s.p[i] == 'n' && s.p[i + 1] == 's')
            unit = 1e-9, i += 2;
        else if (i < s.n && s.p[i] == 'w')
            unit = 604800, i++;
        else if (i < s.n && s.p[i] == 'd')
            unit = 86400, i++;
        else if (i < s.n && s.p[i] == 'h')
            unit = 3600, i++;
        else if (i < s.n && s.p[i] == 'm')
            unit = 60, i++;
        else if (i < s.n && s.p[i] == 's')
            unit = 1, i++;
        else
            return TIDE_EINVAL;
        total += v * unit;
    }
    *out = total;
    return 0;
}

int ros_bitrate(struct strv s, double *out)
{
    double v;
    size_t k = lead(s, &v);
    if (k == 0)
        return TIDE_EINVAL;
    struct strv u = {s.p + k, s.n - k};
    double m;
    if (strv_eq_c(u, "bps") || u.n == 0)
        m = 1;
    else if (strv_eq_c(u, "kbps") || strv_eq_c(u, "Kbps") || strv_eq_c(u, "k"))
        m = 1e3;
    else if (strv_eq_c(u, "Mbps") || strv_eq_c(u, "M"))
        m = 1e6;
    else if (strv_eq_c(u, "Gbps") || strv_eq_c(u, "G"))
        m = 1e9;
    else
        return TIDE_EINVAL;
    *out = v * m;
    return 0;
}

int ros_pair(struct strv s, int part, double *out)
{
    const char *slash = memchr(s.p, '/', s.n);
    if (slash == NULL)
        return TIDE_EINVAL;
    struct strv a = {s.p, (size_t)(slash - s.p)};
    struct strv b = {slash + 1, s.n - a.n - 1};
    return ros_num(part == 0 ? a : b, out);
}
