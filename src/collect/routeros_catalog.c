/* routeros_catalog.c: the RouterOS metric catalog as data (routeros.h).
 *
 * A query def is one API command (with its =.proplist= and ? words), the
 * group (and so the tier) it belongs to, how its rows are read (each row,
 * the last row, name/value rows pivoted into one, or a count-only =ret=),
 * the labels taken from row fields, and the metrics made of fields. Names
 * and labels follow mktxp, the most used RouterOS exporter, where it has
 * the metric (its Grafana dashboards then work); the rest are routeros_*.
 * Every series also gets routerboard_name (the identity) and
 * routerboard_address (the target's address), as mktxp's do.
 * docs/collect/routeros.md lists the same catalog for users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/routeros.h"

enum vk {
    V_NUM,     /* the number */
    V_BOOL,    /* true 1, false 0 */
    V_DUR_S,   /* a duration in seconds */
    V_DUR_MS,  /* a duration in milliseconds (mktxp's bgp_uptime) */
    V_UP,      /* "up/down": up */
    V_DOWN,    /* "up/down": down */
    V_LEAD,    /* the number the text starts with (-61dBm@6Mbps) */
    V_BITRATE, /* 1Gbps → bits/s */
    V_PCT,     /* percent → ratio */
    V_EQ,      /* 1 when the field equals arg, else 0 */
    V_ONE,     /* 1 (an info series) */
    V_COUNT,   /* rows per distinct label set */
    V_RET,     /* the count-only =ret= */
};

enum qmode { Q_ROWS, Q_LAST, Q_PIVOT, Q_COUNT };
enum hook { H_NONE, H_IDENTITY, H_IFNAMES };
enum argsrc { A_NONE, A_ETHERS, A_LTE, A_PING };

struct ldef {
    const char *label;
    const char *field; /* "@arg": the query's argument; "@fwname": mktxp's rule name */
};

struct mdef {
    const char *name;
    const char *field;
    enum vk how;
    const char *arg;
    const char *help;
};

struct qdef {
    enum ros_group group;
    const char *words[5];
    enum argsrc argsrc;
    const char *argkey; /* "=numbers=" / "=address=" */
    enum qmode mode;
    enum hook hook;
    struct ldef labels[6];
    struct mdef metrics[12];
};

#define RES_LABELS                                                                          \
    {{"version", "version"},                                                                \
     {"board_name", "board-name"},                                                          \
     {"cpu", "cpu"},                                                                        \
     {"architecture_name", "architecture-name"}}
#define BGP6_LABELS                                                                         \
    {{"name", "name"}, {"remote_address", "remote-address"}, {"remote_as", "remote-as"}}
#define BGP7_LABELS                                                                         \
    {{"name", "name"}, {"remote_address", "remote.address"}, {"remote_as", "remote.as"}}
#define FW_LABELS {{"name", "@fwname"}, {"log", "log"}}

