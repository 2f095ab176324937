/* component.h: how `tide serve` and `tide agent` start their parts and stop
 * them. A command lists its components once, in data-flow order (storage
 * before the pipeline that writes to it, the pipeline before the producers
 * that append to it); component_start_all() starts them in that order and
 * component_stop_all() stops the started ones in reverse, so every path out,
 * a failed start included, tears down the same way and nothing is left
 * running or open.
 *
 * Ownership: the table and every ctx are the command's. A stop function
 * must accept a component whose start failed half-way (it frees what is
 * there); it is called only for components whose start was attempted.
 */
#ifndef TIDE_CMD_COMPONENT_H
#define TIDE_CMD_COMPONENT_H

#include <stddef.h>

#include "core/err.h"

struct component {
    const char *name;                          /* "storage", "http", … for the log */
    int (*start)(void *ctx, struct err *e);    /* 0, or an error with `e` set */
    int (*stop)(void *ctx);                    /* 0, or the first error while stopping */
    void *ctx;
};

/* Start v[0..n) in order; on the first failure stop what was started (the
 * failed one included) in reverse and return its error, `e` naming it as
 * "NAME: reason". *started counts the components to stop later. */
int component_start_all(const struct component *v, size_t n, size_t *started, struct err *e);

/* Stop v[started-1] … v[0]. Returns the first stop error, 0 when none;
 * each failure is logged with the component's name. */
int component_stop_all(const struct component *v, size_t started);

#endif
