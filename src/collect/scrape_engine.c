/* scrape_engine.c: every scrape target's HTTP request in flight at once,
 * on one thread, through one libcurl multi handle (scrape.h). Targets hand
 * a prepared transfer in (scrape_engine_submit) from worker threads; the
 * engine thread adds it to the multi handle, drives all transfers with
 * curl_multi_poll(), and calls each transfer's done when it ends. Keep-alive
 * connections stay with each target's easy handle (core/http_client.h).
 *
 * States of a transfer (under mu): IDLE → PENDING (queued by submit) →
 * FLIGHT (in the multi handle) → CALLING (done running, mu released) →
 * IDLE. A cancel waits until the transfer is IDLE again; a transfer in
 * flight is removed from the multi handle by the engine thread, which
 * alone touches libcurl's multi API (curl_multi_wakeup() excepted).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "collect/scrape.h"

enum { XF_IDLE = 0, XF_PENDING, XF_FLIGHT, XF_CALLING };

struct scrape_engine {
    pthread_t thread;
    CURLM *multi;            /* the engine thread's, curl_multi_wakeup() from any */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* a transfer went back to IDLE */
    struct scrape_xfer *pending; /* mu: submitted, not yet added (LIFO is fine) */
    struct scrape_xfer *flight;  /* mu: in the multi handle */
    size_t ncancel;          /* mu: transfers in flight with cancel set */
    bool stop;               /* mu */
};

static void unlink_x(struct scrape_xfer **head, struct scrape_xfer *x)
{
    for (struct scrape_xfer **p = head; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            x->next = NULL;
            return;
        }
}

/* Call x's done with mu released; x is CALLING meanwhile. Under mu. */
static void call_done(struct scrape_engine *eng, struct scrape_xfer *x, int rc,
                      const struct err *e)
{
    x->state = XF_CALLING;
    pthread_mutex_unlock(&eng->mu);
    x->done(x, rc, e);
    pthread_mutex_lock(&eng->mu);
    x->state = XF_IDLE;
    pthread_cond_broadcast(&eng->cv);
}

/* Take x out of the multi handle and back to IDLE without a done call. */
static void drop(struct scrape_engine *eng, struct scrape_xfer *x)
{
    struct err e;
    curl_multi_remove_handle(eng->multi, x->easy);
    http_client_finish(x->client, CURLE_ABORTED_BY_CALLBACK, &e);
    x->easy = NULL;
    unlink_x(&eng->flight, x);
    if (x->cancel)
        eng->ncancel--;
    x->cancel = false;
    x->state = XF_IDLE;
    pthread_cond_broadcast(&eng->cv);
}

/* Take the pending transfers into the multi handle and the cancelled ones
 * out of it. Under mu. */
static void admit(struct scrape_engine *eng)
{
    while (eng->ncancel > 0) {
        struct scrape_xfer *x = eng->flight;
        while (x && !x->cancel)
            x = x->next;
        if (x == NULL)
            break;
        drop(eng, x);
    }
    while (eng->pending) {
        struct scrape_xfer *x = eng->pending;
        eng->pending = x->next;
        x->next = NULL;
        CURL *h = NULL;
        struct err e;
        err_clear(&e);
        int rc = http_client_prepare(x->client, &x->rq, &x->rs, &h, &e);
        if (rc == 0) {
            curl_easy_setopt(h, CURLOPT_PRIVATE, x);
            if (curl_multi_add_handle(eng->multi, h) != CURLM_OK) {
                http_client_finish(x->client, CURLE_OUT_OF_MEMORY, &e);
                rc = ERR_SET(&e, -ENOMEM, "scrape: cannot add the transfer");
            }
        }
        if (rc != 0) {
            call_done(eng, x, rc, &e);
            continue;
        }
        x->easy = h;
        x->state = XF_FLIGHT;
        x->next = eng->flight;
        eng->flight = x;
    }
}