static const struct qdef qdefs[] = {
    /* 0: identity first, so every later series of the run has it */
    {ROS_G_HARDWARE, {"/system/identity/print"}, A_NONE, NULL, Q_ROWS, H_IDENTITY, {{0}}, {{0}}},
    {ROS_G_SYSTEM,
     {"/system/resource/print"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     RES_LABELS,
     {{"mktxp_system_uptime", "uptime", V_DUR_S, NULL, "Time interval since boot-up (seconds)"},
      {"mktxp_system_free_memory", "free-memory", V_NUM, NULL, "Unused amount of RAM (bytes)"},
      {"mktxp_system_total_memory", "total-memory", V_NUM, NULL, "Amount of installed RAM (bytes)"},
      {"mktxp_system_free_hdd_space", "free-hdd-space", V_NUM, NULL,
       "Free space on hard drive or NAND (bytes)"},
      {"mktxp_system_total_hdd_space", "total-hdd-space", V_NUM, NULL,
       "Size of the hard drive or NAND (bytes)"},
      {"mktxp_system_cpu_load", "cpu-load", V_NUM, NULL, "Percentage of used CPU resources"},
      {"mktxp_system_cpu_count", "cpu-count", V_NUM, NULL, "Number of CPUs present"},
      {"mktxp_system_cpu_frequency", "cpu-frequency", V_NUM, NULL, "Current CPU frequency (MHz)"}}},
    {ROS_G_SYSTEM,
     {"/system/resource/cpu/print", "=.proplist=cpu,load"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"cpu", "cpu"}},
     {{"routeros_system_cpu_core_load", "load", V_NUM, NULL, "Load of one CPU core (percent)"}}},
    {ROS_G_INTERFACE,
     {"/interface/print", "=.proplist=name,type,rx-byte,tx-byte,rx-packet,tx-packet,running,disabled"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_IFNAMES,
     {{"name", "name"}},
     {{"mktxp_interface_rx_byte_total", "rx-byte", V_NUM, NULL, "Number of received bytes"},
      {"mktxp_interface_tx_byte_total", "tx-byte", V_NUM, NULL, "Number of transmitted bytes"},
      {"mktxp_interface_rx_packet_total", "rx-packet", V_NUM, NULL, "Number of packets received"},
      {"mktxp_interface_tx_packet_total", "tx-packet", V_NUM, NULL,
       "Number of transmitted packets"},
      {"mktxp_interface_running", "running", V_BOOL, NULL,
       "Current running status of the interface"},
      {"mktxp_interface_disabled", "disabled", V_BOOL, NULL,
       "Current disabled status of the interface"}}},
    {ROS_G_CONNTRACK,
     {"/ip/firewall/connection/print", "=count-only="},
     A_NONE,
     NULL,
     Q_COUNT,
     H_NONE,
     {{0}},
     {{"mktxp_ip_connections_total", NULL, V_RET, NULL,
       "Number of IP connections (connection tracking)"}}},
    {ROS_G_IFERRORS,
     {"/interface/print", "=.proplist=name,rx-error,tx-error,rx-drop,tx-drop,link-downs"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"name", "name"}},
     {{"mktxp_interface_rx_error_total", "rx-error", V_NUM, NULL,
       "Number of packets received with an error"},
      {"mktxp_interface_tx_error_total", "tx-error", V_NUM, NULL,
       "Number of packets transmitted with an error"},
      {"mktxp_interface_rx_drop_total", "rx-drop", V_NUM, NULL,
       "Number of received packets being dropped"},
      {"mktxp_interface_tx_drop_total", "tx-drop", V_NUM, NULL,
       "Number of transmitted packets being dropped"},
      {"mktxp_link_downs_total", "link-downs", V_NUM, NULL, "Number of times link went down"}}},
    {ROS_G_LINK,
     {"/interface/ethernet/monitor", "=once=", "=.proplist=name,status,rate"},
     A_ETHERS,
     "=numbers=",
     Q_ROWS,
     H_NONE,
     {{"name", "name"}},
     {{"routeros_interface_link_speed_bits", "rate", V_BITRATE, NULL,
       "Negotiated link speed of an ethernet interface (bits/s)"}}},
    {ROS_G_PPP,
     {"/ppp/active/print", "=.proplist=service"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"service", "service"}},
     {{"routeros_ppp_active_sessions", NULL, V_COUNT, NULL,
       "Active PPP sessions by service (pppoe, l2tp, ovpn, ...)"}}},
    {ROS_G_DHCP,
     {"/ip/dhcp-server/lease/print", "=.proplist=server", "?status=bound"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"server", "server"}},
     {{"mktxp_dhcp_lease_active_count", NULL, V_COUNT, NULL,
       "Number of bound DHCP leases per server"}}},
    {ROS_G_DHCP,
     {"/ip/pool/used/print", "=.proplist=pool"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"pool", "pool"}},
     {{"mktxp_ip_pool_used", NULL, V_COUNT, NULL, "Number of used addresses per IP pool"}}},
    {ROS_G_PING,
     {"/ping", "=count=3"},
     A_PING,
     "=address=",
     Q_LAST,
     H_NONE,
     {{"address", "@arg"}},
     {{"routeros_ping_sent", "sent", V_NUM, NULL, "Echo requests sent by the router"},
      {"routeros_ping_received", "received", V_NUM, NULL, "Echo replies received"},
      {"routeros_ping_loss_ratio", "packet-loss", V_PCT, NULL, "Share of requests lost (0-1)"},
      {"routeros_ping_rtt_min_seconds", "min-rtt", V_DUR_S, NULL, "Shortest round trip"},
      {"routeros_ping_rtt_avg_seconds", "avg-rtt", V_DUR_S, NULL, "Average round trip"},
      {"routeros_ping_rtt_max_seconds", "max-rtt", V_DUR_S, NULL, "Longest round trip"}}},
    {ROS_G_WIRELESS,
     {"/interface/wireless/registration-table/print",
      "=.proplist=interface,mac-address,signal-strength"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"interface", "interface"}, {"mac_address", "mac-address"}},
     {{"mktxp_wlan_clients_signal_strength", "signal-strength", V_LEAD, NULL,
       "Signal strength of a registered client (dBm)"}}},
    {ROS_G_WIRELESS,
     {"/interface/wireless/registration-table/print", "=.proplist=interface"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"interface", "interface"}},
     {{"mktxp_wlan_registered_clients", NULL, V_COUNT, NULL,
       "Number of registered clients per wireless interface"}}},
    {ROS_G_WIRELESS,
     {"/interface/wifi/registration-table/print", "=.proplist=interface,mac-address,signal"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"interface", "interface"}, {"mac_address", "mac-address"}},
     {{"mktxp_wlan_clients_signal_strength", "signal", V_LEAD, NULL,
       "Signal strength of a registered client (dBm)"}}},
    {ROS_G_WIRELESS,
     {"/interface/wifi/registration-table/print", "=.proplist=interface"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"interface", "interface"}},
     {{"mktxp_wlan_registered_clients", NULL, V_COUNT, NULL,
       "Number of registered clients per wireless interface"}}},
    {ROS_G_LTE,
     {"/interface/lte/monitor", "=once="},
     A_LTE,
     "=numbers=",
     Q_ROWS,
     H_NONE,
     {{"name", "@arg"}, {"operator", "current-operator"}},
     {{"mktxp_lte_rssi", "rssi", V_NUM, NULL, "Received signal strength indicator (dBm)"},
      {"mktxp_lte_rsrp", "rsrp", V_NUM, NULL, "Reference signal received power (dBm)"},
      {"mktxp_lte_rsrq", "rsrq", V_NUM, NULL, "Reference signal received quality (dB)"},
      {"mktxp_lte_sinr", "sinr", V_NUM, NULL, "Signal to interference plus noise ratio (dB)"},
      {"mktxp_lte_registration_status", "registration-status", V_EQ, "registered",
       "1 when registered to a network"}}},
    {ROS_G_BGP,
     {"/routing/bgp/peer/print"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     BGP6_LABELS,
     {{"mktxp_bgp_established", "state", V_EQ, "established", "BGP session established (v6)"},
      {"mktxp_bgp_uptime", "uptime", V_DUR_MS, NULL, "BGP session uptime (milliseconds)"},
      {"mktxp_bgp_prefix_count", "prefix-count", V_NUM, NULL, "Prefixes received"},
      {"mktxp_bgp_remote_messages_total", "updates-received", V_NUM, NULL,
       "Messages (v6: updates) received"},
      {"mktxp_bgp_local_messages_total", "updates-sent", V_NUM, NULL,
       "Messages (v6: updates) sent"}}},
    {ROS_G_BGP,
     {"/routing/bgp/session/print"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     BGP7_LABELS,
     {{"mktxp_bgp_established", "established", V_BOOL, NULL, "BGP session established"},
      {"mktxp_bgp_uptime", "uptime", V_DUR_MS, NULL, "BGP session uptime (milliseconds)"},
      {"mktxp_bgp_prefix_count", "prefix-count", V_NUM, NULL, "Prefixes received"},
      {"mktxp_bgp_remote_messages_total", "remote.messages", V_NUM, NULL, "Messages received"},
      {"mktxp_bgp_local_messages_total", "local.messages", V_NUM, NULL, "Messages sent"}}},
    {ROS_G_QUEUE,
     {"/queue/simple/print", "=.proplist=name,bytes,packets,dropped,rate"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"name", "name"}},
     {{"mktxp_queue_simple_bytes_upload_total", "bytes", V_UP, NULL, "Upload bytes"},
      {"mktxp_queue_simple_bytes_download_total", "bytes", V_DOWN, NULL, "Download bytes"},
      {"routeros_queue_simple_packets_upload_total", "packets", V_UP, NULL, "Upload packets"},
      {"routeros_queue_simple_packets_download_total", "packets", V_DOWN, NULL,
       "Download packets"},
      {"mktxp_queue_simple_dropped_upload_total", "dropped", V_UP, NULL,
       "Upload packets dropped"},
      {"mktxp_queue_simple_dropped_download_total", "dropped", V_DOWN, NULL,
       "Download packets dropped"},
      {"mktxp_queue_simple_rates_upload", "rate", V_UP, NULL, "Upload rate (bits/s)"},
      {"mktxp_queue_simple_rates_download", "rate", V_DOWN, NULL, "Download rate (bits/s)"}}},
    {ROS_G_QUEUE,
     {"/queue/tree/print", "=.proplist=name,bytes,packets,dropped,rate"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"name", "name"}},
     {{"mktxp_queue_tree_bytes_total", "bytes", V_NUM, NULL, "Bytes through the queue"},
      {"routeros_queue_tree_packets_total", "packets", V_NUM, NULL, "Packets through the queue"},
      {"mktxp_queue_tree_dropped_total", "dropped", V_NUM, NULL, "Packets dropped"},
      {"mktxp_queue_tree_rates", "rate", V_NUM, NULL, "Rate (bits/s)"}}},
    {ROS_G_FIREWALL,
     {"/ip/firewall/filter/print", "=.proplist=chain,action,comment,log,bytes,packets"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     FW_LABELS,
     {{"mktxp_firewall_filter_total", "bytes", V_NUM, NULL, "Bytes matched by a filter rule"},
      {"routeros_firewall_filter_packets_total", "packets", V_NUM, NULL,
       "Packets matched by a filter rule"}}},
    {ROS_G_FIREWALL,
     {"/ip/firewall/nat/print", "=.proplist=chain,action,comment,log,bytes,packets"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     FW_LABELS,
     {{"routeros_firewall_nat_bytes_total", "bytes", V_NUM, NULL, "Bytes matched by a NAT rule"},
      {"routeros_firewall_nat_packets_total", "packets", V_NUM, NULL,
       "Packets matched by a NAT rule"}}},
    {ROS_G_HEALTH,
     {"/system/health/print"},
     A_NONE,
     NULL,
     Q_PIVOT,
     H_NONE,
     {{0}},
     {{"mktxp_system_routerboard_voltage", "voltage", V_NUM, NULL, "Supply voltage (V)"},
      {"mktxp_system_routerboard_temperature", "temperature", V_NUM, NULL,
       "Board temperature (Celsius)"},
      {"mktxp_system_cpu_temperature", "cpu-temperature", V_NUM, NULL,
       "CPU temperature (Celsius)"},
      {"mktxp_system_fan_one_speed", "fan1-speed", V_NUM, NULL, "Fan 1 speed (RPM)"},
      {"mktxp_system_fan_two_speed", "fan2-speed", V_NUM, NULL, "Fan 2 speed (RPM)"}}},
    {ROS_G_HARDWARE,
     {"/system/routerboard/print", "=.proplist=model,serial-number,current-firmware"},
     A_NONE,
     NULL,
     Q_ROWS,
     H_NONE,
     {{"model", "model"}, {"serial_number", "serial-number"}, {"firmware", "current-firmware"}},
     {{"routeros_system_routerboard_info", NULL, V_ONE, NULL,
       "Routerboard model, serial number and firmware (value 1)"}}},
};

#define NQDEFS (sizeof qdefs / sizeof qdefs[0])
_Static_assert(NQDEFS <= sizeof(((struct ros_memory *)0)->missing), "ros_memory.missing too small");

static const struct {
    const char *name;
    int64_t tier_ms;
} groups[ROS_G_COUNT] = {
    [ROS_G_SYSTEM] = {"system", 5000},       [ROS_G_INTERFACE] = {"interface", 5000},
    [ROS_G_CONNTRACK] = {"conntrack", 5000}, [ROS_G_IFERRORS] = {"interface_errors", 60000},
    [ROS_G_LINK] = {"link", 60000},          [ROS_G_PPP] = {"ppp", 60000},
    [ROS_G_DHCP] = {"dhcp", 60000},          [ROS_G_PING] = {"ping", 60000},
    [ROS_G_WIRELESS] = {"wireless", 60000},  [ROS_G_LTE] = {"lte", 60000},
    [ROS_G_BGP] = {"bgp", 300000},           [ROS_G_QUEUE] = {"queue", 300000},
    [ROS_G_FIREWALL] = {"firewall", 300000}, [ROS_G_HEALTH] = {"health", 3600000},
    [ROS_G_HARDWARE] = {"hardware", 3600000},
};

const char *ros_group_name(enum ros_group g) { return g < ROS_G_COUNT ? groups[g].name : "?"; }
int64_t ros_group_tier_ms(enum ros_group g) { return g < ROS_G_COUNT ? groups[g].tier_ms : 0; }

int ros_group_find(const char *name)
{
    for (int i = 0; i < ROS_G_COUNT; i++)
        if (strcmp(groups[i].name, name) == 0)
            return i;
    return -1;
}

enum ros_group ros_query_group(int def)
{
    return def >= 0 && (size_t)def < NQDEFS ? qdefs[def].group : ROS_G_COUNT;
}

const char *ros_query_path(int def)
{
    return def >= 0 && (size_t)def < NQDEFS ? qdefs[def].words[0] : "?";
}

size_t ros_catalog_metrics(void)
{
    size_t n = 0;
    for (size_t i = 0; i < NQDEFS; i++)
        for (size_t j = 0; j < 12 && qdefs[i].metrics[j].name; j++)
            n++;
    return n;
}

const char *ros_catalog_metric(size_t k, const char **help, const char **group)
{
    for (size_t i = 0; i < NQDEFS; i++)
        for (size_t j = 0; j < 12 && qdefs[i].metrics[j].name; j++)
            if (k-- == 0) {
                if (help)
                    *help = qdefs[i].metrics[j].help;
                if (group)
                    *group = groups[qdefs[i].group].name;
                return qdefs[i].metrics[j].name;
            }
    return NULL;
}

void ros_run_init(struct ros_run *r) { memset(r, 0, sizeof *r); }

void ros_run_reset(struct ros_run *r)
{
    for (size_t i = 0; i < r->n; i++)
        buf_fini(&r->q[i].rows);
    r->n = 0;
}

void ros_run_fini(struct ros_run *r)
{
    ros_run_reset(r);
    free(r->q);
    memset(r, 0, sizeof *r);
}

static int add_query(struct ros_run *r, int def, const char *arg)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct ros_query *q = realloc(r->q, cap * sizeof *q);
        if (q == NULL)
            return -ENOMEM;
        r->q = q;
        r->cap = cap;
    }
    struct ros_query *q = &r->q[r->n++];
    memset(q, 0, sizeof *q);
    q->def = def;
    buf_init(&q->rows, 16u * 1024 * 1024);
    const struct qdef *d = &qdefs[def];
    for (size_t i = 0; i < 5 && d->words[i]; i++)
        q->words[q->nwords++] = d->words[i];
    if (arg) {
        snprintf(q->arg, sizeof q->arg, "%s", arg);
        snprintf(q->argword, sizeof q->argword, "%s%s", d->argkey, arg);
    }
    return 0;
}

