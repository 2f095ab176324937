/* fuzz/forward_config.c: the `remote_write:` section (remote/forward_config.c)
 * from arbitrary YAML, as a user copies it from a prometheus.yml. Checks,
 * beyond "no crash, no leak":
 *   - a refusal has a known code and a message, and leaves no endpoint;
 *   - every accepted endpoint has an http(s) URL, a name that is safe as a
 *     directory name and unique, headers of the form "Name: value" without
 *     line breaks, and a queue_config within its documented bounds.
 * A *_file key naming a file that exists on the fuzzing machine is fine:
 * the file is only read. */
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/yaml_tree.h"
#include "remote/forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct yaml_tree *t = NULL;
    struct err e = {0};
    if (yaml_tree_parse((const char *)data, size, "fuzz", &t, &e) != 0) {
        assert(t == NULL && e.msg[0]);
        return 0;
    }
    struct forward_config c;
    memset(&c, 0, sizeof c);
    err_clear(&e);
    int rc = forward_config_parse(&c, yaml_tree_root(t), &e);
    if (rc != 0) {
        assert(e.msg[0] != 0);
        assert(c.n == 0);
    }
    for (size_t i = 0; i < c.n; i++) {
        const struct forward_endpoint *ep = &c.ep[i];
        assert(strncmp(ep->url, "http://", 7) == 0 || strncmp(ep->url, "https://", 8) == 0);
        size_t n = strlen(ep->name);
        assert(n >= 1 && n <= FORWARD_NAME_MAX && ep->name[0] != '.');
        assert(strspn(ep->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
               n);
        for (size_t j = 0; j < i; j++)
            assert(strcmp(c.ep[j].name, ep->name) != 0);
        for (size_t h = 0; ep->headers && ep->headers[h]; h++) {
            assert(strstr(ep->headers[h], ": ") != NULL);
            assert(strpbrk(ep->headers[h], "\r\n") == NULL);
        }
        assert(ep->max_samples_per_send >= 1 && ep->batch_send_deadline_ms >= 10);
        assert(ep->min_backoff_ms >= 1 && ep->max_backoff_ms >= ep->min_backoff_ms);
        assert(ep->remote_timeout_ms >= 1);
    }
    forward_config_fini(&c);
    yaml_tree_free(t);
    return 0;
}
