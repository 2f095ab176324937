/* progress.c: the status line of `tide import` / `tide export` on stderr.
 *
 * On a terminal the line is redrawn in place with '\r' (at most five times
 * a second, so a fast import does not spend its time drawing); elsewhere
 * (a pipe, a CI log) only the final summary is printed, one line per file.
 * Shows bytes, lines, rate and, when the total is known, percent and ETA.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/time.h"

#define REDRAW_NS 200000000LL

void progress_init(struct progress *p, const char *label, uint64_t total_bytes, bool tty)
{
    memset(p, 0, sizeof *p);
    p->tty = tty;
    p->label = label;
    p->total_bytes = total_bytes;
    p->start_ns = time_mono_ns();
}

double progress_elapsed_s(const struct progress *p)
{
    return (double)(time_mono_ns() - p->start_ns) / 1e9;
}

/* "12.3 MiB" */
static void human(char *out, size_t cap, double bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t u = 0;
    while (bytes >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
}

static void draw(struct progress *p)
{
    double t = progress_elapsed_s(p);
    char done[32], rate[32], total[32], line[256];
    human(done, sizeof done, (double)p->bytes);
    human(rate, sizeof rate, t > 0 ? (double)p->bytes / t : 0);
    int n;
    if (p->total_bytes > 0) {
        human(total, sizeof total, (double)p->total_bytes);
        double frac = (double)p->bytes / (double)p->total_bytes;
        double eta = p->bytes > 0 && t > 0 ? t / frac - t : 0;
        n = snprintf(line, sizeof line, "%s: %s / %s (%.0f%%), %llu lines, %s/s, ETA %.0fs",
                     p->label, done, total, frac * 100, (unsigned long long)p->lines, rate,
                     eta < 0 ? 0 : eta);
    } else {
        n = snprintf(line, sizeof line, "%s: %s, %llu lines, %s/s", p->label, done,
                     (unsigned long long)p->lines, rate);
    }
    size_t w = n > 0 ? (size_t)n : 0;
    if (w >= sizeof line)
        w = sizeof line - 1;
    fprintf(stderr, "\r%s", line);
    for (size_t i = w; i < p->width; i++)
        fputc(' ', stderr);
    fflush(stderr);
    p->width = w;
}

void progress_update(struct progress *p, uint64_t bytes, uint64_t lines)
{
    p->bytes = bytes;
    p->lines = lines;
    if (!p->tty)
        return;
    int64_t now = time_mono_ns();
    if (p->drawn_ns != 0 && now - p->drawn_ns < REDRAW_NS)
        return;
    p->drawn_ns = now;
    draw(p);
}

void progress_clear(struct progress *p)
{
    if (!p->tty || p->width == 0)
        return;
    fputc('\r', stderr);
    for (size_t i = 0; i < p->width; i++)
        fputc(' ', stderr);
    fputc('\r', stderr);
    fflush(stderr);
    p->width = 0;
}

void progress_done(struct progress *p, const char *verb, const char *extra)
{
    progress_clear(p);
    double t = progress_elapsed_s(p);
    char done[32];
    human(done, sizeof done, (double)p->bytes);
    fprintf(stderr, "%s: %s %llu lines (%s) in %.2f s, %.0f lines/s%s\n", p->label, verb,
            (unsigned long long)p->lines, done, t, t > 0 ? (double)p->lines / t : 0,
            extra ? extra : "");
    fflush(stderr);
}
