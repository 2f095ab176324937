/* snmp.c: `tide snmp walk|get TARGET OID...`, the operator's look at one
 * device from a terminal. It polls through the same engine and resolves
 * credentials with the same keys as the poller (collect/snmp.h), so what
 * works here works in a `targets:` entry: --community, --version, and the
 * v3 flags --username, --security-level, --auth-protocol, --auth-password,
 * --priv-protocol, --priv-password, --context-name (the YAML keys with
 * dashes). Prints one "OID = TYPE: value" line per varbind, as snmpwalk -On.
 * Exit codes: 0 answered, 1 the device failed (timeout, refused), 2 usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "collect/snmp.h"
#include "core/time.h"

void snmp_usage(FILE *f)
{
    fprintf(f, "usage: tide snmp walk|get TARGET OID... [flags]\n"
               "\n"
               "Walk subtrees (GETBULK; GETNEXT with --version 1) or get objects of one\n"
               "device, with the credentials a `targets:` entry takes (docs/collect/snmp.md).\n"
               "TARGET is host[:port] (UDP, port 161 by default); OIDs are numeric.\n"
               "\n"
               "flags:\n"
               "  --version 1|2c|3            SNMP version (default 2c)\n"
               "  --community TEXT            v1/v2c community (default public)\n"
               "  --username NAME             v3 user\n"
               "  --security-level LEVEL      noAuthNoPriv, authNoPriv, authPriv\n"
               "  --auth-protocol P           MD5, SHA (default), SHA224, SHA256, SHA384, SHA512\n"
               "  --auth-password TEXT        v3 authentication passphrase\n"
               "  --priv-protocol P           DES, AES (default), AES192, AES256\n"
               "  --priv-password TEXT        v3 privacy passphrase\n"
               "  --context-name NAME         v3 context\n"
               "  --timeout DURATION          per request (default 5s)\n"
               "  --retries N                 (default 3)\n"
               "  --max-repetitions N         GETBULK size (default 25)\n"
               "  -h, --help                  show this help\n");
}

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int rc;
    struct err e;
};

/* snmp_done_fn: print the varbinds (engine thread), then wake main. */
static void on_done(void *ctx, int rc, const struct err *e, const struct snmp_result *res)
{
    struct wait *w = ctx;
    for (size_t i = 0; rc == 0 && i < res->n; i++) {
        const struct snmp_vb *vb = &res->v[i];
        char oid[SNMP_OID_MAX * 11], text[2048];
        snmp_oid_format(vb->oid, vb->oid_n, oid, sizeof oid);
        size_t n = snmp_value_text(vb, text, sizeof text);
        printf(".%s = %s: %.*s\n", oid, snmp_type_name(vb->type), (int)n, text);
    }
    fflush(stdout);
    pthread_mutex_lock(&w->mu);
    w->rc = rc;
    if (rc != 0 && e)
        w->e = *e;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int snmp_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        snmp_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    bool walk = strcmp(argv[0], "walk") == 0;
    if (!walk && strcmp(argv[0], "get") != 0) {
        fprintf(stderr, "tide snmp: unknown subcommand \"%s\" (walk, get)\n", argv[0]);
        return 2;
    }
    struct snmp_creds creds;
    snmp_creds_init(&creds);
    const char *target = NULL;
    struct snmp_oid *oids = calloc((size_t)argc, sizeof *oids);
    size_t noids = 0;
    int64_t timeout_ms = SNMP_TIMEOUT_DEFAULT_MS, retries = SNMP_RETRIES_DEFAULT;
    int64_t reps = SNMP_MAX_REPETITIONS_DEFAULT;
    struct err e = {0};
    int code = 2;
    if (oids == NULL)
        goto out;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            snmp_usage(stdout);
            code = 0;
            goto out;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (target == NULL) {
                target = a;
            } else if (snmp_oid_parse(a, &oids[noids]) == 0) {
                noids++;
            } else {
                fprintf(stderr, "tide snmp: \"%s\" is not a numeric OID\n", a);
                goto out;
            }
            continue;
        }
        char key[64];
        const char *eq = strchr(a, '='), *val = NULL;
        size_t kn = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (kn >= sizeof key) {
            fprintf(stderr, "tide snmp: unknown flag %s\n", a);
            goto out;
        }
        memcpy(key, a + 2, kn);
        key[kn] = 0;
        for (char *p = key; *p; p++)
            if (*p == '-')
                *p = '_';
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "tide snmp: --%.*s needs a value\n", (int)kn, a + 2);
            goto out;
        }
        int rc = 0;
        if (strcmp(key, "timeout") == 0) {
            rc = time_parse_duration_ms(val, &timeout_ms, &e);
            if (rc == 0 && (timeout_ms < 10 || timeout_ms > 600000))
                rc = ERR_INVAL(&e, "timeout must be 10ms..10m");
        } else if (strcmp(key, "retries") == 0 || strcmp(key, "max_repetitions") == 0) {
            char *end = NULL;
            long long v = strtoll(val, &end, 10);
            bool reps_key = key[0] == 'm';
            if (end == val || *end || v < (reps_key ? 1 : 0) || v > (reps_key ? 1000 : 20))
                rc = ERR_INVAL(&e, "--%s: \"%s\" is out of range",
                               reps_key ? "max-repetitions" : "retries", val);
            else if (reps_key)
                reps = v;
            else
                retries = v;
        } else if (snmp_creds_is_key(key)) {
            rc = snmp_creds_set(&creds, key, val, &e);
        } else {
            fprintf(stderr, "tide snmp: unknown flag --%.*s\n", (int)kn, a + 2);
            goto out;
        }
        if (rc != 0) {
            fprintf(stderr, "tide snmp: %s\n", e.msg);
            goto out;
        }
    }
    if (target == NULL || noids == 0) {
        snmp_usage(stderr);
        goto out;
    }
    if (snmp_creds_finish(&creds, &e) != 0) {
        fprintf(stderr, "tide snmp: %s\n", e.msg);
        goto out;
    }

    code = 1;
    struct snmp_engine *eng = NULL;
    struct snmp_conn *conn = NULL;
    if (snmp_engine_new(&eng, &e) != 0 ||
        snmp_conn_new(eng, target, &creds, timeout_ms, (int)retries, &conn, &e) != 0) {
        fprintf(stderr, "tide snmp: %s\n", e.msg);
        snmp_engine_free(eng);
        goto out;
    }
    struct snmp_request req = {.max_repetitions = (int)reps};
    if (walk) {
        req.walk = oids;
        req.nwalk = noids;
    } else {
        req.get = oids;
        req.nget = noids;
    }
    struct wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    if (snmp_conn_poll(conn, &req, on_done, &w) == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done)
            pthread_cond_wait(&w.cv, &w.mu);
        pthread_mutex_unlock(&w.mu);
        if (w.rc == 0)
            code = 0;
        else
            fprintf(stderr, "tide snmp: %s: %s\n", target,
                    w.e.msg[0] ? w.e.msg : tide_strerror(w.rc));
    }
    snmp_conn_free(conn);
    snmp_engine_free(eng);
out:
    memset(&creds, 0, sizeof creds);
    free(oids);
    return code;
}
