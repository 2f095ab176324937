/* test_time.c: durations and timestamps as users type them (core/time.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/time.h"

static void test_durations(void **state)
{
    static const struct {
        const char *in;
        int ok;
        int64_t want_ms;
    } cases[] = {
        {"5m", 1, 300000},      {"1h30m", 1, 5400000}, {"30d", 1, 2592000000LL},
        {"500ms", 1, 500},      {"1y", 1, 31536000000LL}, {"2w", 1, 1209600000LL},
        {"90", 1, 90000},       {"1.5", 1, 1500},      {"1m1h", 0, 0},
        {"", 0, 0},             {"5x", 0, 0},          {"m", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 0;
        struct err e = {0};
        int rc = time_parse_duration_ms(cases[i].in, &got, &e);
        if (cases[i].ok) {
            if (rc != 0 || got != cases[i].want_ms)
                fail_msg("case %zu \"%s\": rc=%d got=%lld want=%lld", i, cases[i].in, rc,
                         (long long)got, (long long)cases[i].want_ms);
        } else if (rc == 0) {
            fail_msg("case %zu \"%s\": accepted, want an error", i, cases[i].in);
        }
    }
}

static void test_timestamps(void **state)
{
    static const struct {
        const char *in;
        int ok;
        int64_t want_ms;
    } cases[] = {
        {"1700000000", 1, 1700000000000LL},
        {"1700000000.123", 1, 1700000000123LL},
        {"2023-11-14T22:13:20Z", 1, 1700000000000LL},
        {"2023-11-14T22:13:20.5Z", 1, 1700000000500LL},
        {"2023-11-15T00:13:20+02:00", 1, 1700000000000LL},
        {"2023-13-14T22:13:20Z", 0, 0},
        {"yesterday", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = 0;
        int rc = time_parse_ms(cases[i].in, &got, NULL);
        if (cases[i].ok && (rc != 0 || got != cases[i].want_ms))
            fail_msg("case %zu \"%s\": rc=%d got=%lld", i, cases[i].in, rc, (long long)got);
        if (!cases[i].ok && rc == 0)
            fail_msg("case %zu \"%s\": accepted", i, cases[i].in);
    }
    char buf[32];
    time_format_rfc3339(1700000000123LL, buf, sizeof buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_timestamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
