/* live_lease.c: the display-rate lease table (see live_lease.h). Screens
 * renew leases through the stream hub; agents read them through their
 * config poll (api/agents.c); the commit stage (live_commit.c) asks which
 * hosts are sampled fast so their extra points go to the ring only.
 *
 * Layout: a fixed array of hosts, each with up to LIVE_LEASE_MAX_RATES
 * (display interval, expiry) pairs and the storage interval last reported.
 * `until_max_ns` is the latest end of the grace (expiry + one storage
 * interval, live_lease_split()) of any lease in force (faster than a known
 * storage interval), kept in an atomic so the commit stage can skip
 * everything while no host is sampled fast (a screen on a host that cannot
 * be sped up costs the commit stage nothing). The local host's
 * lease is handed to the targets manager outside the mutex (lock order:
 * never targets' mutex under ours).
 */
#include "api/live_lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect/host.h"
#include "core/err.h"

struct rate {
    int64_t display_ms; /* 0 = free slot */
    int64_t until_ns;
};

struct host {
    char name[LIVE_LEASE_HOST_MAX + 1]; /* "" = free slot */
    size_t len;
    int64_t storage_ms; /* 0 = unknown */
    int64_t touched_ns; /* last renewal or report */
    struct rate rates[LIVE_LEASE_MAX_RATES];
};

struct live_lease {
    atomic_llong until_max_ns; /* the latest expiry of any lease in force */
    pthread_mutex_t mu;        /* guards everything below */
    struct host hosts[LIVE_LEASE_MAX_HOSTS];
    uint64_t renewals;
    char local[LIVE_LEASE_HOST_MAX + 1]; /* the local collector's instance; "" = none */
    struct targets *targets;             /* its manager */
};

