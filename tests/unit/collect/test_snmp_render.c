/* test_snmp_render.c: varbinds → series (collect/snmp_render.c) with the
 * built-in if_mib: ifIndex labels, the ifAlias/ifDescr/ifName lookups (an
 * empty or missing one left out), ifHC* falling back to the 32-bit column
 * for a row without it, scalars, the device info series, and rows whose
 * values have no number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snmp.h"

static struct snmp_vb vbs[64];
static uint32_t oids[64][SNMP_OID_MAX];
static size_t nvb;

static void add(const char *oid, uint8_t type, int64_t i, uint64_t u, const char *s)
{
    struct snmp_oid o;
    assert_int_equal(snmp_oid_parse(oid, &o), 0);
    memcpy(oids[nvb], o.v, o.n * sizeof o.v[0]);
    vbs[nvb] = (struct snmp_vb){.oid = oids[nvb],
                                .oid_n = o.n,
                                .type = type,
                                .i = i,
                                .u = u,
                                .s = s,
                                .s_n = s ? strlen(s) : 0};
    nvb++;
}

static int cmp(const void *a, const void *b)
{
    const struct snmp_vb *x = a, *y = b;
    return snmp_oid_cmp(x->oid, x->oid_n, y->oid, y->oid_n);
}

/* The series `name` with label ifIndex=idx, as "labels=value" text. */
static const char *find(const struct batch *b, const char *name, const char *idx, char *out,
                        size_t cap)
{
    for (size_t i = 0; i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        struct strv n = labels_get(ls, s->nlabels, STRV_LIT("__name__"));
        struct strv x = labels_get(ls, s->nlabels, STRV_LIT("ifIndex"));
        if (!strv_eq(n, strv_c(name)))
            continue;
        if (idx && (x.p == NULL || !strv_eq(x, strv_c(idx))))
            continue;
        size_t len = 0;
        for (uint32_t j = 0; j < s->nlabels; j++)
            len += (size_t)snprintf(out + len, cap - len, "%.*s=%.*s,", (int)ls[j].name.n,
                                    ls[j].name.p, (int)ls[j].value.n, ls[j].value.p);
        snprintf(out + len, cap - len, " %.17g", b->samples[s->sample_off].v);
        return out;
    }
    return NULL;
}

static void test_if_mib(void **state)
{
    struct snmp_modules ms;
    snmp_modules_init(&ms);
    struct err e = {0};
    assert_int_equal(snmp_modules_add_builtin(&ms, &e), 0);
    const struct snmp_module *m = snmp_modules_find(&ms, "if_mib");
    nvb = 0;
    add("1.3.6.1.2.1.1.3.0", SNMP_T_TIMETICKS, 0, 8538, NULL);
    add("1.3.6.1.2.1.1.5.0", SNMP_T_OCTET_STR, 0, 0, "core-1");
    add("1.3.6.1.2.1.1.1.0", SNMP_T_OCTET_STR, 0, 0, "Linux");
    static const uint32_t obj[] = {1, 3, 6, 1, 4, 1, 14988, 1};
    add("1.3.6.1.2.1.1.2.0", SNMP_T_OID, 0, 0, NULL);
    vbs[nvb - 1].s = (const char *)obj;
    vbs[nvb - 1].s_n = 8;
    add("1.3.6.1.2.1.2.2.1.2.1", SNMP_T_OCTET_STR, 0, 0, "ether1");
    add("1.3.6.1.2.1.2.2.1.2.2", SNMP_T_OCTET_STR, 0, 0, "ether2");
    add("1.3.6.1.2.1.2.2.1.8.1", SNMP_T_INTEGER, 1, 0, NULL);
    add("1.3.6.1.2.1.2.2.1.8.2", SNMP_T_INTEGER, 2, 0, NULL);
    add("1.3.6.1.2.1.2.2.1.10.1", SNMP_T_COUNTER32, 0, 100, NULL);
    add("1.3.6.1.2.1.2.2.1.10.2", SNMP_T_COUNTER32, 0, 200, NULL);
    add("1.3.6.1.2.1.2.2.1.14.2", SNMP_T_NOSUCHINSTANCE, 0, 0, NULL);
    add("1.3.6.1.2.1.31.1.1.1.1.1", SNMP_T_OCTET_STR, 0, 0, "ether1");
    add("1.3.6.1.2.1.31.1.1.1.6.1", SNMP_T_COUNTER64, 0, 9007199254740993ull, NULL);
    add("1.3.6.1.2.1.31.1.1.1.18.1", SNMP_T_OCTET_STR, 0, 0, "");
    add("1.3.6.1.2.1.31.1.1.1.18.2", SNMP_T_OCTET_STR, 0, 0, "ISP:Magti_Internet");
    qsort(vbs, nvb, sizeof vbs[0], cmp);
    struct snmp_result res = {.v = vbs, .n = nvb};
    struct batch b;
    batch_init(&b);
    int n = snmp_render(m, &res, 1000, &b);
    assert_true(n > 0);
    assert_int_equal((size_t)n, b.nseries);
    char buf[512];
    static const struct {
        const char *name, *idx, *want;
    } cases[] = {
        {"ifOperStatus", "1", "__name__=ifOperStatus,ifDescr=ether1,ifIndex=1,ifName=ether1, 1"},
        {"ifOperStatus", "2",
         "__name__=ifOperStatus,ifAlias=ISP:Magti_Internet,ifDescr=ether2,ifIndex=2, 2"},
        {"ifHCInOctets", "1",
         "__name__=ifHCInOctets,ifDescr=ether1,ifIndex=1,ifName=ether1, 9007199254740992"},
        {"ifHCInOctets", "2",
         "__name__=ifHCInOctets,ifAlias=ISP:Magti_Internet,ifDescr=ether2,ifIndex=2, 200"},
        {"ifInOctets", "2",
         "__name__=ifInOctets,ifAlias=ISP:Magti_Internet,ifDescr=ether2,ifIndex=2, 200"},
        {"sysUpTime", NULL, "__name__=sysUpTime, 8538"},
        {"snmp_device_info", NULL,
         "__name__=snmp_device_info,sysDescr=Linux,sysName=core-1,sysObjectID=1.3.6.1.4.1.14988.1, "
         "1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = find(&b, cases[i].name, cases[i].idx, buf, sizeof buf);
        if (got == NULL || strcmp(got, cases[i].want) != 0)
            fail_msg("%s{ifIndex=%s}: got \"%s\"", cases[i].name, cases[i].idx ? cases[i].idx : "",
                     got ? got : "(none)");
    }
    /* no number, no series; a column absent altogether, no series */
    assert_null(find(&b, "ifInErrors", "2", buf, sizeof buf));
    assert_null(find(&b, "ifHighSpeed", NULL, buf, sizeof buf));
    assert_null(find(&b, "ifHCOutOctets", NULL, buf, sizeof buf));
    batch_fini(&b);
    snmp_modules_fini(&ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_if_mib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