/* The next comma-separated name of list at *pos into out. */
static bool next_name(const char *list, size_t *pos, char *out, size_t cap)
{
    const char *p = list + *pos;
    if (*p == 0)
        return false;
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    snprintf(out, cap, "%.*s", (int)n, p);
    *pos += n + (c ? 1 : 0);
    return true;
}

int ros_catalog_plan(struct ros_run *r, enum ros_group g, const struct ros_memory *mem,
                     const char *const *pings, size_t npings)
{
    size_t before = r->n;
    for (size_t i = 0; i < NQDEFS; i++) {
        const struct qdef *d = &qdefs[i];
        if (d->group != g || mem->missing[i])
            continue;
        int rc = 0;
        switch (d->argsrc) {
        case A_NONE: rc = add_query(r, (int)i, NULL); break;
        case A_ETHERS:
            if (mem->ethers[0])
                rc = add_query(r, (int)i, mem->ethers);
            break;
        case A_LTE: {
            size_t pos = 0;
            char name[64];
            while (rc == 0 && next_name(mem->ltes, &pos, name, sizeof name))
                rc = add_query(r, (int)i, name);
            break;
        }
        case A_PING:
            for (size_t k = 0; rc == 0 && k < npings; k++)
                rc = add_query(r, (int)i, pings[k]);
            break;
        }
        if (rc != 0)
            return rc;
    }
    return r->n > before ? 0 : 1;
}