int live_lease_new(struct live_lease **out)
{
    *out = NULL;
    struct live_lease *l = calloc(1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    atomic_init(&l->until_max_ns, 0);
    pthread_mutex_init(&l->mu, NULL);
    *out = l;
    return 0;
}

void live_lease_free(struct live_lease *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= LIVE_LEASE_HOST_MAX;
}

int live_lease_set_local(struct live_lease *l, const char *instance, struct targets *t)
{
    if (t != NULL && !name_ok(instance))
        return TIDE_EINVAL;
    pthread_mutex_lock(&l->mu);
    snprintf(l->local, sizeof l->local, "%s", t != NULL ? instance : "");
    l->targets = t;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static struct host *find(struct live_lease *l, const char *p, size_t n)
{
    for (size_t i = 0; i < LIVE_LEASE_MAX_HOSTS; i++) {
        struct host *h = &l->hosts[i];
        if (h->len == n && n > 0 && memcmp(h->name, p, n) == 0)
            return h;
    }
    return NULL;
}

/* The host's slot, taken if need be (a free one, else one idle for
 * LIVE_LEASE_FORGET_MS). NULL when the table is full. mu held. */
static struct host *get(struct live_lease *l, const char *name, int64_t mono_ns)
{
    size_t n = strlen(name);
    struct host *h = find(l, name, n);
    if (h != NULL)
        return h;
    for (size_t i = 0; i < LIVE_LEASE_MAX_HOSTS; i++) {
        struct host *c = &l->hosts[i];
        if (c->len == 0 || mono_ns - c->touched_ns > (int64_t)LIVE_LEASE_FORGET_MS * 1000000) {
            bool leased = false;
            for (size_t r = 0; r < LIVE_LEASE_MAX_RATES; r++)
                leased |= c->rates[r].display_ms > 0 && c->rates[r].until_ns > mono_ns;
            if (leased)
                continue;
            memset(c, 0, sizeof *c);
            memcpy(c->name, name, n + 1);
            c->len = n;
            return c;
        }
    }
    return NULL;
}

/* The fastest unexpired display interval of h and its expiry; 0 = none. */
static int64_t fastest(const struct host *h, int64_t mono_ns, int64_t *until_ns)
{
    int64_t best = 0;
    *until_ns = 0;
    for (size_t r = 0; r < LIVE_LEASE_MAX_RATES; r++) {
        const struct rate *x = &h->rates[r];
        if (x->display_ms <= 0 || x->until_ns <= mono_ns)
            continue;
        if (best == 0 || x->display_ms < best) {
            best = x->display_ms;
            *until_ns = x->until_ns;
        }
    }
    return best;
}

/* Raise until_max_ns to the end of the grace of h's leases that are (or
 * will be, when a faster one lapses) in force. mu held. */
static void note_in_force(struct live_lease *l, const struct host *h, int64_t mono_ns)
{
    for (size_t r = 0; r < LIVE_LEASE_MAX_RATES; r++) {
        const struct rate *x = &h->rates[r];
        int64_t end = x->until_ns + h->storage_ms * 1000000;
        if (x->display_ms > 0 && x->until_ns > mono_ns && h->storage_ms > 0 &&
            x->display_ms < h->storage_ms && atomic_load(&l->until_max_ns) < end)
            atomic_store(&l->until_max_ns, end);
    }
}

/* The fastest display interval of h faster than its storage interval whose
 * lease is in force or lapsed less than grace_ns ago, 0 = none; *until_ns
 * its lease's end. */
static int64_t fastest_in_force(const struct host *h, int64_t mono_ns, int64_t grace_ns,
                                int64_t *until_ns)
{
    int64_t best = 0;
    *until_ns = 0;
    if (h->storage_ms <= 0)
        return 0;
    for (size_t r = 0; r < LIVE_LEASE_MAX_RATES; r++) {
        const struct rate *x = &h->rates[r];
        if (x->display_ms <= 0 || x->display_ms >= h->storage_ms ||
            x->until_ns + grace_ns <= mono_ns)
            continue;
        if (best == 0 || x->display_ms < best) {
            best = x->display_ms;
            *until_ns = x->until_ns;
        }
    }
    return best;
}

int live_lease_renew(struct live_lease *l, const char *host, int64_t display_ms, int64_t mono_ns)
{
    if (!name_ok(host) || display_ms < 100)
        return TIDE_EINVAL;
    int64_t until = mono_ns + (int64_t)LIVE_LEASE_TTL_MS * 1000000;
    pthread_mutex_lock(&l->mu);
    struct host *h = get(l, host, mono_ns);
    if (h == NULL) {
        pthread_mutex_unlock(&l->mu);
        return TIDE_ELIMIT;
    }
    struct rate *slot = NULL;
    for (size_t r = 0; r < LIVE_LEASE_MAX_RATES && slot == NULL; r++)
        if (h->rates[r].display_ms == display_ms)
            slot = &h->rates[r];
    for (size_t r = 0; r < LIVE_LEASE_MAX_RATES && slot == NULL; r++)
        if (h->rates[r].display_ms <= 0 || h->rates[r].until_ns <= mono_ns)
            slot = &h->rates[r];
    if (slot == NULL) {
        pthread_mutex_unlock(&l->mu);
        return TIDE_ELIMIT;
    }
    slot->display_ms = display_ms;
    slot->until_ns = until;
    h->touched_ns = mono_ns;
    l->renewals++;
    note_in_force(l, h, mono_ns);
    /* The local collector takes the fastest lease now; it lapses there by
     * itself at the same time as here. */
    struct targets *t = NULL;
    int64_t eff = 0, eff_until = 0;
    if (l->targets != NULL && strcmp(l->local, host) == 0) {
        t = l->targets;
        eff = fastest(h, mono_ns, &eff_until);
    }
    pthread_mutex_unlock(&l->mu);
    if (t != NULL) {
        /* The storage interval is known here before the collector runs
         * faster, so the commit stage splits its very first fast points. */
        int64_t storage_ms = host_targets_storage_ms(t);
        pthread_mutex_lock(&l->mu);
        h = find(l, host, strlen(host));
        if (h != NULL) {
            h->storage_ms = storage_ms;
            note_in_force(l, h, mono_ns);
        }
        pthread_mutex_unlock(&l->mu);
        host_targets_lease(t, eff, eff_until, &storage_ms);
    }
    return 0;
}

int live_lease_report(struct live_lease *l, const char *host, int64_t storage_ms, int64_t mono_ns)
{
    if (!name_ok(host) || storage_ms <= 0)
        return TIDE_EINVAL;
    pthread_mutex_lock(&l->mu);
    int rc = 0;
    if (l->targets != NULL && strcmp(l->local, host) == 0) {
        rc = TIDE_EINVAL; /* the local collector's interval is its targets' */
    } else {
        struct host *h = get(l, host, mono_ns);
        if (h == NULL) {
            rc = TIDE_ELIMIT;
        } else {
            h->storage_ms = storage_ms;
            h->touched_ns = mono_ns;
            note_in_force(l, h, mono_ns);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

/* live_lease_get() (grace: false) and live_lease_split() (grace: one
 * storage interval past the lease). */
static bool lookup(struct live_lease *l, struct strv host, int64_t mono_ns, bool grace,
                   struct live_lease_state *out)
{
    if (!live_lease_any(l, mono_ns) || host.n == 0)
        return false;
    pthread_mutex_lock(&l->mu);
    struct host *h = find(l, host.p, host.n);
    bool on = false;
    if (h != NULL) {
        int64_t until = 0;
        int64_t d = fastest_in_force(h, mono_ns, grace ? h->storage_ms * 1000000 : 0, &until);
        if (d > 0) {
            *out = (struct live_lease_state){
                .display_ms = d, .storage_ms = h->storage_ms, .until_ns = until};
            on = true;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return on;
}

bool live_lease_get(struct live_lease *l, struct strv host, int64_t mono_ns,
                    struct live_lease_state *out)
{
    return lookup(l, host, mono_ns, false, out);
}

bool live_lease_split(struct live_lease *l, struct strv host, int64_t mono_ns,
                      struct live_lease_state *out)
{
    return lookup(l, host, mono_ns, true, out);
}

bool live_lease_any(struct live_lease *l, int64_t mono_ns)
{
    return atomic_load(&l->until_max_ns) > mono_ns;
}

void live_lease_counts(struct live_lease *l, int64_t mono_ns, size_t *active, uint64_t *renewals)
{
    pthread_mutex_lock(&l->mu);
    size_t n = 0;
    for (size_t i = 0; i < LIVE_LEASE_MAX_HOSTS; i++) {
        struct host *h = &l->hosts[i];
        int64_t until;
        if (h->len && fastest_in_force(h, mono_ns, 0, &until) > 0)
            n++;
    }
    *active = n;
    *renewals = l->renewals;
    pthread_mutex_unlock(&l->mu);
}
