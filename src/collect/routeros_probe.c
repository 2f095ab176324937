/* routeros_probe.c: "test connection" for one router (routeros.h): connect,
 * log in, read /system/resource and /system/identity, report version,
 * board and identity, or exactly why not (enum ros_fail and a message that
 * never holds the password). Blocking, with its own poll() loop over one
 * connection; used by `tide routeros test` and POST /api/v1/targets/test. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "collect/routeros.h"
#include "core/time.h"

struct probe_state {
    struct ros_probe *out;
    int answered; /* !done of tags 1 and 2 */
    char trap[160];
};

static void copy(char *dst, size_t cap, const struct ros_sentence *s, const char *key)
{
    struct strv v;
    if (ros_get(s, key, &v))
        snprintf(dst, cap, "%.*s", (int)(v.n < cap ? v.n : cap - 1), v.p);
}

static void on_sentence(void *ctx, const struct ros_sentence *s, enum ros_drop why)
{
    struct probe_state *ps = ctx;
    if (s == NULL)
        return;
    bool res = strv_eq_c(s->tag, "1"), ident = strv_eq_c(s->tag, "2");
    if (!res && !ident)
        return;
    if (s->type == ROS_RE && res) {
        copy(ps->out->version, sizeof ps->out->version, s, "version");
        copy(ps->out->board, sizeof ps->out->board, s, "board-name");
        copy(ps->out->uptime, sizeof ps->out->uptime, s, "uptime");
    } else if (s->type == ROS_RE && ident) {
        copy(ps->out->identity, sizeof ps->out->identity, s, "name");
    } else if (s->type == ROS_TRAP) {
        copy(ps->trap, sizeof ps->trap, s, "message");
    } else if (s->type == ROS_DONE) {
        ps->answered++;
    }
}

int ros_probe(const struct ros_conn_cfg *cfg, struct ros_probe *out)
{
    memset(out, 0, sizeof *out);
    struct probe_state ps = {.out = out};
    struct ros_conn *c = NULL;
    struct err e;
    err_clear(&e);
    int64_t t0 = time_mono_ns();
    int rc = ros_conn_new(cfg, on_sentence, &ps, &c, &e);
    if (rc == 0)
        rc = ros_conn_open(c, t0, &e);
    bool sent = false;
    int64_t cmd_deadline = 0;
    while (rc == 0 && ps.answered < 2) {
        int64_t now = time_mono_ns();
        if (!sent && ros_conn_state(c) == ROS_C_READY) {
            const char *w1[] = {"/system/resource/print", ".tag=1"};
            const char *w2[] = {"/system/identity/print", ".tag=2"};
            if (ros_conn_send(c, w1, 2) != 0 || ros_conn_send(c, w2, 2) != 0) {
                rc = ERR_SET(&e, -ENOMEM, "out of memory");
                break;
            }
            sent = true;
            cmd_deadline = now + cfg->timeout_ms * 1000000;
        }
        if (sent && now >= cmd_deadline) {
            out->fail = ROS_F_TIMEOUT;
            rc = ERR_SET(&e, -ETIMEDOUT,
                         "logged in, but /system/resource got no answer within %lldms",
                         (long long)cfg->timeout_ms);
            break;
        }
        int64_t dl = sent ? cmd_deadline : ros_conn_deadline(c);
        int wait = dl > now ? (int)((dl - now) / 1000000) + 1 : 0;
        struct pollfd p = {.fd = ros_conn_fd(c), .events = ros_conn_events(c)};
        int pr = poll(&p, 1, wait);
        rc = ros_conn_io(c, pr > 0 ? p.revents : 0, time_mono_ns(), &e);
        if (rc != 0)
            out->fail = ros_conn_fail(c);
    }
    if (rc == 0 && ps.trap[0]) {
        out->fail = ROS_F_AUTH;
        rc = ERR_SET(&e, -EACCES, "logged in, but the user may not read /system: %s", ps.trap);
    }
    if (rc != 0) {
        if (out->fail == ROS_OK)
            out->fail = ROS_F_IO;
        snprintf(out->error, sizeof out->error, "%s", e.msg);
    }
    ros_conn_free(c);
    out->elapsed_s = (double)(time_mono_ns() - t0) / 1e9;
    return rc;
}
