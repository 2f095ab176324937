/* component.c: start in order, stop in reverse (component.h). */
#include "cmd/component.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/time.h"

int component_start_all(const struct component *v, size_t n, size_t *started, struct err *e)
{
    *started = 0;
    for (size_t i = 0; i < n; i++) {
        struct err ce = {0};
        int64_t t0 = time_mono_ns();
        int rc = v[i].start(v[i].ctx, &ce);
        if (rc != 0) {
            err_set_at(e, rc, ce.where, ce.line, ce.col, "%s: %s", v[i].name,
                       ce.msg[0] ? ce.msg : tide_strerror(rc));
            component_stop_all(v, i + 1);
            return rc;
        }
        log_debug("main", "%s started in %.1f ms", v[i].name,
                  (double)(time_mono_ns() - t0) / 1e6);
        *started = i + 1;
    }
    return 0;
}

int component_stop_all(const struct component *v, size_t started)
{
    int first = 0;
    for (size_t i = started; i-- > 0;) {
        int64_t t0 = time_mono_ns();
        int rc = v[i].stop ? v[i].stop(v[i].ctx) : 0;
        if (rc != 0) {
            log_error("main", "stopping %s: %s", v[i].name, tide_strerror(rc));
            if (first == 0)
                first = rc;
        }
        log_debug("main", "%s stopped in %.1f ms", v[i].name,
                  (double)(time_mono_ns() - t0) / 1e6);
    }
    return first;
}
