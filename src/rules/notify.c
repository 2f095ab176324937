/* notify.c: the notifier (notify.h): alerts rendered to JSON when a group
 * hands them over, queued per target (newest state per alert), and sent by
 * one thread through core/http_client.h, with retries and, given a
 * directory, a queue file per target that survives a restart.
 *
 * Queue file (queue_dir/notify-<i>.queue, rewritten atomically): one line
 * per queued alert, "<fingerprint hex> <resolved 0|1>\t<Alertmanager JSON>
 * \t<webhook JSON>\n"; JSON has no raw tab or newline, so the split is
 * unambiguous. A target's file is only read back when its URL matches the
 * first line ("# <url>").
 */
#include "rules/notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fs.h"
#include "core/http_client.h"
#include "core/loop.h"
#include "core/selfmetrics.h"
#include "core/time.h"
#include "rules/notify_sd.h"

#define NOTIFY_BACKOFF_MIN_MS 1000
#define NOTIFY_BACKOFF_MAX_MS 10000

struct qitem {
    uint64_t fp;   /* labels_hash() of the labels sent */
    uint64_t seq;  /* notifier-wide order of arrival */
    bool resolved; /* endsAt is a resolution time */
    char *am;      /* Alertmanager v2 object */
    char *wh;      /* webhook object */
};

/* One target and its queue. Fields after `mu` in struct notifier guard. */
struct tq {
    struct notify_target t;
    struct http_client *client; /* sender thread only */
    struct qitem *v;            /* oldest first */
    size_t n, cap;
    int64_t next_try_ms; /* monotonic ms; 0 = now */
    int64_t backoff_ms;
    bool dirty; /* queue changed since the file was written */
    uint64_t sent, errors, dropped;
    char last_error[NOTIFY_ERROR_MAX]; /* of the last attempt; "" after a success */
    int64_t last_send_ms;              /* wall time of the last attempt; 0 = none */
};

/* What discovery last found for one notify_sd. */
struct sd_state {
    bool read;       /* resolved at least once since the last (re)configuration */
    uint64_t fp;     /* notify_sd_fingerprint() when last read */
    int64_t last_ms; /* monotonic ms of the last read */
    struct notify_sd_result res; /* under mu (the API reads `dropped`) */
    char error[NOTIFY_ERROR_MAX]; /* of the last read; "" = fine */
};

struct notifier {
    struct tq q[NOTIFY_TARGETS_MAX]; /* guarded by mu, but for client */
    size_t nq;
    /* q[0..nstatic) are the configured targets, q[nstatic..nq) the
     * discovered ones, changed only by the sender thread (under mu). */
    size_t nstatic;
    const struct notify_sd *sd; /* borrowed */
    size_t nsd;
    struct sd_state sdst[NOTIFY_SD_MAX];
    struct label *ext; /* alert_labels_dup() block */
    size_t next;
    const struct relabel_config *relabel; /* borrowed; NULL = none */
    struct relabel_set rl;                /* scratch for it, under mu */
    char *url;
    char *dir; /* NULL = no queue files */
    pthread_mutex_t mu;
    uint64_t seq;
    uint64_t relabel_dropped; /* alerts alert_relabel_configs dropped */
    struct loop loop;
};

/* ---- JSON ---- */

static int jstr(struct buf *b, const char *p, size_t n)
{
    int rc = buf_putc(b, '"');
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            rc = buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            rc = buf_printf(b, "\\u%04x", c);
        else
            rc = buf_putc(b, (char)c);
    }
    return rc ? rc : buf_putc(b, '"');
}

static int jmap(struct buf *b, const struct label *v, size_t n)
{
    int rc = buf_putc(b, '{');
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = i ? buf_putc(b, ',') : 0;
        rc |= jstr(b, v[i].name.p, v[i].name.n);
        rc |= buf_putc(b, ':');
        rc |= jstr(b, v[i].value.p, v[i].value.n);
    }
    return rc ? rc : buf_putc(b, '}');
}

/* Go's url.QueryEscape. */
static int query_escape(struct buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            rc = buf_putc(b, (char)c);
        else if (c == ' ')
            rc = buf_putc(b, '+');
        else
            rc = buf_printf(b, "%%%02X", c);
    }
    return rc;
}

/* ---- queue ---- */

static void item_free(struct qitem *it)
{
    free(it->am);
    free(it->wh);
}

