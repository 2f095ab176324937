/* time.h: clocks and the time/duration syntaxes users type.
 * Storage and query time is int64 milliseconds since the Unix epoch. */
#ifndef TIDE_CORE_TIME_H
#define TIDE_CORE_TIME_H

#include <stdint.h>

#include "core/err.h"

int64_t time_now_ms(void);      /* wall clock (CLOCK_REALTIME) */
int64_t time_mono_ns(void);     /* monotonic, for intervals */

/* Prometheus durations: "1h30m", "30d", "500ms", "2w", "1y" (units ms s m h d w y,
 * largest first, each at most once) or a plain number of seconds ("90", "1.5"). */
int time_parse_duration_ms(const char *s, int64_t *out_ms, struct err *e);

/* A point in time as Prometheus' API accepts it: RFC 3339 ("2026-01-02T03:04:05.123Z",
 * with an offset or Z) or Unix seconds with an optional fraction ("1700000000.5"). */
int time_parse_ms(const char *s, int64_t *out_ms, struct err *e);

/* RFC 3339 with milliseconds, UTC: "2026-01-02T03:04:05.123Z". buf >= 32 bytes. */
void time_format_rfc3339(int64_t t_ms, char *buf, unsigned len);

#endif
