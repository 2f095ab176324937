/* live_commit.c: the display-rate split in front of storage (see
 * live_commit.h). Sits between the append pipeline and storage_append();
 * asks live_lease.c which hosts are sampled at a display rate and
 * live_ring.c which of their points storage still gets.
 */
#include "api/live_commit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/live_lease.h"
#include "api/live_ring.h"
#include "core/selfmetrics.h"
#include "core/time.h"
#include "model/matcher.h"
#include "storage/storage.h"

/* Copy labels of series `s` of `b` into `out` (strings borrowed from b). */
static int copy_labels(struct batch *out, const struct batch *b, const struct batch_series *s)
{
    int rc = batch_begin_series(out);
    for (uint32_t j = 0; rc == 0 && j < s->nlabels; j++) {
        const struct label *l = &b->labels[s->label_off + j];
        rc = batch_add_label(out, l->name, l->value);
    }
    return rc;
}

int live_commit_init(struct live_commit *lc)
{
    pthread_mutex_init(&lc->mu, NULL);
    memset(lc->hosts, 0, sizeof lc->hosts);
    return 0;
}

void live_commit_fini(struct live_commit *lc)
{
    pthread_mutex_destroy(&lc->mu);
}

/* Tell the ring the last stored point of each series of `inst` within the
 * last two storage intervals. Best effort: on an error the first display
 * points are stored as they come. */
static void prime(struct live_commit *lc, struct strv inst, int64_t storage_ms)
{
    if (lc->storage == NULL)
        return;
    struct matcher m;
    if (matcher_init(&m, MATCH_EQ, STRV_LIT("instance"), inst, NULL) != 0)
        return;
    int64_t now = time_now_ms();
    struct storage_set *set = NULL;
    struct err e = {0};
    if (storage_select(lc->storage, &m, 1, now - 2 * storage_ms, now + 3600000, &set, &e) == 0) {
        while (storage_set_next(set)) {
            const struct label *ls;
            size_t nls;
            const struct sample *v;
            size_t n = 0;
            storage_set_labels(set, &ls, &nls);
            if (storage_set_samples(set, &v, &n, &e) != 0)
                break;
            if (n > 0)
                live_ring_prime(lc->ring, ls, nls, v[n - 1].t_ms);
        }
        storage_set_free(set);
    }
    matcher_fini(&m);
}

/* `inst` has a lease in force at mono_ns: prime the ring when its display
 * rate begins now. Holds lc->mu through the priming. */
static void episode(struct live_commit *lc, struct strv inst, int64_t storage_ms, int64_t mono_ns)
{
    if (inst.n >= sizeof lc->hosts[0].name)
        return;
    pthread_mutex_lock(&lc->mu);
    struct live_commit_host *h = NULL, *free_slot = NULL;
    int64_t gap = (int64_t)LIVE_LEASE_TTL_MS * 1000000;
    for (size_t i = 0; i < LIVE_COMMIT_HOSTS && h == NULL; i++) {
        struct live_commit_host *c = &lc->hosts[i];
        if (c->name[0] && strlen(c->name) == inst.n && memcmp(c->name, inst.p, inst.n) == 0)
            h = c;
        else if (free_slot == NULL && (c->name[0] == 0 || mono_ns - c->seen_ns > gap))
            free_slot = c;
    }
    if (h == NULL || mono_ns - h->seen_ns > gap) {
        if (h == NULL)
            h = free_slot;
        if (h != NULL) {
            memcpy(h->name, inst.p, inst.n);
            h->name[inst.n] = 0;
        }
        prime(lc, inst, storage_ms);
    }
    if (h != NULL)
        h->seen_ns = mono_ns;
    pthread_mutex_unlock(&lc->mu);
}

