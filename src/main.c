/* main.c: the `tide` command: subcommand dispatch (serve, agent, import,
 * export, query, admin, rules, snmp, version, help). The long-running commands are wired in
 * cmd/ (serve.c, agent.c); the client commands live in cli/.
 * Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cmd/cmd.h"

static void usage_main(FILE *f)
{
    fprintf(f, "usage: tide <command> [flags]\n"
               "\n"
               "commands:\n"
               "  serve     store time series and serve the HTTP API\n"
               "  import    send files (Influx, JSON lines, Prometheus text, CSV) to a server\n"
               "  export    stream series from a server to a file (JSON lines or CSV)\n"
               "  query     evaluate a PromQL expression on a server (docs/cli.md)\n"
               "  admin     storage housekeeping on a server: cleanup (docs/cli.md)\n"
               "  rules     check Prometheus rule files (docs/rules.md)\n"
               "  agent     collect this host and forward it with remote write (docs/agent.md)\n"
               "  snmp      walk or get OIDs of one SNMP device (docs/collect/snmp.md)\n"
               "  routeros  test the API connection to a MikroTik router (docs/collect/routeros.md)\n"
               "  version   print the version\n"
               "  help      show help for a command\n"
               "\n"
               "Run `tide <command> --help` for the flags of a command.\n");
}

static void usage_version(FILE *f)
{
    fprintf(f, "usage: tide version\n\nPrint Tide's version.\n");
}

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

int main(int argc, char **argv)
{
    /* Request bodies and batches are megabytes: keep them on the heap for reuse
     * instead of an mmap/munmap (and page faults) per request. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return serve_main(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0)
        return import_main(argc - 2, argv + 2);
    if (strcmp(cmd, "export") == 0)
        return export_main(argc - 2, argv + 2);
    if (strcmp(cmd, "agent") == 0)
        return agent_main(argc - 2, argv + 2);
    if (strcmp(cmd, "query") == 0)
        return query_main(argc - 2, argv + 2);
    if (strcmp(cmd, "admin") == 0)
        return admin_main(argc - 2, argv + 2);
    if (strcmp(cmd, "snmp") == 0)
        return snmp_main(argc - 2, argv + 2);
    if (strcmp(cmd, "rules") == 0)
        return rules_main(argc - 2, argv + 2);
    if (strcmp(cmd, "routeros") == 0)
        return routeros_main(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        if (argc > 2 && is_help(argv[2])) {
            usage_version(stdout);
            return 0;
        }
        printf("tide %s\n", TIDE_VERSION);
        return 0;
    }
    if (is_help(cmd)) {
        const char *topic = argc > 2 ? argv[2] : NULL;
        if (topic && strcmp(topic, "serve") == 0)
            serve_usage(stdout);
        else if (topic && strcmp(topic, "version") == 0)
            usage_version(stdout);
        else if (topic && strcmp(topic, "import") == 0)
            import_usage(stdout);
        else if (topic && strcmp(topic, "export") == 0)
            export_usage(stdout);
        else if (topic && strcmp(topic, "query") == 0)
            query_usage(stdout);
        else if (topic && strcmp(topic, "admin") == 0)
            admin_usage(stdout);
        else if (topic && strcmp(topic, "rules") == 0)
            rules_usage(stdout);
        else if (topic && strcmp(topic, "agent") == 0)
            agent_usage(stdout);
        else if (topic && strcmp(topic, "snmp") == 0)
            snmp_usage(stdout);
        else if (topic && strcmp(topic, "routeros") == 0)
            routeros_usage(stdout);
        else
            usage_main(stdout);
        return 0;
    }
    fprintf(stderr, "tide: unknown command \"%s\"\n\n", cmd);
    usage_main(stderr);
    return 2;
}