/* ---- rendering ---- */

/* Field `key` of the row at p (see struct ros_query.rows). */
static bool row_get(const char *p, const char *key, struct strv *v)
{
    while (*p) {
        const char *k = p;
        size_t kn = strlen(k);
        const char *val = k + kn + 1;
        size_t vn = strlen(val);
        if (strcmp(k, key) == 0) {
            *v = (struct strv){val, vn};
            return true;
        }
        p = val + vn + 1;
    }
    return false;
}

static const char *row_next(const char *p)
{
    while (*p) {
        p += strlen(p) + 1;
        p += strlen(p) + 1;
    }
    return p + 1;
}

/* Pivot v7's name/value rows into one row "name\0value\0…"; rows without a
 * name field (v6: one row of fields) are copied. */
static int pivot(const struct ros_query *q, struct buf *out)
{
    const char *p = q->rows.p;
    for (size_t i = 0; i < q->nrows; i++, p = row_next(p)) {
        struct strv n, v;
        if (row_get(p, "name", &n) && row_get(p, "value", &v)) {
            if (buf_append(out, n.p, n.n + 1) != 0 || buf_append(out, v.p, v.n + 1) != 0)
                return -ENOMEM;
            continue;
        }
        const char *end = row_next(p) - 1;
        if (buf_append(out, p, (size_t)(end - p)) != 0)
            return -ENOMEM;
    }
    return buf_putc(out, 0);
}