int live_commit(void *ctx, const struct batch *b, struct pipeline_result *r, struct err *e)
{
    struct live_commit *lc = ctx;
    int64_t now = time_mono_ns();
    if (!live_lease_any(lc->lease, now))
        return lc->next(lc->next_ctx, b, r, e);

    struct batch out;
    batch_init(&out);
    bool *store = NULL;
    size_t cap = 0;
    int rc = 0;
    /* Batches come mostly from one host: remember the last answer. */
    struct strv last = {0};
    bool last_on = false;
    struct live_lease_state st = {0};
    for (size_t i = 0; rc == 0 && i < b->nmeta; i++)
        rc = batch_add_meta(&out, &b->meta[i]);
    for (size_t i = 0; rc == 0 && i < b->nseries; i++) {
        const struct batch_series *s = &b->series[i];
        const struct label *ls = &b->labels[s->label_off];
        const struct sample *v = &b->samples[s->sample_off];
        struct strv inst = labels_get(ls, s->nlabels, STRV_LIT("instance"));
        if (i == 0 || !strv_eq(inst, last)) {
            last = inst;
            last_on = live_lease_split(lc->lease, inst, now, &st);
            if (last_on)
                episode(lc, inst, st.storage_ms, now);
        }
        if (s->nsamples > cap) {
            bool *ns = realloc(store, s->nsamples * sizeof *ns);
            if (ns == NULL) {
                rc = -ENOMEM;
                break;
            }
            store = ns;
            cap = s->nsamples;
        }
        if (last_on) {
            live_ring_offer(lc->ring, ls, s->nlabels, v, s->nsamples, st.storage_ms,
                            st.display_ms / 2, store);
        } else {
            for (uint32_t j = 0; j < s->nsamples; j++)
                store[j] = true;
        }
        rc = copy_labels(&out, b, s);
        for (uint32_t j = 0; rc == 0 && j < s->nsamples; j++)
            if (store[j])
                rc = batch_add_sample(&out, v[j].t_ms, v[j].v);
        if (rc == 0)
            rc = batch_end_series(&out); /* a series left without samples is dropped */
        else
            batch_abort_series(&out);
    }
    free(store);
    if (rc != 0) {
        batch_fini(&out);
        return ERR_SET(e, rc, "out of memory splitting display-rate points");
    }
    rc = out.nseries > 0 || out.nmeta > 0 ? lc->next(lc->next_ctx, &out, r, e) : 0;
    batch_fini(&out);
    return rc;
}

void live_collect(void *cls, struct sm_out *o)
{
    struct live_commit *lc = cls;
    struct live_ring_stats rs;
    live_ring_stats(lc->ring, &rs);
    size_t active;
    uint64_t renewals;
    live_lease_counts(lc->lease, time_mono_ns(), &active, &renewals);
    sm_family(o, "tide_live_ring_series", SM_GAUGE,
              "Series with display-rate points in the live ring.");
    sm_sample(o, (double)rs.series, NULL);
    sm_family(o, "tide_live_ring_points", SM_GAUGE, "Display-rate points held in the live ring.");
    sm_sample(o, (double)rs.points, NULL);
    sm_family(o, "tide_live_ring_points_total", SM_COUNTER,
              "Display-rate points taken into the live ring.");
    sm_sample(o, (double)rs.points_total, NULL);
    sm_family(o, "tide_live_ring_thinned_total", SM_COUNTER,
              "Display-rate points kept in the live ring only, not stored.");
    sm_sample(o, (double)rs.thinned_total, NULL);
    sm_family(o, "tide_live_ring_refused_series_total", SM_COUNTER,
              "Series not taken into the full live ring (all their points stored).");
    sm_sample(o, (double)rs.refused_series, NULL);
    sm_family(o, "tide_live_leases_active", SM_GAUGE,
              "Hosts sampled at a display rate faster than their storage interval now.");
    sm_sample(o, (double)active, NULL);
    sm_family(o, "tide_live_lease_renewals_total", SM_COUNTER,
              "Display-rate leases taken or renewed by live streams.");
    sm_sample(o, (double)renewals, NULL);
}
