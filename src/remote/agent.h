/* agent.h: `tide agent`, host monitoring forwarded with remote write.
 *
 * The agent collects the host (collect/host.h, on collect/sched.h's
 * thread), accumulates the batches, encodes them with remote_write_encode()
 * and pushes them into a durable queue (queue.h) that a sender thread
 * (sender.h) drains to any remote-write receiver: Tide, VictoriaMetrics,
 * Prometheus with --web.enable-remote-write-receiver. With --server it also
 * polls the server's /api/v1/agent/config for a new collection interval.
 * Flags and behaviour: docs/agent.md.
 */
#ifndef TIDE_REMOTE_AGENT_H
#define TIDE_REMOTE_AGENT_H

/* Run the agent until SIGTERM or SIGINT. `argv[0..argc)` are the flags that
 * follow the word "agent" (main.c calls agent_main(argc - 2, argv + 2), as it
 * does for serve). Blocks SIGINT/SIGTERM in every thread and takes them with
 * sigwait(), so call it before any other thread starts. Logs through
 * core/log.h. Returns the process exit status: 0 after a clean stop, 1 on a
 * runtime failure (queue directory unusable or locked), 2 on a usage error. */
int agent_main(int argc, char **argv);

#endif
