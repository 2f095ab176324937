/* test_host_names.c: Tide's host metrics against node_exporter's. When
 * Debian's prometheus-node-exporter is installed (scripts/deps.sh test), it
 * is started on 127.0.0.1:<free port> with the collectors Tide mirrors, its
 * /metrics is fetched with libcurl, and every node_* series Tide emits must
 * exist there under the same name with the same label names (Tide's own
 * `instance` and `job` aside: Prometheus adds those at scrape time). The
 * exporter is stopped by its pid. Skipped when the exporter is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"
#include "host_collect.h"

#define EXPORTER "/usr/bin/prometheus-node-exporter"

extern char **environ;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    return buf_append(ctx, p, size * n) == 0 ? size * n : 0;
}

/* "name label,label,..." for one exposition line, into key[cap]. */
static bool line_key(const char *line, char *key, size_t cap)
{
    size_t n = strcspn(line, "{ ");
    if (n == 0 || n + 2 >= cap)
        return false;
    memcpy(key, line, n);
    size_t k = n;
    key[k++] = ' ';
    if (line[n] == '{') {
        const char *p = line + n + 1;
        while (*p && *p != '}') {
            size_t ln = strcspn(p, "=");
            if (k + ln + 2 >= cap)
                return false;
            if (key[k - 1] != ' ')
                key[k++] = ',';
            memcpy(key + k, p, ln);
            k += ln;
            p += ln + 1; /* at the opening quote */
            if (*p != '"')
                return false;
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p == '"')
                p++;
            if (*p == ',')
                p++;
        }
    }
    key[k] = 0;
    return true;
}

static void test_names(void **state)
{
    if (access(EXPORTER, X_OK) != 0)
        skip();
    int port = free_port();
    assert_true(port > 0);
    char listen[64];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", port);
    char *argv[] = {"prometheus-node-exporter",
                    listen,
                    "--collector.disable-defaults",
                    "--collector.cpu",
                    "--collector.meminfo",
                    "--collector.filesystem",
                    "--collector.diskstats",
                    "--collector.netdev",
                    "--collector.loadavg",
                    "--collector.stat",
                    "--collector.time",
                    "--collector.uname",
                    "--collector.netclass",
                    "--collector.processes",
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, EXPORTER, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);

    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    struct buf body;
    buf_init(&body, 64 << 20);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    CURLcode cc = CURLE_COULDNT_CONNECT;
    for (int i = 0; i < 200 && cc != CURLE_OK; i++) {
        buf_reset(&body);
        cc = curl_easy_perform(c);
        if (cc != CURLE_OK) {
            struct timespec ts = {0, 50000000};
            nanosleep(&ts, NULL);
        }
    }
    curl_easy_cleanup(c);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    assert_int_equal(cc, CURLE_OK);

    /* Tide's side: every group but service, twice (proc needs a delta) */
    struct host_opts o;
    struct batch b;
    struct host_collector *h = real_collector(&o, &b);
    for (int round = 0; round < 2; round++) {
        batch_reset(&b);
        for (int g = 0; g < HOST_NGROUPS; g++)
            host_collect_group(h, (enum host_group)g, time_now_ms(), &b, NULL);
    }

    size_t checked = 0, bad = 0;
    for (size_t i = 0; i < b.nseries; i++) {
        const struct batch_series *s = &b.series[i];
        const struct label *l = b.labels + s->label_off;
        struct strv name = labels_get(l, s->nlabels, STRV_LIT("__name__"));
        if (name.n < 5 || memcmp(name.p, "node_", 5) != 0)
            continue;
        char key[1024];
        size_t k = (size_t)snprintf(key, sizeof key, "%.*s ", (int)name.n, name.p);
        for (size_t j = 0; j < s->nlabels; j++) { /* sorted by name already */
            struct strv ln = l[j].name;
            if (strv_eq_c(ln, "__name__") || strv_eq_c(ln, "instance") || strv_eq_c(ln, "job"))
                continue;
            k += (size_t)snprintf(key + k, sizeof key - k, "%s%.*s", key[k - 1] == ' ' ? "" : ",",
                                  (int)ln.n, ln.p);
        }
        /* is there a line of the exporter with this name and label names? */
        bool found = false;
        char *save = NULL, *copy = strdup(body.p);
        for (char *line = strtok_r(copy, "\n", &save); line && !found;
             line = strtok_r(NULL, "\n", &save)) {
            char lk[1024];
            if (line[0] != '#' && line_key(line, lk, sizeof lk))
                found = strcmp(lk, key) == 0;
        }
        free(copy);
        checked++;
        if (!found) {
            bad++;
            print_error("not in node_exporter: %s\n", key);
        }
    }
    print_message("checked %zu node_* series against node_exporter, %zu differ\n", checked, bad);
    assert_true(checked > 30);
    assert_int_equal(bad, 0);
    batch_fini(&b);
    host_collector_free(h);
    buf_fini(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
