/* alert.c: the pending/firing/inactive state machine of one alerting rule
 * (alert.h), step for step Prometheus 2.42's AlertingRule.Eval after the
 * query: new label sets start pending, pending ones fire after `for`,
 * firing ones stay firing for keep_firing_for after the condition cleared,
 * then resolve and are kept 15 minutes so the notifier can say so.
 * The set is sorted by label hash; a lookup is a binary search.
 */
#include "rules/alert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct label *alert_labels_dup(const struct label *v, size_t n)
{
    size_t bytes = n * sizeof *v;
    for (size_t i = 0; i < n; i++)
        bytes += v[i].name.n + v[i].value.n + 2;
    struct label *out = malloc(bytes ? bytes : 1);
    if (out == NULL)
        return NULL;
    char *p = (char *)(out + n);
    for (size_t i = 0; i < n; i++) {
        memcpy(p, v[i].name.p, v[i].name.n);
        p[v[i].name.n] = 0;
        out[i].name = (struct strv){p, v[i].name.n};
        p += v[i].name.n + 1;
        if (v[i].value.n)
            memcpy(p, v[i].value.p, v[i].value.n);
        p[v[i].value.n] = 0;
        out[i].value = (struct strv){p, v[i].value.n};
        p += v[i].value.n + 1;
    }
    return out;
}

static size_t lower_bound(const struct alert_set *s, uint64_t h)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

struct alert *alert_set_find(struct alert_set *s, const struct label *ls, size_t n)
{
    uint64_t h = labels_hash(ls, n);
    for (size_t i = lower_bound(s, h); i < s->n && s->v[i].hash == h; i++)
        if (labels_cmp(s->v[i].labels, s->v[i].nlabels, ls, n) == 0)
            return &s->v[i];
    return NULL;
}

static void alert_fini(struct alert *a)
{
    free(a->labels);
    free(a->annotations);
}

static void remove_at(struct alert_set *s, size_t i)
{
    alert_fini(&s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

static int insert(struct alert_set *s, const struct alert_input *in, uint64_t h, int64_t ts_ms)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct alert *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    struct alert a = {
        .hash = h,
        .labels = alert_labels_dup(in->labels, in->nlabels),
        .nlabels = in->nlabels,
        .annotations = alert_labels_dup(in->annotations, in->nannotations),
        .nannotations = in->nannotations,
        .state = ALERT_PENDING,
        .value = in->value,
        .active_at_ms = ts_ms,
    };
    if (a.labels == NULL || a.annotations == NULL) {
        alert_fini(&a);
        return -ENOMEM;
    }
    size_t at = lower_bound(s, h);
    memmove(&s->v[at + 1], &s->v[at], (s->n - at) * sizeof *s->v);
    s->v[at] = a;
    s->n++;
    return 0;
}

static int cmp_idx(const void *a, const void *b, void *ctx)
{
    const struct alert_input *in = ctx;
    const struct alert_input *x = &in[*(const size_t *)a], *y = &in[*(const size_t *)b];
    return labels_cmp(x->labels, x->nlabels, y->labels, y->nlabels);
}

int alert_set_update(struct alert_set *s, const struct alert_input *in, size_t n, int64_t ts_ms,
                     int64_t hold_ms, int64_t keep_firing_for_ms, int64_t limit, struct err *e)
{
    /* Refuse duplicate label sets before touching any state. */
    if (n > 1) {
        size_t *idx = malloc(n * sizeof *idx);
        if (idx == NULL)
            return ERR_SET(e, -ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            idx[i] = i;
        qsort_r(idx, n, sizeof *idx, cmp_idx, (void *)in);
        bool dup = false;
        for (size_t i = 1; i < n && !dup; i++)
            dup = cmp_idx(&idx[i - 1], &idx[i], (void *)in) == 0;
        free(idx);
        if (dup)
            return ERR_SET(e, TIDE_EINVAL,
                           "vector contains metrics with the same labelset after applying "
                           "alert labels");
    }
    for (size_t i = 0; i < n; i++) {
        struct alert *a = alert_set_find(s, in[i].labels, in[i].nlabels);
        if (a != NULL && a->state != ALERT_INACTIVE) {
            struct label *ann = alert_labels_dup(in[i].annotations, in[i].nannotations);
            if (ann == NULL)
                return ERR_SET(e, -ENOMEM, "out of memory");
            free(a->annotations);
            a->annotations = ann;
            a->nannotations = in[i].nannotations;
            a->value = in[i].value;
            continue;
        }
        if (a != NULL) /* resolved and back: a new alert replaces it */
            remove_at(s, (size_t)(a - s->v));
        int rc = insert(s, &in[i], labels_hash(in[i].labels, in[i].nlabels), ts_ms);
        if (rc != 0)
            return ERR_SET(e, rc, "out of memory");
    }
    /* seen[i]: alert i is in this evaluation's result. */
    bool *seen = calloc(s->n ? s->n : 1, sizeof *seen);
    if (seen == NULL)
        return ERR_SET(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        struct alert *a = alert_set_find(s, in[i].labels, in[i].nlabels);
        if (a)
            seen[a - s->v] = true;
    }
    size_t active = 0;
    for (size_t i = 0; i < s->n;) {
        struct alert *a = &s->v[i];
        if (!seen[i]) {
            bool keep = false;
            if (a->state == ALERT_FIRING && keep_firing_for_ms > 0) {
                if (a->keep_firing_since_ms == 0)
                    a->keep_firing_since_ms = ts_ms;
                keep = ts_ms - a->keep_firing_since_ms < keep_firing_for_ms;
            }
            if (a->state == ALERT_PENDING ||
                (a->resolved_at_ms != 0 &&
                 ts_ms - a->resolved_at_ms > ALERT_RESOLVED_RETENTION_MS)) {
                remove_at(s, i);
                memmove(&seen[i], &seen[i + 1], (s->n - i) * sizeof *seen);
                continue;
            }
            if (a->state != ALERT_INACTIVE && !keep) {
                a->state = ALERT_INACTIVE;
                a->resolved_at_ms = ts_ms;
            }
            if (!keep) {
                i++;
                continue;
            }
        } else {
            a->keep_firing_since_ms = 0;
        }
        active++;
        if (a->state == ALERT_PENDING && ts_ms - a->active_at_ms >= hold_ms) {
            a->state = ALERT_FIRING;
            a->fired_at_ms = ts_ms;
        }
        i++;
    }
    free(seen);
    if (limit > 0 && active > (size_t)limit) {
        alert_set_fini(s);
        return ERR_SET(e, TIDE_ELIMIT, "exceeded limit of %lld with %zu alerts", (long long)limit,
                       active);
    }
    return 0;
}

bool alert_needs_sending(const struct alert *a, int64_t ts_ms, int64_t resend_delay_ms)
{
    if (a->state == ALERT_PENDING)
        return false;
    if (a->resolved_at_ms > a->last_sent_ms || a->last_sent_ms == 0)
        return true; /* resolved since the last send, or never sent */
    return a->last_sent_ms + resend_delay_ms < ts_ms;
}

const char *alert_state_name(enum alert_state s)
{
    return s == ALERT_FIRING ? "firing" : s == ALERT_PENDING ? "pending" : "inactive";
}

void alert_set_move(struct alert_set *to, struct alert_set *from)
{
    alert_set_fini(to);
    *to = *from;
    *from = (struct alert_set){0};
}

void alert_set_fini(struct alert_set *s)
{
    for (size_t i = 0; i < s->n; i++)
        alert_fini(&s->v[i]);
    free(s->v);
    *s = (struct alert_set){0};
}