static void *engine_main(void *arg)
{
    struct scrape_engine *eng = arg;
    pthread_mutex_lock(&eng->mu);
    while (!eng->stop) {
        admit(eng);
        pthread_mutex_unlock(&eng->mu);
        int running = 0;
        curl_multi_perform(eng->multi, &running);
        pthread_mutex_lock(&eng->mu);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(eng->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *h = msg->easy_handle;
            CURLcode result = msg->data.result;
            struct scrape_xfer *x = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
            if (x == NULL || x->state != XF_FLIGHT) {
                curl_multi_remove_handle(eng->multi, h);
                continue;
            }
            if (x->cancel) {
                drop(eng, x);
                continue;
            }
            curl_multi_remove_handle(eng->multi, h);
            x->easy = NULL;
            unlink_x(&eng->flight, x);
            struct err e;
            err_clear(&e);
            int rc = http_client_finish(x->client, result, &e);
            call_done(eng, x, rc, &e);
        }
        if (eng->pending || eng->ncancel || eng->stop)
            continue;
        pthread_mutex_unlock(&eng->mu);
        curl_multi_poll(eng->multi, NULL, 0, 1000, NULL);
        pthread_mutex_lock(&eng->mu);
    }
    while (eng->flight) /* owners cancel before the engine goes; this is a safety net */
        drop(eng, eng->flight);
    pthread_mutex_unlock(&eng->mu);
    return NULL;
}

int scrape_engine_new(struct scrape_engine **out, struct err *e)
{
    *out = NULL;
    int rc = http_global_init(e);
    if (rc != 0)
        return rc;
    struct scrape_engine *eng = calloc(1, sizeof *eng);
    if (eng == NULL)
        return ERR_SET(e, -ENOMEM, "scrape: out of memory");
    eng->multi = curl_multi_init();
    if (eng->multi == NULL) {
        free(eng);
        return ERR_SET(e, -EIO, "scrape: curl_multi_init failed");
    }
    curl_multi_setopt(eng->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    pthread_mutex_init(&eng->mu, NULL);
    pthread_cond_init(&eng->cv, NULL);
    rc = pthread_create(&eng->thread, NULL, engine_main, eng);
    if (rc != 0) {
        curl_multi_cleanup(eng->multi);
        pthread_mutex_destroy(&eng->mu);
        pthread_cond_destroy(&eng->cv);
        free(eng);
        return ERR_SET(e, -rc, "scrape: cannot start the engine thread");
    }
    *out = eng;
    return 0;
}

void scrape_engine_free(struct scrape_engine *eng)
{
    if (eng == NULL)
        return;
    pthread_mutex_lock(&eng->mu);
    eng->stop = true;
    pthread_mutex_unlock(&eng->mu);
    curl_multi_wakeup(eng->multi);
    pthread_join(eng->thread, NULL);
    curl_multi_cleanup(eng->multi);
    pthread_mutex_destroy(&eng->mu);
    pthread_cond_destroy(&eng->cv);
    free(eng);
}

int scrape_engine_submit(struct scrape_engine *eng, struct scrape_xfer *x)
{
    pthread_mutex_lock(&eng->mu);
    /* The previous transfer's done may still be returning: the manager can
     * start the next run before the engine thread is back. */
    while (x->state == XF_CALLING && !eng->stop)
        pthread_cond_wait(&eng->cv, &eng->mu);
    int rc = 0;
    if (eng->stop)
        rc = TIDE_ECLOSED;
    else if (x->state != XF_IDLE)
        rc = TIDE_EINVAL;
    if (rc == 0) {
        x->state = XF_PENDING;
        x->cancel = false;
        x->next = eng->pending;
        eng->pending = x;
    }
    pthread_mutex_unlock(&eng->mu);
    if (rc == 0)
        curl_multi_wakeup(eng->multi);
    return rc;
}

void scrape_engine_cancel(struct scrape_engine *eng, struct scrape_xfer *x)
{
    pthread_mutex_lock(&eng->mu);
    if (x->state == XF_PENDING) {
        unlink_x(&eng->pending, x);
        x->state = XF_IDLE;
    } else if (x->state == XF_FLIGHT && !x->cancel) {
        x->cancel = true;
        eng->ncancel++;
        curl_multi_wakeup(eng->multi);
    }
    while (x->state != XF_IDLE && !eng->stop)
        pthread_cond_wait(&eng->cv, &eng->mu);
    pthread_mutex_unlock(&eng->mu);
}
