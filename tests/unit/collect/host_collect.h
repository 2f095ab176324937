/* host_collect.h: setting up a host collection in the collect/ tests (over
 * the fixtures of collect/host_test.h, or over this machine's /proc and
 * /sys). Include after <cmocka.h>. */
#ifndef TIDE_TESTS_HOST_COLLECT_H
#define TIDE_TESTS_HOST_COLLECT_H

#include <stdint.h>

#include "host_test.h"

/* A collector over the fixtures with options o (set up by the caller, kept
 * while the collector lives), and group g collected at t_ms into b (set up
 * here); both must succeed. Free with host_collector_free(). */
static inline struct host_collector *fixture_group(struct host_opts *o, enum host_group g,
                                                   int64_t t_ms, struct batch *b)
{
    struct host_collector *h = fixture_collector(o);
    assert_non_null(h);
    batch_init(b);
    struct err e = {0};
    assert_int_equal(host_collect_group(h, g, t_ms, b, &e), 0);
    return h;
}

/* A collector over this machine with the default options (in o, kept while
 * the collector lives), and b set up. Free with host_collector_free(). */
static inline struct host_collector *real_collector(struct host_opts *o, struct batch *b)
{
    host_opts_init(o);
    struct host_collector *h = NULL;
    assert_int_equal(host_collector_new(o, &h, NULL), 0);
    batch_init(b);
    return h;
}

#endif