static int value_of(const struct mdef *m, const char *row, const struct ros_query *q, double *v)
{
    struct strv s = {0};
    if (m->how == V_ONE) {
        *v = 1;
        return 0;
    }
    if (m->how == V_RET)
        return ros_num(strv_c(q->ret), v);
    if (!row_get(row, m->field, &s))
        return TIDE_ENOTFOUND;
    switch (m->how) {
    case V_NUM: return ros_num(s, v);
    case V_BOOL: return ros_bool(s, v);
    case V_DUR_S: return ros_duration(s, v);
    case V_DUR_MS: {
        int rc = ros_duration(s, v);
        *v *= 1000;
        return rc;
    }
    case V_UP: return ros_pair(s, 0, v);
    case V_DOWN: return ros_pair(s, 1, v);
    case V_LEAD: return ros_lead_num(s, v);
    case V_BITRATE: return ros_bitrate(s, v);
    case V_PCT: {
        int rc = ros_num(s, v);
        *v /= 100;
        return rc;
    }
    case V_EQ:
        *v = strv_eq_c(s, m->arg) ? 1 : 0;
        return 0;
    default: return TIDE_EINVAL;
    }
}

struct render {
    struct batch *out;
    const struct ros_memory *mem;
    const char *address;
    int64_t now_ms;
    int series;
};

