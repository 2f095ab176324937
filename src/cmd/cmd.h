/* cmd.h: the long-running commands, wired here and nowhere else: `tide
 * serve` (serve.c) and `tide agent` (agent.c), and `tide snmp` (snmp.c), the
 * terminal side of the SNMP poller. Each lists its components in
 * one table (component.h), reads its flags with flags.c, appends through one
 * pipeline (model/pipeline.h) and collects through one targets manager
 * (collect/targets.h). main.c only dispatches to them.
 * Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.
 */
#ifndef TIDE_CMD_CMD_H
#define TIDE_CMD_CMD_H

#include <stdio.h>

/* `tide serve [flags]`; argv excludes "tide serve". */
int serve_main(int argc, char **argv);
void serve_usage(FILE *f);

/* `tide agent [flags]`; argv excludes "tide agent". */
int agent_main(int argc, char **argv);
void agent_usage(FILE *f);

/* `tide snmp walk|get TARGET OID... [flags]` (snmp.c); argv excludes "tide snmp". */
int snmp_main(int argc, char **argv);
void snmp_usage(FILE *f);
/* `tide routeros test HOST[:PORT] …` (routeros.c); argv excludes "tide routeros". */
int routeros_main(int argc, char **argv);
void routeros_usage(FILE *f);
/* `tide rules check FILE…`, `tide rules backfill …` (rules_cmd.c); argv excludes "tide rules". */
int rules_main(int argc, char **argv);
void rules_usage(FILE *f);

#endif
