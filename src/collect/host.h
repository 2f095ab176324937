/* host.h: the host collector, Tide's node_exporter. Reads /proc and /sys of
 * the machine Tide runs on and emits `struct batch`es with node_exporter's
 * metric names and labels (docs/collect/host.md lists every one).
 *
 * The work is split in groups, each collected at its own interval by the
 * targets manager (targets.h): cpu (also load, /proc/stat counters, time, host info),
 * mem, disk (filesystems and I/O), net, proc (top processes) and service.
 *
 * Every series carries `instance` (the host name unless configured) and
 * `job` ("tide" unless configured).
 *
 * Ownership: host_collector_new() copies everything it keeps from the opts;
 * the opts and their strings may be freed after it returns.
 * Thread: a collector belongs to one thread at a time (a targets-manager worker). It
 * keeps open file descriptors and buffers between calls, so one collection
 * allocates nothing in the steady state.
 */
#ifndef TIDE_COLLECT_HOST_H
#define TIDE_COLLECT_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "model/batch.h"

struct targets;
struct target_kind;

enum host_group {
    HOST_CPU,     /* node_cpu_*, node_load*, /proc/stat counters, time, tide_host_info */
    HOST_MEM,     /* node_memory_* from /proc/meminfo */
    HOST_DISK,    /* node_filesystem_* (mountinfo + statvfs), node_disk_* (diskstats) */
    HOST_NET,     /* node_network_* from /proc/net/dev and /sys/class/net */
    HOST_PROC,    /* tide_process_* for the top N by CPU, node_processes_* */
    HOST_SERVICE, /* tide_service_state for the configured services */
    HOST_NGROUPS
};

#define HOST_INTERVAL_DEFAULT_MS 10000
#define HOST_TOP_N_DEFAULT 5
#define HOST_SERVICE_TIMEOUT_DEFAULT_MS 2000
#define HOST_SERVICES_MAX 64

/* node_exporter 1.5's defaults, plus tmpfs (DESIGN.md: platform teams drop
 * tmpfs/overlay). Unanchored PCRE2 searches, as Go's regexp.MatchString. */
#define HOST_FS_MOUNT_EXCLUDE_DEFAULT                                                              \
    "^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)"
#define HOST_FS_TYPE_EXCLUDE_DEFAULT                                                               \
    "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|"        \
    "iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|"     \
    "sysfs|tmpfs|tracefs)$"
#define HOST_DISK_DEVICE_EXCLUDE_DEFAULT "^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\\d+n\\d+p)\\d+$"
#define HOST_NET_DEVICE_EXCLUDE_DEFAULT "^lo$"

/* What to collect and how. Fill with host_opts_init(), then override.
 * All strings are borrowed for the duration of host_collector_new() only. */
struct host_opts {
    const char *proc_root;             /* "/proc"; tests point it at fixtures */
    const char *sys_root;              /* "/sys" */
    const char *os_release_path;       /* "/etc/os-release" */
    const char *instance;              /* value of `instance`; NULL = gethostname() */
    const char *job;                   /* value of `job`; NULL = "tide" */
    const char *version;               /* `version` of tide_host_info; NULL = "unknown" */
    int64_t interval_ms[HOST_NGROUPS]; /* per group; 0 = default, < 0 = group disabled */
    const char *fs_mount_exclude;      /* regex; NULL = default, "" = exclude none */
    const char *fs_type_exclude;       /* regex; NULL = default, "" = exclude none */
    const char *disk_device_exclude;   /* regex; NULL = default, "" = exclude none */
    const char *net_device_exclude;    /* regex; NULL = default, "" = exclude none */
    unsigned top_n;                    /* processes emitted per interval; 0 = none */
    const char *const *services;       /* service names (systemd units or init scripts) */
    size_t nservices;                  /* at most HOST_SERVICES_MAX */
    int64_t service_timeout_ms;        /* per collection of all services; 0 = default */
    const char *systemctl_path;        /* force systemctl at this path; NULL = use
                                          /usr/bin/systemctl when systemd runs */
};

/* Defaults: real /proc and /sys, every group on, 10 s, top 5, no services. */
void host_opts_init(struct host_opts *o);

/* "cpu", "mem", "disk", "net", "proc", "service"; NULL when out of range. */
const char *host_group_name(enum host_group g);
/* The group named `name`, or -1. */
int host_group_parse(const char *name);

struct host_collector;

/* Create a collector. Compiles the exclusion regexes, resolves the host name,
 * reads os-release and uname once, and picks the service-status method. On
 * failure *out is NULL and the error (TIDE_EINVAL for a bad regex, -ENOMEM,
 * TIDE_ELIMIT for too many services) is returned with detail in `e`.
 * A missing /proc file is not an error here: it fails its group later. */
int host_collector_new(const struct host_opts *o, struct host_collector **out, struct err *e);
void host_collector_free(struct host_collector *h);

/* Append the series of one group, all stamped `now_ms`, to `out` (which is
 * not reset). The label bytes live in `out`'s arena or in static storage.
 * Partial failure is normal (a file missing in a container): whatever could
 * be read is still appended, and the first failure is returned, with `e`
 * naming the group and the file, e.g. "disk: /proc/diskstats: No such file".
 * Returns 0, -errno, TIDE_EPARSE or -ENOMEM. */
int host_collect_group(struct host_collector *h, enum host_group g, int64_t now_ms,
                       struct batch *out, struct err *e);

/* The interval of group g after defaults (ms); < 0 when disabled. */
int64_t host_group_interval_ms(const struct host_collector *h, enum host_group g);

/* The host collector as a targets-manager kind (host_target.c): kind name
 * "host", one target per enabled group, named "host/<group>" with the
 * group as its module. host_targets_add() registers the kind with
 * kind_ctx = h and adds those targets, all sharing `h` as their serial key
 * (a collector belongs to one thread at a time). `h` must outlive the
 * manager (targets_free()). */
extern const struct target_kind host_target_kind;
int host_targets_add(struct host_collector *h, struct targets *m, struct err *e);
/* The display-rate lease of the host collector (docs/ui.md#display-rate):
 * the groups running at the fastest configured interval of the "host"
 * targets in `m` (the storage interval, written to *storage_ms; 0 when
 * there is none) run every display_ms until until_mono_ns, through
 * targets_lease_interval(). Slower groups (processes every minute, say)
 * keep their interval. display_ms 0, or one not faster than the storage
 * interval, ends the lease at once. 0, or the first error of
 * targets_lease_interval(). Thread-safe. */
int host_targets_lease(struct targets *m, int64_t display_ms, int64_t until_mono_ns,
                       int64_t *storage_ms);
/* The storage interval of the "host" targets in `m`: their fastest
 * configured interval (ms), 0 when there is none. Thread-safe. */
int64_t host_targets_storage_ms(struct targets *m);
/* The `instance` label the collector gives its series; valid until
 * host_collector_free(). */
const char *host_collector_instance(const struct host_collector *h);

#endif
