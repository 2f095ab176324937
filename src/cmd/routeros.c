/* routeros.c: `tide routeros test HOST[:PORT]`, the "Test connection"
 * button from a terminal: log in to one MikroTik router's API (plain or
 * API-SSL), read /system/resource and /system/identity, print version,
 * board and identity — or the exact failure (refused, timeout, tls, auth,
 * closed, fatal, protocol), through the same code as the poller
 * (collect/routeros_probe.c). The password comes from a file or an
 * environment variable, never from the command line (where `ps` shows it).
 * Exit codes: 0 logged in, 1 the router failed, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "collect/routeros.h"
#include "core/time.h"

void routeros_usage(FILE *f)
{
    fprintf(f, "usage: tide routeros test HOST[:PORT] --user U (--password-file F | --password-env V)\n"
               "                          [--tls] [--insecure] [--ca-file F] [--timeout D]\n"
               "\n"
               "Log in to a MikroTik router's API (TCP 8728; API-SSL 8729 with --tls), read\n"
               "/system/resource and /system/identity, and print version, board and identity,\n"
               "or why it failed: refused, timeout, tls, auth, closed (API restricted), fatal,\n"
               "protocol (docs/collect/routeros.md).\n"
               "\n"
               "flags:\n"
               "  --user NAME            API user (a read-only group is enough)\n"
               "  --password-file FILE   the password is the file's first line\n"
               "  --password-env VAR     the password is in this environment variable\n"
               "  --tls                  API-SSL (default port 8729)\n"
               "  --insecure             do not verify the router's certificate\n"
               "  --ca-file FILE         CA certificates to verify the router with\n"
               "  --timeout DURATION     connect + login, and the commands (default 10s)\n"
               "  -h, --help             show this help\n");
}

static int read_first_line(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -errno;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = 0;
    char *nl = strpbrk(out, "\r\n");
    if (nl)
        *nl = 0;
    return 0;
}

static int usage_err(const char *msg)
{
    fprintf(stderr, "tide routeros: %s\n\n", msg);
    routeros_usage(stderr);
    return 2;
}

int routeros_main(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        routeros_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "test") != 0)
        return usage_err("unknown subcommand (expected: test)");
    static struct ros_conn_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = ROS_TIMEOUT_DEFAULT_MS;
    const char *target = NULL, *pwfile = NULL, *pwenv = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            routeros_usage(stdout);
            return 0;
        } else if (strcmp(a, "--tls") == 0) {
            cfg.tls = true;
        } else if (strcmp(a, "--insecure") == 0) {
            cfg.tls_insecure = true;
        } else if (a[0] == '-' && v == NULL) {
            return usage_err("a flag needs a value");
        } else if (strcmp(a, "--user") == 0) {
            snprintf(cfg.user, sizeof cfg.user, "%s", v), i++;
        } else if (strcmp(a, "--password-file") == 0) {
            pwfile = v, i++;
        } else if (strcmp(a, "--password-env") == 0) {
            pwenv = v, i++;
        } else if (strcmp(a, "--ca-file") == 0) {
            snprintf(cfg.tls_ca_file, sizeof cfg.tls_ca_file, "%s", v), i++;
        } else if (strcmp(a, "--timeout") == 0) {
            struct err e;
            if (time_parse_duration_ms(v, &cfg.timeout_ms, &e) != 0 || cfg.timeout_ms < 100)
                return usage_err("--timeout: expected a duration of at least 100ms");
            i++;
        } else if (a[0] == '-') {
            return usage_err("unknown flag");
        } else if (target == NULL) {
            target = a;
        } else {
            return usage_err("one HOST[:PORT] only");
        }
    }
    if (target == NULL || cfg.user[0] == 0)
        return usage_err("HOST and --user are required");
    if ((pwfile != NULL) == (pwenv != NULL))
        return usage_err("give one of --password-file, --password-env");
    if (pwfile) {
        int rc = read_first_line(pwfile, cfg.password, sizeof cfg.password);
        if (rc != 0) {
            fprintf(stderr, "tide routeros: cannot read %s: %s\n", pwfile, strerror(-rc));
            return 2;
        }
    } else {
        const char *pw = getenv(pwenv);
        if (pw == NULL) {
            fprintf(stderr, "tide routeros: the environment variable %s is not set\n", pwenv);
            return 2;
        }
        snprintf(cfg.password, sizeof cfg.password, "%s", pw);
    }
    /* HOST[:PORT] / [v6]:PORT */
    const char *host = target, *port = NULL;
    size_t hn = strlen(target);
    if (target[0] == '[') {
        const char *close = strchr(target, ']');
        if (close == NULL)
            return usage_err("HOST: an unclosed [");
        host = target + 1;
        hn = (size_t)(close - host);
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (strchr(target, ':') && strchr(target, ':') == strrchr(target, ':')) {
        hn = (size_t)(strchr(target, ':') - target);
        port = strchr(target, ':') + 1;
    }
    if (hn == 0 || hn >= sizeof cfg.host)
        return usage_err("HOST: empty or too long");
    memcpy(cfg.host, host, hn);
    cfg.host[hn] = 0;
    cfg.port = cfg.tls ? ROS_PORT_TLS : ROS_PORT;
    if (port) {
        char *end = NULL;
        long p = strtol(port, &end, 10);
        if (*port == 0 || *end != 0 || p < 1 || p > 65535)
            return usage_err("PORT: expected 1..65535");
        cfg.port = (unsigned)p;
    }
    struct ros_probe pr;
    int rc = ros_probe(&cfg, &pr);
    memset(cfg.password, 0, sizeof cfg.password);
    if (rc != 0) {
        fprintf(stderr, "tide routeros: %s:%u: %s: %s\n", cfg.host, cfg.port,
                ros_fail_name(pr.fail), pr.error);
        return 1;
    }
    printf("ok: logged in to %s:%u as %s%s in %.3fs\n", cfg.host, cfg.port, cfg.user,
           cfg.tls ? " (API-SSL)" : "", pr.elapsed_s);
    printf("version:  %s\nboard:    %s\nidentity: %s\nuptime:   %s\n", pr.version, pr.board,
           pr.identity, pr.uptime);
    return 0;
}