/* Put `it` in target q's queue (mu held), replacing the same alert. */
static void enqueue(struct tq *q, const struct qitem *it)
{
    for (size_t i = 0; i < q->n; i++)
        if (q->v[i].fp == it->fp) {
            item_free(&q->v[i]);
            memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof *q->v);
            q->n--;
            break;
        }
    if (q->n == NOTIFY_QUEUE_MAX) {
        item_free(&q->v[0]);
        memmove(&q->v[0], &q->v[1], (q->n - 1) * sizeof *q->v);
        q->n--;
        q->dropped++;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct qitem *v = realloc(q->v, cap * sizeof *v);
        if (v == NULL) {
            q->dropped++;
            return;
        }
        q->v = v;
        q->cap = cap;
    }
    struct qitem c = *it;
    c.am = strdup(it->am);
    c.wh = strdup(it->wh);
    if (c.am == NULL || c.wh == NULL) {
        item_free(&c);
        q->dropped++;
        return;
    }
    q->v[q->n++] = c;
    q->dirty = true;
}

int notifier_send(struct notifier *n, const char *expr, const struct alert *const *alerts,
                  size_t count)
{
    struct buf am, wh, ls;
    buf_init(&am, 1 << 20);
    buf_init(&wh, 1 << 20);
    buf_init(&ls, 0);
    int rc = 0;
    pthread_mutex_lock(&n->mu);
    if (n->nq == 0) /* no targets (until a reload brings some) */
        count = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const struct alert *a = alerts[i];
        /* Labels with the external labels the alert lacks (Prometheus'
         * notifier does the same), sorted. */
        struct label *v = malloc((a->nlabels + n->next + 1) * sizeof *v);
        if (v == NULL) {
            rc = -ENOMEM;
            break;
        }
        size_t k = 0;
        for (size_t j = 0; j < n->next; j++)
            if (labels_get(a->labels, a->nlabels, n->ext[j].name).p == NULL)
                v[k++] = n->ext[j];
        for (size_t j = 0; j < a->nlabels; j++)
            v[k++] = a->labels[j];
        labels_sort(v, k);
        if (n->relabel != NULL && n->relabel->n > 0) { /* alert_relabel_configs */
            bool keep = true;
            relabel_set_reset(&n->rl);
            for (size_t j = 0; j < k && rc == 0; j++)
                rc = relabel_set_put(&n->rl, v[j].name, v[j].value);
            if (rc == 0)
                rc = relabel_apply(n->relabel, &n->rl, &keep);
            if (rc != 0 || !keep || n->rl.n == 0) {
                free(v);
                if (rc == 0)
                    n->relabel_dropped++;
                continue;
            }
            relabel_set_sort(&n->rl);
            struct label *w = realloc(v, (n->rl.n + 1) * sizeof *w);
            if (w == NULL) {
                free(v);
                rc = -ENOMEM;
                break;
            }
            v = w;
            memcpy(v, n->rl.v, n->rl.n * sizeof *v);
            k = n->rl.n;
        }
        char starts[40], ends[40];
        time_format_rfc3339(a->fired_at_ms, starts, sizeof starts);
        time_format_rfc3339(a->resolved_at_ms ? a->resolved_at_ms : a->valid_until_ms, ends,
                            sizeof ends);
        buf_reset(&ls);
        rc = buf_puts(&ls, n->url);
        rc |= buf_puts(&ls, "/graph?g0.expr=");
        rc |= query_escape(&ls, expr);
        rc |= buf_puts(&ls, "&g0.tab=1");
        buf_reset(&am);
        buf_reset(&wh);
        rc |= buf_puts(&am, "{\"labels\":");
        rc |= jmap(&am, v, k);
        rc |= buf_puts(&am, ",\"annotations\":");
        rc |= jmap(&am, a->annotations, a->nannotations);
        rc |= buf_printf(&am, ",\"startsAt\":\"%s\",\"endsAt\":\"%s\",\"generatorURL\":", starts,
                         ends);
        rc |= jstr(&am, ls.p, ls.len);
        rc |= buf_putc(&am, '}');
        uint64_t fp = labels_hash(v, k);
        rc |= buf_printf(
            &wh, "{\"status\":\"%s\",\"labels\":", a->resolved_at_ms ? "resolved" : "firing");
        rc |= jmap(&wh, v, k);
        rc |= buf_puts(&wh, ",\"annotations\":");
        rc |= jmap(&wh, a->annotations, a->nannotations);
        rc |= buf_printf(&wh,
                         ",\"startsAt\":\"%s\",\"endsAt\":\"%s\",\"fingerprint\":\"%016" PRIx64
                         "\",\"generatorURL\":",
                         starts, a->resolved_at_ms ? ends : "0001-01-01T00:00:00Z", fp);
        rc |= jstr(&wh, ls.p, ls.len);
        rc |= buf_putc(&wh, '}');
        free(v);
        if (rc != 0)
            break;
        struct qitem it = {fp, ++n->seq, a->resolved_at_ms != 0, am.p, wh.p};
        for (size_t t = 0; t < n->nq; t++)
            enqueue(&n->q[t], &it);
    }
    pthread_mutex_unlock(&n->mu);
    buf_fini(&am);
    buf_fini(&wh);
    buf_fini(&ls);
    loop_wake(&n->loop);
    return rc;
}

