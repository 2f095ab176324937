/* host_net.c: the "net" group of the host collector. Each interface line of
 * /proc/net/dev
 *   Inter-|   Receive                                    |  Transmit
 *    face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo
 * colls carrier compressed eth0: 48476661 1031 0 0 0 0 0 0 49915 662 0 0 0 0 0 0 becomes
 * node_network_{receive,transmit}_<column>_total{device}, named as node_exporter's netdev collector
 * names them, for interfaces the device regex does not exclude (node_exporter's default excludes
 * only "lo"). node_network_up{device} is 1 when /sys/class/net/<device>/operstate says "up"
 * (node_exporter's netclass collector), 0 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/host_int.h"

static const char *const net_fields[16] = {
    "node_network_receive_bytes_total",      "node_network_receive_packets_total",
    "node_network_receive_errs_total",       "node_network_receive_drop_total",
    "node_network_receive_fifo_total",       "node_network_receive_frame_total",
    "node_network_receive_compressed_total", "node_network_receive_multicast_total",
    "node_network_transmit_bytes_total",     "node_network_transmit_packets_total",
    "node_network_transmit_errs_total",      "node_network_transmit_drop_total",
    "node_network_transmit_fifo_total",      "node_network_transmit_colls_total",
    "node_network_transmit_carrier_total",   "node_network_transmit_compressed_total",
};

static int emit_up(struct host_collector *h, struct batch *b, int64_t t, struct label *l)
{
    char path[512], state[64];
    int n = snprintf(path, sizeof path, "%s/class/net/%.*s/operstate", h->sys_root, (int)l->value.n,
                     l->value.p);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    if (host__read_small(path, state, sizeof state) < 0)
        return 0; /* no /sys in this container: no node_network_up, not an error */
    return host__emit(h, b, "node_network_up", t, strcmp(state, "up") == 0 ? 1 : 0, l, 1);
}

static int collect_netdev(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, line, tok;
    int rc = host__read(h, &h->f_netdev, &text);
    if (rc < 0)
        return rc;
    while (rc == 0 && host__line(&text, &line)) {
        const char *colon = memchr(line.p, ':', line.n);
        if (colon == NULL || memchr(line.p, '|', line.n) != NULL)
            continue; /* the two header lines */
        struct strv name = {line.p, (size_t)(colon - line.p)};
        while (name.n > 0 && (name.p[0] == ' ' || name.p[0] == '\t')) {
            name.p++;
            name.n--;
        }
        if (name.n == 0 || host__re_match(&h->net_ex, name))
            continue;
        struct strv rest = {colon + 1, line.n - (size_t)(colon + 1 - line.p)};
        struct label l[1] = {{STRV_LIT("device"), host__dup(b, name)}};
        uint64_t v;
        for (size_t i = 0; rc == 0 && i < 16; i++) {
            if (!host__tok(&rest, &tok) || !host__u64(tok, &v))
                break;
            rc = host__emit(h, b, net_fields[i], t, (double)v, l, 1);
        }
        if (rc == 0)
            rc = emit_up(h, b, t, l);
    }
    return rc;
}

int host__collect_net(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    int rc = 0, r;
    if ((r = collect_netdev(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "net", h->f_netdev.path);
    return rc;
}
