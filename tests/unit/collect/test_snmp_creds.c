/* test_snmp_creds.c: SNMP credentials (collect/snmp_creds.c): defaults,
 * every key and its refusals, the v3 rules snmp_creds_finish() applies,
 * positions from YAML, and that no message ever repeats a secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "collect/snmp.h"
#include "core/yaml_tree.h"

static int from_yaml(const char *text, struct snmp_creds *c, struct err *e)
{
    struct yaml_tree *t = NULL;
    snmp_creds_init(c);
    int rc = yaml_tree_parse(text, strlen(text), "t.yml", &t, e);
    if (rc == 0)
        rc = snmp_creds_from_yaml(c, yaml_tree_root(t), e);
    yaml_tree_free(t);
    return rc;
}

static void test_defaults_and_keys(void **state)
{
    struct snmp_creds c;
    struct err e = {0};
    snmp_creds_init(&c);
    assert_int_equal(c.version, SNMP_V2C);
    assert_string_equal(c.community, "public");
    assert_int_equal(snmp_creds_finish(&c, &e), 0);

    assert_int_equal(from_yaml("version: 3\nusername: u\nauth_password: authpass1\n"
                               "priv_password: privpass1\n",
                               &c, &e),
                     0);
    assert_int_equal(c.version, SNMP_V3);
    assert_int_equal(c.level, SNMP_AUTH_PRIV); /* from the passwords given */
    assert_int_equal(c.auth, SNMP_AUTH_SHA);
    assert_int_equal(c.priv, SNMP_PRIV_AES);

    assert_int_equal(from_yaml("version: 3\nusername: u\nsecurity_level: authNoPriv\n"
                               "auth_protocol: sha256\nauth_password: authpass1\n",
                               &c, &e),
                     0);
    assert_int_equal(c.level, SNMP_AUTH_NOPRIV);
    assert_int_equal(c.auth, SNMP_AUTH_SHA256);
    assert_int_equal(from_yaml("version: 3\nusername: u\n", &c, &e), 0);
    assert_int_equal(c.level, SNMP_NOAUTH_NOPRIV);
    assert_int_equal(from_yaml("version: 1\ncommunity: s3cret\n", &c, &e), 0);
    assert_int_equal(c.version, SNMP_V1);
    assert_string_equal(c.community, "s3cret");
    assert_true(snmp_creds_is_key("priv_protocol"));
    assert_false(snmp_creds_is_key("address"));
}

static void test_refused(void **state)
{
    static const struct {
        const char *name, *yaml;
        int line, col;
        const char *want;
    } cases[] = {
        {"version", "version: 4\n", 1, 10, "version: \"4\" is not one of 1, 2c, 3"},
        {"no user", "version: 3\n", 1, 1, "username: required"},
        {"short auth", "version: 3\nusername: u\nauth_password: s3cr\n", 1, 1,
         "auth_password: authNoPriv needs one of at least 8"},
        {"priv without auth",
         "version: 3\nusername: u\nsecurity_level: authPriv\n"
         "auth_password: s3cretpass\n",
         1, 1, "priv_password: authPriv needs"},
        {"level", "security_level: secret\n", 1, 17, "security_level: \"secret\""},
        {"auth proto", "auth_protocol: SHA3\n", 1, 16, "auth_protocol: \"SHA3\""},
        {"priv proto", "priv_protocol: 3DES\n", 1, 16, "priv_protocol: \"3DES\""},
        {"empty community", "community: \"\"\n", 1, 1, "community: must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snmp_creds c;
        struct err e = {0};
        int rc = from_yaml(cases[i].yaml, &c, &e);
        if (rc != TIDE_EINVAL || e.line != cases[i].line || e.col != cases[i].col ||
            strstr(e.msg, cases[i].want) == NULL)
            fail_msg("%s: rc %d at %d:%d \"%s\"", cases[i].name, rc, e.line, e.col, e.msg);
        if (strstr(e.msg, "s3cr"))
            fail_msg("%s: a secret in \"%s\"", cases[i].name, e.msg);
    }
    /* too long: the message names the key, not the value */
    struct snmp_creds c;
    snmp_creds_init(&c);
    char big[300];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = 0;
    struct err e = {0};
    assert_int_equal(snmp_creds_set(&c, "auth_password", big, &e), TIDE_EINVAL);
    assert_non_null(strstr(e.msg, "auth_password: longer than"));
    assert_null(strstr(e.msg, "kkkk"));
    assert_int_equal(snmp_creds_set(&c, "adress", "x", &e), TIDE_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_keys),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
