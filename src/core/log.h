/* log.h: leveled log lines "ts level component: message" on stderr.
 * Only main.c, api/ handlers and background jobs log; library code returns
 * errors instead. Thread-safe: each line is written with one write(2). */
#ifndef TIDE_CORE_LOG_H
#define TIDE_CORE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
/* Parse "debug"/"info"/"warn"/"error"; -1 when unknown. */
int log_level_parse(const char *s);
void log_at(enum log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(c, ...) log_at(LOG_DEBUG, (c), __VA_ARGS__)
#define log_info(c, ...) log_at(LOG_INFO, (c), __VA_ARGS__)
#define log_warn(c, ...) log_at(LOG_WARN, (c), __VA_ARGS__)
#define log_error(c, ...) log_at(LOG_ERROR, (c), __VA_ARGS__)

#endif
