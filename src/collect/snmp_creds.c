/* snmp_creds.c: who the poller is to a device (snmp.h): SNMP v1/v2c
 * communities and v3 USM users, read from a target's YAML keys or from the
 * `tide snmp` flags through one setter, so the poller and the CLI resolve
 * credentials the same way.
 *
 * Keys: version (1, 2c, 3), community, username, security_level
 * (noAuthNoPriv, authNoPriv, authPriv), auth_protocol (MD5, SHA, SHA224,
 * SHA256, SHA384, SHA512), auth_password, priv_protocol (DES, AES, AES192,
 * AES256), priv_password, context_name.
 * Invariant: no error message built here contains a secret's value
 * (community, passwords); they name the key instead.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "collect/snmp.h"
#include "core/yaml_tree.h"

static const char *const keys[] = {"version",        "community",     "username",
                                   "security_level", "auth_protocol", "auth_password",
                                   "priv_protocol",  "priv_password", "context_name"};

void snmp_creds_init(struct snmp_creds *c)
{
    memset(c, 0, sizeof *c);
    c->version = SNMP_V2C;
    snprintf(c->community, sizeof c->community, "public");
}

bool snmp_creds_is_key(const char *key)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

static int set_secret(char *dst, size_t cap, const char *key, const char *value, struct err *e)
{
    size_t n = strlen(value);
    if (n >= cap)
        return ERR_INVAL(e, "%s: longer than %zu bytes", key, cap - 1);
    memcpy(dst, value, n + 1);
    return 0;
}

int snmp_creds_set(struct snmp_creds *c, const char *key, const char *value, struct err *e)
{
    if (strcmp(key, "version") == 0) {
        if (strcmp(value, "1") == 0)
            c->version = SNMP_V1;
        else if (strcmp(value, "2c") == 0 || strcmp(value, "2") == 0)
            c->version = SNMP_V2C;
        else if (strcmp(value, "3") == 0)
            c->version = SNMP_V3;
        else
            return ERR_INVAL(e, "version: \"%s\" is not one of 1, 2c, 3", value);
        return 0;
    }
    if (strcmp(key, "community") == 0)
        return set_secret(c->community, sizeof c->community, key, value, e);
    if (strcmp(key, "auth_password") == 0)
        return set_secret(c->auth_password, sizeof c->auth_password, key, value, e);
    if (strcmp(key, "priv_password") == 0)
        return set_secret(c->priv_password, sizeof c->priv_password, key, value, e);
    if (strcmp(key, "username") == 0)
        return set_secret(c->username, sizeof c->username, key, value, e);
    if (strcmp(key, "context_name") == 0)
        return set_secret(c->context, sizeof c->context, key, value, e);
    if (strcmp(key, "security_level") == 0) {
        if (strcasecmp(value, "noAuthNoPriv") == 0)
            c->level = SNMP_NOAUTH_NOPRIV;
        else if (strcasecmp(value, "authNoPriv") == 0)
            c->level = SNMP_AUTH_NOPRIV;
        else if (strcasecmp(value, "authPriv") == 0)
            c->level = SNMP_AUTH_PRIV;
        else
            return ERR_INVAL(e,
                             "security_level: \"%s\" is not one of noAuthNoPriv, authNoPriv, "
                             "authPriv",
                             value);
        c->level_set = true;
        return 0;
    }
    if (strcmp(key, "auth_protocol") == 0) {
        static const char *const names[] = {"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"};
        for (int i = 0; i < 6; i++)
            if (strcasecmp(value, names[i]) == 0) {
                c->auth = (enum snmp_auth_proto)(SNMP_AUTH_MD5 + i);
                return 0;
            }
        return ERR_INVAL(e,
                         "auth_protocol: \"%s\" is not one of MD5, SHA, SHA224, SHA256, "
                         "SHA384, SHA512",
                         value);
    }
    if (strcmp(key, "priv_protocol") == 0) {
        static const char *const names[] = {"DES", "AES", "AES192", "AES256"};
        for (int i = 0; i < 4; i++)
            if (strcasecmp(value, names[i]) == 0) {
                c->priv = (enum snmp_priv_proto)(SNMP_PRIV_DES + i);
                return 0;
            }
        if (strcasecmp(value, "AES128") == 0) {
            c->priv = SNMP_PRIV_AES;
            return 0;
        }
        return ERR_INVAL(e, "priv_protocol: \"%s\" is not one of DES, AES, AES192, AES256", value);
    }
    return err_set_at(e, TIDE_ENOTFOUND, ERR_WHERE, 0, 0, "unknown SNMP key \"%s\"", key);
}

int snmp_creds_finish(struct snmp_creds *c, struct err *e)
{
    if (c->version != SNMP_V3)
        return c->community[0] ? 0 : ERR_INVAL(e, "community: must not be empty");
    if (c->username[0] == 0)
        return ERR_INVAL(e, "username: required with version 3");
    if (!c->level_set)
        c->level = c->priv_password[0]   ? SNMP_AUTH_PRIV
                   : c->auth_password[0] ? SNMP_AUTH_NOPRIV
                                         : SNMP_NOAUTH_NOPRIV;
    if (c->level >= SNMP_AUTH_NOPRIV) {
        if (c->auth == SNMP_AUTH_NONE)
            c->auth = SNMP_AUTH_SHA;
        if (strlen(c->auth_password) < 8)
            return ERR_INVAL(e, "auth_password: %s needs one of at least 8 characters",
                             c->level == SNMP_AUTH_PRIV ? "authPriv" : "authNoPriv");
    }
    if (c->level == SNMP_AUTH_PRIV) {
        if (c->priv == SNMP_PRIV_NONE)
            c->priv = SNMP_PRIV_AES;
        if (strlen(c->priv_password) < 8)
            return ERR_INVAL(e, "priv_password: authPriv needs one of at least 8 characters");
    }
    return 0;
}

int snmp_creds_from_yaml(struct snmp_creds *c, const struct yaml_node *map, struct err *e)
{
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const struct yaml_node *n = yaml_tree_get(map, keys[i]);
        if (n == NULL)
            continue;
        const char *v = NULL;
        if (yaml_tree_str(n, &v, e) != 0)
            return e->code;
        int rc = snmp_creds_set(c, keys[i], v, e);
        if (rc != 0) {
            e->line = yaml_tree_line(n);
            e->col = yaml_tree_col(n);
            return rc;
        }
    }
    int rc = snmp_creds_finish(c, e);
    if (rc != 0 && e->line == 0) {
        e->line = yaml_tree_line(map);
        e->col = yaml_tree_col(map);
    }
    return rc;
}