/* ---- queue files ---- */

static void queue_path(const struct notifier *n, size_t i, char *out, size_t cap)
{
    snprintf(out, cap, "%s/notify-%zu.queue", n->dir, i);
}

static void write_queue(struct notifier *n, size_t i)
{
    struct buf b;
    buf_init(&b, 0);
    pthread_mutex_lock(&n->mu);
    struct tq *q = &n->q[i];
    int rc = buf_printf(&b, "# %s\n", q->t.url);
    for (size_t k = 0; k < q->n && rc == 0; k++)
        rc = buf_printf(&b, "%016" PRIx64 " %d\t%s\t%s\n", q->v[k].fp, q->v[k].resolved, q->v[k].am,
                        q->v[k].wh);
    q->dirty = false;
    pthread_mutex_unlock(&n->mu);
    char path[4200];
    queue_path(n, i, path, sizeof path);
    if (rc == 0)
        fs_write_file_atomic(path, b.p ? b.p : "", b.len);
    buf_fini(&b);
}

static void read_queue(struct notifier *n, size_t i)
{
    char path[4200];
    queue_path(n, i, path, sizeof path);
    char *text = NULL;
    size_t len = 0;
    if (fs_read_file(path, &text, &len) != 0)
        return;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (line == NULL || strncmp(line, "# ", 2) != 0 || strcmp(line + 2, n->q[i].t.url) != 0) {
        free(text);
        return;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 == NULL)
            continue;
        *t1 = 0;
        *t2 = 0;
        struct qitem it = {.seq = ++n->seq, .am = t1 + 1, .wh = t2 + 1};
        int resolved = 0;
        if (sscanf(line, "%" SCNx64 " %d", &it.fp, &resolved) != 2)
            continue;
        it.resolved = resolved != 0;
        enqueue(&n->q[i], &it);
    }
    n->q[i].dirty = false;
    free(text);
}

/* ---- sending ---- */

static int send_one(struct notifier *n, struct tq *q, const struct buf *body, struct err *e)
{
    const char *ct = "application/json";
    struct http_request rq = {
        .method = "POST",
        .url = q->t.url,
        .body = body->p,
        .body_len = body->len,
        .content_type = ct,
        .timeout_ms = q->t.timeout_ms > 0 ? q->t.timeout_ms : 10000,
    };
    struct http_response rs = {0};
    int rc = http_client_do(q->client, &rq, &rs, e);
    if (rc != 0)
        return rc;
    if (rs.status / 100 != 2)
        return ERR_SET(e, -EIO, "POST %s: HTTP status %d", q->t.url, rs.status);
    (void)n;
    return 0;
}