/* Label `l` of row into buf `tmp` (a view into the row or into tmp). */
static struct strv label_value(const struct ldef *l, const char *row, const struct ros_query *q,
                               char *tmp, size_t cap)
{
    struct strv v = {0};
    if (strcmp(l->field, "@arg") == 0)
        return strv_c(q->arg);
    if (strcmp(l->field, "@fwname") == 0) {
        struct strv c = {0}, a = {0}, m = {0};
        row_get(row, "chain", &c);
        row_get(row, "action", &a);
        row_get(row, "comment", &m);
        int n = snprintf(tmp, cap, "| %.*s | %.*s | %.*s", (int)c.n, c.p ? c.p : "", (int)a.n,
                         a.p ? a.p : "", (int)m.n, m.p ? m.p : "");
        return (struct strv){tmp, n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1};
    }
    row_get(row, l->field, &v);
    return v;
}

static int emit(struct render *rd, const struct qdef *d, const struct mdef *m, const char *row,
                const struct ros_query *q, double v)
{
    struct batch *b = rd->out;
    int rc = batch_begin_series(b);
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("__name__"), strv_c(m->name));
    if (rc == 0 && rd->mem->identity[0]) {
        const char *id = batch_strdup(b, rd->mem->identity, strlen(rd->mem->identity));
        rc = id ? batch_add_label(b, STRV_LIT("routerboard_name"), strv_c(id)) : -ENOMEM;
    }
    if (rc == 0)
        rc = batch_add_label(b, STRV_LIT("routerboard_address"), strv_c(rd->address));
    for (size_t i = 0; rc == 0 && i < 6 && d->labels[i].label; i++) {
        char tmp[300];
        struct strv lv = label_value(&d->labels[i], row, q, tmp, sizeof tmp);
        if (lv.n == 0)
            continue;
        const char *copy = batch_strdup(b, lv.p, lv.n);
        rc = copy ? batch_add_label(b, strv_c(d->labels[i].label), (struct strv){copy, lv.n})
                  : -ENOMEM;
    }
    if (rc == 0)
        rc = batch_add_sample(b, rd->now_ms, v);
    if (rc == 0)
        rc = batch_end_series(b);
    if (rc != 0) {
        batch_abort_series(b);
        return rc;
    }
    rd->series++;
    return 0;
}

