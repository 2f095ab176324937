/* testutil_storage.h: what the storage and query unit tests share to set a
 * storage up: a fresh data directory and appending a batch, failing the
 * test with storage's own message. Include after <cmocka.h> (it fails tests
 * with cmocka's macros). */
#ifndef TIDE_TESTS_TESTUTIL_STORAGE_H
#define TIDE_TESTS_TESTUTIL_STORAGE_H

#include <stdio.h>
#include <stdlib.h>

#include "storage/storage.h"

/* A new directory $TMPDIR/PREFIX_XXXXXX (/tmp without TMPDIR); the caller
 * frees the name. */
static inline char *test_tmpdir(const char *prefix)
{
    const char *tmp = getenv("TMPDIR");
    char *p;
    assert_true(asprintf(&p, "%s/%s_XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix) > 0);
    assert_non_null(mkdtemp(p));
    return p;
}

/* Append b to s and free b; a refused append fails the test. */
static inline void test_append(struct storage *s, struct batch *b)
{
    struct err e = {0};
    int rc = storage_append(s, b, NULL, &e);
    batch_fini(b);
    if (rc)
        fail_msg("append: %s", e.msg);
}

#endif