static void flush(struct notifier *n, size_t i, int64_t now)
{
    struct tq *q = &n->q[i];
    struct buf body;
    buf_init(&body, 64u << 20);
    uint64_t *fps = NULL, *seqs = NULL;
    size_t cnt = 0;
    pthread_mutex_lock(&n->mu);
    if (q->n == 0 || now < q->next_try_ms) {
        pthread_mutex_unlock(&n->mu);
        buf_fini(&body);
        return;
    }
    fps = malloc(q->n * sizeof *fps);
    seqs = malloc(q->n * sizeof *seqs);
    bool any_firing = false;
    int rc = fps && seqs ? 0 : -ENOMEM;
    if (q->t.kind == NOTIFY_WEBHOOK)
        for (size_t k = 0; k < q->n; k++)
            any_firing |= !q->v[k].resolved;
    if (q->t.kind == NOTIFY_WEBHOOK && rc == 0)
        rc = buf_printf(&body,
                        "{\"version\":\"4\",\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0,"
                        "\"status\":\"%s\",\"receiver\":\"tide\",\"groupLabels\":{},"
                        "\"commonLabels\":{},\"commonAnnotations\":{},\"externalURL\":",
                        any_firing ? "firing" : "resolved");
    if (q->t.kind == NOTIFY_WEBHOOK && rc == 0)
        rc = jstr(&body, n->url, strlen(n->url)) || buf_puts(&body, ",\"alerts\":");
    rc = rc ? rc : buf_putc(&body, '[');
    for (size_t k = 0; k < q->n && rc == 0; k++) {
        rc = (k ? buf_putc(&body, ',') : 0) ||
             buf_puts(&body, q->t.kind == NOTIFY_WEBHOOK ? q->v[k].wh : q->v[k].am);
        fps[cnt] = q->v[k].fp;
        seqs[cnt++] = q->v[k].seq;
    }
    rc = rc ? rc : buf_putc(&body, ']');
    if (q->t.kind == NOTIFY_WEBHOOK && rc == 0)
        rc = buf_putc(&body, '}');
    pthread_mutex_unlock(&n->mu);
    struct err e = {0};
    if (rc == 0)
        rc = send_one(n, q, &body, &e);
    pthread_mutex_lock(&n->mu);
    q->last_send_ms = time_now_ms();
    if (rc == 0)
        q->last_error[0] = 0;
    else
        snprintf(q->last_error, sizeof q->last_error, "%s",
                 e.msg[0] ? e.msg : tide_strerror(rc));
    if (rc == 0) {
        /* Drop what was sent, unless a newer state arrived meanwhile. */
        size_t w = 0;
        for (size_t k = 0; k < q->n; k++) {
            bool sent = false;
            for (size_t j = 0; j < cnt && !sent; j++)
                sent = fps[j] == q->v[k].fp && seqs[j] == q->v[k].seq;
            if (sent)
                item_free(&q->v[k]);
            else
                q->v[w++] = q->v[k];
        }
        q->n = w;
        q->sent += cnt;
        q->backoff_ms = 0;
        q->next_try_ms = 0;
        q->dirty = true;
    } else {
        q->errors++;
        q->backoff_ms = q->backoff_ms ? q->backoff_ms * 2 : NOTIFY_BACKOFF_MIN_MS;
        if (q->backoff_ms > NOTIFY_BACKOFF_MAX_MS)
            q->backoff_ms = NOTIFY_BACKOFF_MAX_MS;
        q->next_try_ms = now + q->backoff_ms;
    }
    pthread_mutex_unlock(&n->mu);
    free(fps);
    free(seqs);
    buf_fini(&body);
}

static int tq_client(struct tq *q, struct err *e);
static void tq_free(struct tq *q);
static void read_queue(struct notifier *n, size_t i);

/* Read the discovery files that changed (or whose refresh_interval
 * passed) and, when a resolution changed, rebuild q[nstatic..): a target
 * already there (same URL) keeps its queue and counters, with a client
 * made from its entry's current settings. Sender thread only. */