/* V_COUNT: one series per distinct label set with the number of rows. */
static int emit_counts(struct render *rd, const struct qdef *d, const struct mdef *m,
                       const struct ros_query *q)
{
    const char *p = q->rows.p;
    const char **firsts = calloc(q->nrows ? q->nrows : 1, sizeof *firsts);
    size_t *counts = calloc(q->nrows ? q->nrows : 1, sizeof *counts);
    size_t nk = 0;
    int rc = firsts && counts ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < q->nrows; i++, p = row_next(p)) {
        size_t k;
        for (k = 0; k < nk; k++) {
            bool same = true;
            for (size_t j = 0; same && j < 6 && d->labels[j].label; j++) {
                char t1[300], t2[300];
                same = strv_eq(label_value(&d->labels[j], p, q, t1, sizeof t1),
                               label_value(&d->labels[j], firsts[k], q, t2, sizeof t2));
            }
            if (same)
                break;
        }
        if (k == nk)
            firsts[nk++] = p;
        counts[k]++;
    }
    for (size_t k = 0; rc == 0 && k < nk; k++)
        rc = emit(rd, d, m, firsts[k], q, (double)counts[k]);
    free(firsts);
    free(counts);
    return rc;
}

static int render_query(struct render *rd, const struct ros_query *q)
{
    const struct qdef *d = &qdefs[q->def];
    if (!q->done || q->trapped)
        return 0;
    struct buf piv;
    buf_init(&piv, 0);
    const char *rows = q->rows.p ? q->rows.p : "";
    size_t nrows = q->nrows;
    if (d->mode == Q_PIVOT) {
        if (pivot(q, &piv) != 0) {
            buf_fini(&piv);
            return -ENOMEM;
        }
        rows = piv.p;
        nrows = 1;
    }
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < 12 && d->metrics[j].name; j++) {
        const struct mdef *m = &d->metrics[j];
        if (m->how == V_COUNT) {
            rc = emit_counts(rd, d, m, q);
            continue;
        }
        if (d->mode == Q_COUNT) {
            double v;
            if (value_of(m, "", q, &v) == 0)
                rc = emit(rd, d, m, "", q, v);
            continue;
        }
        const char *p = rows;
        for (size_t i = 0; rc == 0 && i < nrows; i++, p = row_next(p)) {
            if (d->mode == Q_LAST && i + 1 < nrows)
                continue;
            double v;
            if (value_of(m, p, q, &v) == 0)
                rc = emit(rd, d, m, p, q, v);
        }
    }
    buf_fini(&piv);
    return rc;
}

