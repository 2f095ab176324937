/* test_arena.c: bump allocation (core/arena.c): alignment of mixed
 * allocations, no overlap across blocks, the `max` cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/arena.h"

/* Each case allocates its steps in a loop until `total` bytes were asked
 * for; every pointer must be aligned as asked and keep its bytes. */
static void test_align(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        struct {
            size_t n, align; /* align 0: arena_alloc() (8) */
        } steps[4];
        size_t nsteps;
    } cases[] = {
        {"plain", {{24, 0}, {3, 0}}, 2},
        {"u32 arrays between 8-byte ones", {{44, 4}, {16, 0}, {12, 4}}, 3},
        {"strings", {{7, 1}, {1, 1}, {33, 1}, {8, 0}}, 4},
        {"16-byte", {{5, 16}, {3, 1}, {40, 16}}, 3},
        {"zero bytes", {{0, 4}, {0, 1}, {0, 0}}, 3},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct arena a;
        arena_init(&a, 0);
        enum { N = 20000 };
        unsigned char **ptrs = calloc(N, sizeof *ptrs);
        size_t *lens = calloc(N, sizeof *lens);
        for (size_t i = 0; i < N; i++) {
            size_t n = cases[c].steps[i % cases[c].nsteps].n;
            size_t al = cases[c].steps[i % cases[c].nsteps].align;
            unsigned char *p = al ? arena_alloc_align(&a, n, al) : arena_alloc(&a, n);
            if (p == NULL)
                fail_msg("%s: allocation %zu failed", cases[c].name, i);
            if ((uintptr_t)p % (al ? al : 8) != 0)
                fail_msg("%s: allocation %zu misaligned (%p, align %zu)", cases[c].name, i,
                         (void *)p, al ? al : 8);
            memset(p, (int)(i & 0xff), n);
            ptrs[i] = p;
            lens[i] = n;
        }
        for (size_t i = 0; i < N; i++)
            for (size_t k = 0; k < lens[i]; k++)
                if (ptrs[i][k] != (unsigned char)(i & 0xff))
                    fail_msg("%s: allocation %zu overwritten at %zu", cases[c].name, i, k);
        free(ptrs);
        free(lens);
        arena_fini(&a);
    }
}

static void test_max(void **state)
{
    (void)state;
    struct arena a;
    arena_init(&a, 100);
    assert_non_null(arena_alloc_align(&a, 44, 4));
    assert_non_null(arena_alloc(&a, 40));
    assert_null(arena_alloc_align(&a, 20, 4)); /* 44 + 40 + 20 > 100 */
    assert_non_null(arena_strndup(&a, "abc", 3));
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_align),
        cmocka_unit_test(test_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
