/* host_mem.c: the "mem" group of the host collector: every /proc/meminfo
 * line becomes node_memory_<Field>, as node_exporter's meminfo collector
 * names it:
 *   "Active(anon):  1568 kB"  →  node_memory_Active_anon_bytes 1605632
 *   "HugePages_Total:    0"   →  node_memory_HugePages_Total 0
 * A "(x)" in the key becomes "_x"; a value with a unit (always kB) is
 * multiplied by 1024 and the name gets "_bytes"; a value without one is a
 * count and keeps its name. Any other byte not allowed in a metric name
 * becomes '_'. Fields the kernel adds later appear without code changes.
 */
#include <errno.h>
#include <string.h>

#include "collect/host_int.h"

#define PREFIX "node_memory_"

/* Build the metric name for a meminfo key into the batch arena. */
static const char *mem_name(struct batch *b, struct strv key, bool bytes)
{
    char tmp[128];
    size_t n = 0;
    memcpy(tmp, PREFIX, sizeof PREFIX - 1);
    n = sizeof PREFIX - 1;
    for (size_t i = 0; i < key.n && n < sizeof tmp - 8; i++) {
        char c = key.p[i];
        if (c == '(') {
            tmp[n++] = '_';
        } else if (c == ')') {
            continue;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_') {
            tmp[n++] = c;
        } else {
            tmp[n++] = '_';
        }
    }
    if (bytes) {
        memcpy(tmp + n, "_bytes", 6);
        n += 6;
    }
    return batch_strdup(b, tmp, n);
}

static int collect_meminfo(struct host_collector *h, int64_t t, struct batch *b)
{
    struct strv text, line, key, val, unit;
    int rc = host__read(h, &h->f_meminfo, &text);
    if (rc < 0)
        return rc;
    size_t seen = 0;
    while (rc == 0 && host__line(&text, &line)) {
        uint64_t v;
        if (!host__tok(&line, &key) || key.n < 2 || key.p[key.n - 1] != ':')
            continue;
        key.n--;
        if (!host__tok(&line, &val) || !host__u64(val, &v))
            continue;
        bool bytes = host__tok(&line, &unit);
        const char *name = mem_name(b, key, bytes);
        if (name == NULL)
            return -ENOMEM;
        rc = host__emit(h, b, name, t, bytes ? (double)v * 1024.0 : (double)v, NULL, 0);
        seen++;
    }
    if (rc == 0 && seen == 0)
        rc = TIDE_EPARSE;
    return rc;
}

int host__collect_mem(struct host_collector *h, int64_t now_ms, struct batch *b, struct err *e)
{
    int rc = 0, r;
    if ((r = collect_meminfo(h, now_ms, b)) < 0)
        host__fail(e, &rc, r, "mem", h->f_meminfo.path);
    return rc;
}