static void discover(struct notifier *n, int64_t now)
{
    bool changed = false;
    for (size_t i = 0; i < n->nsd; i++) {
        const struct notify_sd *sd = &n->sd[i];
        struct sd_state *st = &n->sdst[i];
        uint64_t fp = notify_sd_fingerprint(sd);
        if (st->read && fp == st->fp && now - st->last_ms < sd->refresh_ms)
            continue;
        st->read = true;
        st->fp = fp;
        st->last_ms = now;
        struct notify_sd_result r;
        struct err e = {0};
        int rc = notify_sd_resolve(sd, &r, &e);
        pthread_mutex_lock(&n->mu);
        if (rc != 0) { /* the previous targets stay */
            snprintf(st->error, sizeof st->error, "%s", e.msg);
        } else {
            st->error[0] = 0;
            notify_sd_result_fini(&st->res);
            st->res = r;
            changed = true;
        }
        pthread_mutex_unlock(&n->mu);
    }
    if (!changed)
        return;
    struct tq *fresh = calloc(NOTIFY_TARGETS_MAX, sizeof *fresh);
    if (fresh == NULL)
        return;
    size_t nf = 0;
    for (size_t i = 0; i < n->nsd; i++)
        for (size_t k = 0; k < n->sdst[i].res.nactive && n->nstatic + nf < NOTIFY_TARGETS_MAX;
             k++) {
            const char *url = n->sdst[i].res.active[k];
            bool dup = false;
            for (size_t j = 0; j < n->nstatic + nf && !dup; j++)
                dup = strcmp(j < n->nstatic ? n->q[j].t.url : fresh[j - n->nstatic].t.url,
                             url) == 0;
            if (dup)
                continue;
            struct tq *q = &fresh[nf];
            q->t = n->sd[i].base;
            snprintf(q->t.url, sizeof q->t.url, "%s", url);
            struct err e = {0};
            if (tq_client(q, &e) == 0)
                nf++;
        }
    pthread_mutex_lock(&n->mu);
    bool was_read[NOTIFY_TARGETS_MAX] = {false};
    for (size_t i = 0; i < nf; i++)
        for (size_t j = n->nstatic; j < n->nq; j++) {
            struct tq *old = &n->q[j];
            if (strcmp(old->t.url, fresh[i].t.url) != 0 || old->client == NULL)
                continue;
            struct http_client *c = fresh[i].client;
            struct notify_target t = fresh[i].t;
            fresh[i] = *old; /* queue, counters, backoff */
            fresh[i].client = c;
            fresh[i].t = t;
            old->v = NULL;
            old->n = old->cap = 0;
            http_client_free(old->client);
            old->client = NULL;
            was_read[i] = true;
            break;
        }
    struct tq gone[NOTIFY_TARGETS_MAX];
    size_t ngone = n->nq - n->nstatic;
    memcpy(gone, &n->q[n->nstatic], ngone * sizeof *gone);
    memcpy(&n->q[n->nstatic], fresh, nf * sizeof *fresh);
    n->nq = n->nstatic + nf;
    pthread_mutex_unlock(&n->mu);
    for (size_t j = 0; j < ngone; j++)
        tq_free(&gone[j]);
    free(fresh);
    for (size_t i = 0; n->dir && i < nf; i++)
        if (!was_read[i])
            read_queue(n, n->nstatic + i);
}

static void run(void *ctx, struct loop *l)
{
    struct notifier *n = ctx;
    (void)l;
    int64_t now = time_mono_ns() / 1000000;
    discover(n, now);
    for (size_t i = 0; i < n->nq; i++) {
        flush(n, i, now);
        pthread_mutex_lock(&n->mu);
        bool dirty = n->q[i].dirty;
        pthread_mutex_unlock(&n->mu);
        if (dirty && n->dir)
            write_queue(n, i);
    }
}

/* The HTTP client of a target (its auth and timeout). */
static int tq_client(struct tq *q, struct err *e)
{
    struct http_client_opts co = {
        .bearer_token = q->t.bearer,
        .basic_user = q->t.basic_user[0] ? q->t.basic_user : NULL,
        .basic_password = q->t.basic_password,
        .timeout_ms = q->t.timeout_ms > 0 ? q->t.timeout_ms : 10000,
        .max_redirects = q->t.max_redirects,
    };
    tls_config_client_opts(&q->t.tls, &co);
    return http_client_new(&co, &q->client, e);
}

static void tq_free(struct tq *q)
{
    http_client_free(q->client);
    for (size_t k = 0; k < q->n; k++)
        item_free(&q->v[k]);
    free(q->v);
    memset(q, 0, sizeof *q);
}