/* Hooks: what a query teaches about the device. */
static void learn(const struct ros_query *q, struct ros_memory *mem)
{
    const struct qdef *d = &qdefs[q->def];
    if (!q->done || q->trapped)
        return;
    const char *p = q->rows.p ? q->rows.p : "";
    if (d->hook == H_IDENTITY && q->nrows > 0) {
        struct strv v;
        if (row_get(p, "name", &v))
            snprintf(mem->identity, sizeof mem->identity, "%.*s", (int)v.n, v.p);
    }
    if (d->hook == H_IFNAMES) {
        size_t ne = 0, nl = 0;
        mem->ethers[0] = mem->ltes[0] = 0;
        for (size_t i = 0; i < q->nrows; i++, p = row_next(p)) {
            struct strv t, n;
            if (!row_get(p, "type", &t) || !row_get(p, "name", &n) || memchr(n.p, ',', n.n))
                continue;
            char *list = strv_eq_c(t, "ether") ? mem->ethers : strv_eq_c(t, "lte") ? mem->ltes : NULL;
            size_t *len = list == mem->ethers ? &ne : &nl;
            size_t cap = list == mem->ethers ? sizeof mem->ethers : sizeof mem->ltes;
            if (list == NULL || *len + n.n + 2 > cap)
                continue;
            int w = snprintf(list + *len, cap - *len, "%s%.*s", *len ? "," : "", (int)n.n, n.p);
            *len += (size_t)w;
        }
    }
}

int ros_catalog_render(const struct ros_run *r, struct ros_memory *mem, const char *address,
                       int64_t now_ms, struct batch *out)
{
    for (size_t i = 0; i < r->n; i++)
        learn(&r->q[i], mem);
    struct render rd = {out, mem, address, now_ms, 0};
    for (size_t i = 0; i < r->n; i++) {
        int rc = render_query(&rd, &r->q[i]);
        if (rc != 0)
            return rc;
    }
    return rd.series;
}