int notifier_new(struct notifier **out, const struct notifier_opts *o, struct err *e)
{
    *out = NULL;
    struct notifier *n = calloc(1, sizeof *n);
    if (n == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    pthread_mutex_init(&n->mu, NULL);
    n->ext = alert_labels_dup(o->external_labels, o->nexternal_labels);
    n->next = o->nexternal_labels;
    n->url = strdup(o->external_url ? o->external_url : "");
    n->dir = o->queue_dir ? strdup(o->queue_dir) : NULL;
    n->relabel = o->alert_relabel;
    relabel_set_init(&n->rl);
    int rc = n->ext && n->url && (n->dir || !o->queue_dir) ? 0 : -ENOMEM;
    if (rc == 0 && n->dir)
        rc = fs_mkdir_p(n->dir);
    n->nq = o->ntargets < NOTIFY_TARGETS_MAX ? o->ntargets : NOTIFY_TARGETS_MAX;
    n->nstatic = n->nq;
    n->sd = o->sd;
    n->nsd = o->nsd < NOTIFY_SD_MAX ? o->nsd : NOTIFY_SD_MAX;
    for (size_t i = 0; rc == 0 && i < n->nq; i++) {
        n->q[i].t = o->targets[i];
        rc = tq_client(&n->q[i], e);
        if (rc == 0 && n->dir)
            read_queue(n, i);
    }
    if (rc == 0)
        rc = loop_start(&n->loop, "tide-notify", run, n, 1000, e);
    if (rc != 0) {
        if (e->msg[0] == 0)
            ERR_SET(e, rc, "notifier: %s", tide_strerror(rc));
        notifier_free(n);
        return rc;
    }
    if (n->nq || n->nsd)
        loop_wake(&n->loop);
    *out = n;
    return 0;
}

int notifier_reconfigure(struct notifier *n, const struct notifier_opts *o, struct err *e)
{
    struct tq fresh[NOTIFY_TARGETS_MAX];
    memset(fresh, 0, sizeof fresh);
    size_t nf = o->ntargets < NOTIFY_TARGETS_MAX ? o->ntargets : NOTIFY_TARGETS_MAX;
    struct label *ext = alert_labels_dup(o->external_labels, o->nexternal_labels);
    char *url = strdup(o->external_url ? o->external_url : "");
    int rc = ext && url ? 0 : ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < nf; i++) {
        fresh[i].t = o->targets[i];
        rc = tq_client(&fresh[i], e);
    }
    if (rc != 0) {
        for (size_t i = 0; i < nf; i++)
            tq_free(&fresh[i]);
        free(ext);
        free(url);
        return rc;
    }
    /* The sender thread stops: from here on this thread owns every queue. */
    loop_stop(&n->loop);
    bool taken[NOTIFY_TARGETS_MAX] = {false};
    bool moved[NOTIFY_TARGETS_MAX] = {false};
    for (size_t i = 0; i < nf; i++)
        for (size_t j = 0; j < n->nq; j++) {
            struct tq *old = &n->q[j];
            if (taken[j] || old->t.kind != fresh[i].t.kind || strcmp(old->t.url, fresh[i].t.url) != 0)
                continue;
            /* the same target: its queue, counters and backoff carry over */
            fresh[i].v = old->v;
            fresh[i].n = old->n;
            fresh[i].cap = old->cap;
            fresh[i].next_try_ms = old->next_try_ms;
            fresh[i].backoff_ms = old->backoff_ms;
            fresh[i].dirty = true;
            fresh[i].sent = old->sent;
            fresh[i].errors = old->errors;
            fresh[i].dropped = old->dropped;
            memcpy(fresh[i].last_error, old->last_error, sizeof old->last_error);
            fresh[i].last_send_ms = old->last_send_ms;
            old->v = NULL;
            old->n = old->cap = 0;
            taken[j] = moved[i] = true;
            break;
        }
    /* Discovered targets stay after the new static ones until the next
     * discovery pass (right after the restart below) adopts or drops them,
     * so that their queues survive a reload. */
    size_t nkeep = nf;
    size_t nsd = o->nsd < NOTIFY_SD_MAX ? o->nsd : NOTIFY_SD_MAX;
    for (size_t j = n->nstatic; nsd > 0 && j < n->nq && nkeep < NOTIFY_TARGETS_MAX; j++)
        if (!taken[j]) {
            fresh[nkeep++] = n->q[j];
            n->q[j].client = NULL;
            n->q[j].v = NULL;
            n->q[j].n = n->q[j].cap = 0;
            taken[j] = true;
        }
    pthread_mutex_lock(&n->mu);
    struct tq gone[NOTIFY_TARGETS_MAX];
    size_t ngone = n->nq;
    memcpy(gone, n->q, sizeof gone);
    memcpy(n->q, fresh, sizeof fresh);
    n->nq = nkeep;
    n->nstatic = nf;
    n->sd = o->sd;
    n->nsd = nsd;
    for (size_t i = 0; i < NOTIFY_SD_MAX; i++) {
        notify_sd_result_fini(&n->sdst[i].res);
        memset(&n->sdst[i], 0, sizeof n->sdst[i]);
    }
    struct label *old_ext = n->ext;
    char *old_url = n->url;
    n->ext = ext;
    n->next = o->nexternal_labels;
    n->url = url;
    n->relabel = o->alert_relabel;
    pthread_mutex_unlock(&n->mu);
    for (size_t j = 0; j < ngone; j++) /* targets no longer configured: their queues go */
        tq_free(&gone[j]);
    free(old_ext);
    free(old_url);
    if (n->dir) /* queue files follow the new order of targets */
        for (size_t i = 0; i < n->nq; i++) {
            if (i < nf && !moved[i])
                read_queue(n, i);
            write_queue(n, i);
        }
    rc = loop_start(&n->loop, "tide-notify", run, n, 1000, e);
    if (rc == 0 && (n->nq || n->nsd))
        loop_wake(&n->loop);
    return rc;
}

size_t notifier_status(struct notifier *n, struct notify_status *out, size_t cap)
{
    pthread_mutex_lock(&n->mu);
    size_t k = 0;
    for (size_t i = 0; i < n->nq && k < cap; i++, k++) {
        const struct tq *q = &n->q[i];
        struct notify_status *st = &out[k];
        memset(st, 0, sizeof *st);
        st->kind = q->t.kind;
        memcpy(st->url, q->t.url, sizeof st->url);
        memcpy(st->last_error, q->last_error, sizeof st->last_error);
        st->last_send_ms = q->last_send_ms;
        st->sent = q->sent;
        st->errors = q->errors;
        st->dropped = q->dropped;
        st->queued = q->n;
    }
    for (size_t i = 0; i < n->nsd; i++)
        for (size_t d = 0; d < n->sdst[i].res.ndropped && k < cap; d++, k++) {
            memset(&out[k], 0, sizeof out[k]);
            out[k].kind = NOTIFY_ALERTMANAGER;
            out[k].relabel_dropped = true;
            snprintf(out[k].url, sizeof out[k].url, "%s", n->sdst[i].res.dropped[d]);
        }
    pthread_mutex_unlock(&n->mu);
    return k;
}

void notifier_collect(void *ctx, struct sm_out *o)
{
    struct notifier *n = ctx;
    static const char *const names[] = {
        "tide_notifications_sent_total", "tide_notifications_errors_total",
        "tide_notifications_dropped_total", "tide_notifications_queue_length"};
    static const char *const help[] = {
        "Alerts sent to each target.", "Failed attempts to send to each target.",
        "Alerts dropped because a target's queue was full.", "Alerts queued for each target."};
    pthread_mutex_lock(&n->mu);
    for (int f = 0; f < 4; f++) {
        sm_family(o, names[f], f == 3 ? SM_GAUGE : SM_COUNTER, help[f]);
        for (size_t i = 0; i < n->nq; i++) {
            const struct tq *q = &n->q[i];
            double v = f == 0   ? (double)q->sent
                       : f == 1 ? (double)q->errors
                       : f == 2 ? (double)q->dropped
                                : (double)q->n;
            sm_sample(o, v, "alertmanager", q->t.url, NULL);
        }
    }
    sm_family(o, "tide_notifications_alert_relabel_dropped_total", SM_COUNTER,
              "Alerts not sent because alert_relabel_configs dropped them.");
    sm_sample(o, (double)n->relabel_dropped, NULL);
    pthread_mutex_unlock(&n->mu);
}

void notifier_free(struct notifier *n)
{
    if (n == NULL)
        return;
    loop_stop(&n->loop);
    for (size_t i = 0; i < n->nq; i++) {
        if (n->q[i].client) {
            /* One last attempt, bounded by the target's timeout. */
            pthread_mutex_lock(&n->mu);
            n->q[i].next_try_ms = 0;
            pthread_mutex_unlock(&n->mu);
            flush(n, i, time_mono_ns() / 1000000);
        }
        if (n->dir && n->q[i].client)
            write_queue(n, i);
        tq_free(&n->q[i]);
    }
    for (size_t i = 0; i < NOTIFY_SD_MAX; i++)
        notify_sd_result_fini(&n->sdst[i].res);
    free(n->ext);
    free(n->url);
    free(n->dir);
    relabel_set_fini(&n->rl);
    pthread_mutex_destroy(&n->mu);
    free(n);
}
