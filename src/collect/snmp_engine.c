/* snmp_engine.c: every SNMP device's requests in flight at once on one
 * thread (snmp.h), on net-snmp's single-session API (snmp_sess_*): one
 * session per device, asynchronous sends, one epoll set over all their
 * sockets, net-snmp's own timeouts and retries. Sits between the snmp kind
 * (snmp_target.c), which asks for a poll, and the network.
 *
 * A poll is a little state machine per conn: one GET of the module's
 * scalars, then the subtrees walked with GETBULK (GETNEXT for v1), each
 * walk's last OID starting its next request, until a varbind leaves the
 * subtree or the agent says endOfMibView. A conn has at most one request
 * outstanding (devices dislike floods); many conns run side by side.
 *
 * With GETBULK, several subtrees are walked by one request: one repeater
 * per walk in flight, as many walks as keep a request at about
 * WALK_VARBINDS varbinds (two at if_mib's max_repetitions 25, which halves
 * its round trips). The answer interleaves them (RFC 3416 4.2.3: varbind i
 * belongs to repeater i mod k) and may be cut short by the agent; a walk
 * that got nothing in a cut answer asks again from where it was. The
 * scalars ride in the first GETBULK as non-repeaters (GETNEXT of X for
 * X.0, kept only when the answer is X.0), saving the GET's round trip. An
 * agent that answers tooBig to such a request is asked for the scalars
 * alone and walked one subtree at a time from then on.
 *
 * Threads: snmp_conn_new / _poll / _free run on any thread and only touch
 * the fields marked "mu", raising `cmds` and waking the engine through a
 * pipe. The engine walks its list of conns only when `cmds` is up, and
 * otherwise works on its own array of the conns with a poll in flight.
 * Every open session's socket sits in one epoll set, so an answer costs
 * O(1) to find; each conn keeps the deadline of net-snmp's timer for its
 * request out, asked of its own session after every event, so net-snmp's
 * timeout processing runs only for the conns whose deadline has passed. A
 * wake-up costs O(answers) plus a scan of plain deadlines over the polls in
 * flight (with slow devices, hundreds of them at once), not a poll() and a
 * net-snmp timer walk per poll in flight.
 *
 * Memory: a conn holds its varbinds (arena, array) only while its poll is
 * in flight; finish() releases them after the done callback, so a fleet's
 * scratch is that of the polls in flight, not one poll's worth per device. Every net-snmp
 * call happens on the engine thread: net-snmp's USM user list and engine-ID
 * cache are process globals without locks. The done callback runs on the
 * engine thread, inside net-snmp's read or timeout processing.
 *
 * v3: net-snmp discovers the agent's engine ID synchronously inside
 * snmp_sess_open() (and inside an asynchronous send when the session has
 * none), which would stall every device for timeout × (retries + 1) while
 * one v3 device does not answer. So a v3 conn without the ID first sends
 * the RFC 3414 discovery request itself (snmp_discovery.c) from a socket of
 * its own in the epoll set, with the session's timeout and retries, and
 * opens the session with the ID it learnt: that open needs no exchange.
 * The ID is kept for the conn's life; an agent that then reports an
 * unknown engine ID (a replaced device) is discovered again next poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "collect/snmp.h"
#include "core/mem.h"
#include "core/time.h"

/* Varbinds one GETBULK asks for, about: walks in flight × max_repetitions. */
#define WALK_VARBINDS 64

/* One subtree being walked: its root and the last OID it got. */
struct walk_pos {
    const struct snmp_oid *root;
    uint32_t last[SNMP_OID_MAX];
    size_t last_n;
    bool ended;
};

struct snmp_conn {
    /* Immutable after snmp_conn_new(). */
    struct snmp_engine *eng;
    char peer[300]; /* "udp:host:port" */
    struct snmp_creds creds;
    int64_t timeout_ms;
    int retries;

    /* mu */
    struct snmp_conn *next; /* the engine's list */
    bool want_poll, want_close, closed;
    struct snmp_request req;
    snmp_done_fn *done;
    void *done_ctx;

    /* The engine thread only. */
    void *sess;     /* net-snmp single session, NULL until the first poll */
    bool busy;      /* a poll in flight */
    bool cancelled; /* closing: callbacks drop what they get */
    bool get_pending; /* the scalars are still to be asked for */
    bool get_in_bulk; /* ask for them in the first GETBULK (all end in .0) */
    bool req_get;     /* the request out is a plain GET */
    size_t nonrep;    /* non-repeaters (scalars) in the GETBULK out */
    bool serial;      /* one walk per request (v1, or an agent that said tooBig) */
    size_t next_walk;         /* req.walk[next_walk] is the next to begin */
    struct walk_pos *act;     /* the walks begun and not ended (arena) */
    size_t nact, cap_act, sent; /* sent: act[0..sent) are in the request out */
    struct arena arena; /* the poll's OIDs, strings and walk positions */
    struct snmp_vb *v;
    uint32_t *run; /* run[i]: where v[i] came from, 0 = the scalars, k = req.walk[k - 1] */
    size_t n, cap, cap_run;
    uint64_t pdus;
    int fd;              /* the session's socket, in the engine's epoll set; -1 = none */
    int64_t deadline_ms; /* monotonic: net-snmp's timer for the request out expires */

    /* v3 engine ID discovery (engine thread): while `probing`, fd is the
     * probe's own socket (no session yet), sent `probe_tries` times. */
    bool probing, reprobe;
    int probe_tries;
    int32_t probe_msgid;
    uint8_t engine_id[SNMP_ENGINE_ID_MAX];
    size_t engine_id_n;
};

struct snmp_engine {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t closed;   /* a conn was closed by the engine */
    int wake[2];             /* pipe: any change under mu */
    int epfd;                /* epoll: the wake pipe and every open session's socket */
    netsnmp_large_fd_set lfs; /* the engine thread's scratch for net-snmp calls */
    struct snmp_conn *conns; /* mu */
    bool cmds;               /* mu: a conn wants a poll or a close: walk `conns` */
    bool stop;               /* mu */

    /* The engine thread only: the conns with a poll in flight (busy, with a
     * session). A conn leaves it when its poll ends and before it is closed,
     * so no pointer here outlives its conn. */
    struct snmp_conn **busy;
    size_t nbusy, cap_busy;
    /* Answers a second, for gathering: the count of the window that began
     * at rate_start_ms, and the last full window's. */
    int64_t rate_start_ms;
    uint64_t rate_count, rate_last;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void netsnmp_init(void)
{
    /* No snmp.conf, no persistent state, no MIB files: modules are numeric,
     * and nothing of the host's net-snmp setup changes what Tide does. */
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
    netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
    netsnmp_ds_set_string(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_MIBDIRS, "/nonexistent");
    setenv("MIBS", "", 0);
    snmp_disable_log(); /* nothing below api/ and main prints */
    init_snmp("tide");
}

static void wake(struct snmp_engine *eng)
{
    char c = 1;
    ssize_t w = write(eng->wake[1], &c, 1);
    (void)w; /* a full pipe is already a pending wake-up */
}

/* ---- one poll ---- */

static int vb_cmp(const void *a, const void *b)
{
    const struct snmp_vb *x = a, *y = b;
    return snmp_oid_cmp(x->oid, x->oid_n, y->oid, y->oid_n);
}

/* Put the varbinds in OID order, each once. Each walk's varbinds came in
 * increasing order (take_walk_answer refuses anything else), so when the
 * module's subtrees are disjoint and listed in order (if_mib's are), a
 * stable counting sort by run, then the few scalars sorted, is the OID
 * order: O(n), checked on the way.
 * Otherwise (overlapping subtrees, scalars among them): qsort and drop
 * duplicates. 0 or -ENOMEM. */
static int sort_varbinds(struct snmp_conn *c)
{
    size_t nruns = c->req.nwalk + 1;
    size_t *at = calloc(nruns + 1, sizeof *at);
    struct snmp_vb *out = malloc(c->n * sizeof *out);
    if (at == NULL || out == NULL) {
        free(at);
        free(out);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++)
        at[c->run[i] + 1]++;
    for (size_t r = 1; r <= nruns; r++)
        at[r] += at[r - 1];
    for (size_t i = 0; i < c->n; i++)
        out[at[c->run[i]]++] = c->v[i];
    /* The scalars (run 0, now at the front) come in the module's order. */
    qsort(out, at[0], sizeof *out, vb_cmp);
    bool ordered = true;
    for (size_t i = 1; i < c->n && ordered; i++)
        ordered = vb_cmp(&out[i - 1], &out[i]) < 0;
    free(at);
    free(c->v);
    c->v = out;
    c->cap = c->n;
    if (ordered)
        return 0;
    qsort(c->v, c->n, sizeof *c->v, vb_cmp);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (k == 0 || vb_cmp(&c->v[k - 1], &c->v[i]) != 0)
            c->v[k++] = c->v[i];
    c->n = k;
    return 0;
}

static void finish(struct snmp_conn *c, int rc, const struct err *e)
{
    struct snmp_result res = {0};
    struct err oom;
    if (rc == 0 && c->n > 0 && sort_varbinds(c) != 0) {
        rc = -ENOMEM;
        err_clear(&oom);
        oom.code = rc;
        snprintf(oom.msg, sizeof oom.msg, "out of memory sorting %zu varbinds", c->n);
        e = &oom;
    }
    res.v = c->v;
    res.n = rc == 0 ? c->n : 0;
    res.pdus = c->pdus;
    c->busy = false;
    snmp_done_fn *done = c->done;
    void *ctx = c->done_ctx;
    done(ctx, rc, e, &res);
    /* The result was the callback's only; give its memory back. */
    arena_fini(&c->arena);
    free(c->v);
    free(c->run);
    c->v = NULL;
    c->run = NULL;
    c->n = c->cap = c->cap_run = 0;
}

static void fail(struct snmp_conn *c, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct snmp_conn *c, int rc, const char *fmt, ...)
{
    struct err e;
    err_clear(&e);
    e.code = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    finish(c, rc, &e);
}

/* The session's last error, as text without secrets (net-snmp's messages
 * name errors, never communities or keys). */
static void sess_error(void *sess, char *out, size_t cap)
{
    int liberr = 0, syserr = 0;
    char *msg = NULL;
    snmp_sess_error(sess, &liberr, &syserr, &msg);
    snprintf(out, cap, "%s", msg ? msg : "unknown error");
    free(msg);
}

/* Keep one varbind; run: 0 for a scalar, k for a varbind of req.walk[k - 1]. */
static int keep(struct snmp_conn *c, const netsnmp_variable_list *vb, uint32_t run)
{
    if (c->n >= SNMP_MAX_VARBINDS)
        return TIDE_ELIMIT;
    if (mem_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v) != 0 ||
        mem_grow((void **)&c->run, &c->cap_run, c->n + 1, sizeof *c->run) != 0)
        return -ENOMEM;
    c->run[c->n] = run;
    struct snmp_vb *o = &c->v[c->n];
    memset(o, 0, sizeof *o);
    o->oid = arena_alloc(&c->arena, vb->name_length * sizeof *o->oid + 1);
    if (o->oid == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < vb->name_length; i++)
        o->oid[i] = (uint32_t)vb->name[i];
    o->oid_n = vb->name_length;
    o->type = vb->type;
    switch (vb->type) {
    case ASN_INTEGER:
        o->i = *vb->val.integer;
        break;
    case ASN_COUNTER:
    case ASN_GAUGE:
    case ASN_TIMETICKS:
    case ASN_UINTEGER:
        o->u = (uint64_t)(*vb->val.integer) & 0xffffffffu;
        break;
    case ASN_COUNTER64:
        o->u = ((uint64_t)vb->val.counter64->high << 32) | (vb->val.counter64->low & 0xffffffffu);
        break;
    case ASN_OCTET_STR:
    case ASN_IPADDRESS:
    case ASN_OPAQUE:
        o->s = arena_strndup(&c->arena, (const char *)vb->val.string, vb->val_len);
        o->s_n = vb->val_len;
        if (o->s == NULL)
            return -ENOMEM;
        break;
    case ASN_OBJECT_ID: {
        size_t n = vb->val_len / sizeof(oid);
        uint32_t *sub = arena_alloc(&c->arena, n * sizeof *sub + 1);
        if (sub == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            sub[i] = (uint32_t)vb->val.objid[i];
        o->s = (const char *)sub;
        o->s_n = n;
        break;
    }
    default:
        break; /* NULL, noSuch…: kept for the record, no value */
    }
    c->n++;
    return 0;
}

static int on_response(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic);

/* Begin walks until cap_act are in flight or none is left. */
static void refill_walks(struct snmp_conn *c)
{
    while (c->nact < c->cap_act && c->next_walk < c->req.nwalk) {
        struct walk_pos *w = &c->act[c->nact++];
        w->root = &c->req.walk[c->next_walk++];
        memcpy(w->last, w->root->v, w->root->n * sizeof *w->last);
        w->last_n = w->root->n;
        w->ended = false;
    }
}

/* Drop the ended walks from act, keeping the order of the others. */
static void drop_ended_walks(struct snmp_conn *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nact; i++)
        if (!c->act[i].ended)
            c->act[k++] = c->act[i];
    c->nact = k;
}

/* Add `o` (n sub-identifiers) to the request as a null varbind. */
static void add_var(netsnmp_pdu *pdu, const uint32_t *o, size_t n)
{
    oid v[SNMP_OID_MAX];
    for (size_t k = 0; k < n; k++)
        v[k] = o[k];
    snmp_add_null_var(pdu, v, n);
}

/* Send the GET of the scalars, or the next walk request (with the scalars
 * as non-repeaters the first time), or finish when nothing is left. */
static void next_request(struct snmp_conn *c)
{
    const struct snmp_request *r = &c->req;
    bool bulk = c->creds.version != SNMP_V1;
    bool with_get = c->get_pending && bulk && c->get_in_bulk && !c->serial;
    c->req_get = c->get_pending && !with_get;
    c->nonrep = with_get ? r->nget : 0;
    c->sent = 0;
    if (!c->req_get) {
        refill_walks(c);
        if (c->nact == 0 && c->nonrep == 0) {
            finish(c, 0, NULL);
            return;
        }
        c->sent = c->serial && c->nact > 0 ? 1 : c->nact;
    }
    netsnmp_pdu *pdu;
    if (c->req_get) {
        pdu = snmp_pdu_create(SNMP_MSG_GET);
        for (size_t i = 0; pdu && i < r->nget; i++)
            add_var(pdu, r->get[i].v, r->get[i].n);
    } else {
        pdu = snmp_pdu_create(bulk ? SNMP_MSG_GETBULK : SNMP_MSG_GETNEXT);
        if (pdu && bulk) {
            pdu->non_repeaters = (long)c->nonrep;
            pdu->max_repetitions =
                r->max_repetitions > 0 ? r->max_repetitions : SNMP_MAX_REPETITIONS_DEFAULT;
        }
        for (size_t i = 0; pdu && i < c->nonrep; i++)
            add_var(pdu, r->get[i].v, r->get[i].n - 1); /* X for X.0 */
        for (size_t i = 0; pdu && i < c->sent; i++)
            add_var(pdu, c->act[i].last, c->act[i].last_n);
    }
    if (pdu == NULL) {
        fail(c, -ENOMEM, "out of memory");
        return;
    }
    c->pdus++;
    if (snmp_sess_async_send(c->sess, pdu, on_response, c) == 0) {
        char msg[160];
        sess_error(c->sess, msg, sizeof msg);
        snmp_free_pdu(pdu);
        fail(c, -EIO, "send: %s", msg);
    }
}

/* Keep the scalars a GETBULK asked for as non-repeaters: answer i is
 * get[i] when the object exists, something after it when not. *vbp moves
 * to the first varbind after them (NULL when the answer ends there). 0, or
 * the poll has failed. */
static int take_scalars(struct snmp_conn *c, netsnmp_variable_list **vbp)
{
    netsnmp_variable_list *vb = *vbp;
    for (size_t i = 0; i < c->nonrep && vb; i++, vb = vb->next_variable) {
        const struct snmp_oid *g = &c->req.get[i];
        if (vb->type == SNMP_ENDOFMIBVIEW || vb->type == SNMP_NOSUCHOBJECT ||
            vb->type == SNMP_NOSUCHINSTANCE || vb->name_length != g->n)
            continue;
        bool same = true;
        for (size_t k = 0; k < g->n && same; k++)
            same = vb->name[k] == g->v[k];
        int rc = same ? keep(c, vb, 0) : 0;
        if (rc != 0) {
            fail(c, rc, "%s", rc == -ENOMEM ? "out of memory" : "too many varbinds");
            return -1;
        }
    }
    c->get_pending = false;
    *vbp = vb;
    return 0;
}

/* Keep the varbinds of a walk answer from `first` on, each for its walk
 * (varbind i for act[i mod sent]). 0, or the poll has failed. */
static int take_walk_answer(struct snmp_conn *c, netsnmp_variable_list *first)
{
    if (first == NULL) { /* nothing more anywhere */
        for (size_t i = 0; i < c->sent; i++)
            c->act[i].ended = true;
        return 0;
    }
    size_t i = 0;
    for (netsnmp_variable_list *vb = first; vb; vb = vb->next_variable, i++) {
        struct walk_pos *w = &c->act[i % c->sent];
        if (w->ended)
            continue;
        uint32_t o[SNMP_OID_MAX];
        size_t n = vb->name_length;
        if (n > SNMP_OID_MAX) {
            fail(c, -EPROTO, "malformed answer: an OID of %zu sub-identifiers", n);
            return -1;
        }
        for (size_t k = 0; k < n; k++)
            o[k] = (uint32_t)vb->name[k];
        if (vb->type == SNMP_ENDOFMIBVIEW || vb->type == SNMP_NOSUCHOBJECT ||
            vb->type == SNMP_NOSUCHINSTANCE || !snmp_oid_under(o, n, w->root)) {
            w->ended = true;
            continue;
        }
        if (snmp_oid_cmp(o, n, w->last, w->last_n) <= 0) {
            char a[128], b[128];
            fail(c, -EPROTO, "malformed answer: OID %s does not follow %s",
                 snmp_oid_format(o, n, a, sizeof a),
                 snmp_oid_format(w->last, w->last_n, b, sizeof b));
            return -1;
        }
        int rc = keep(c, vb, (uint32_t)(w->root - c->req.walk) + 1);
        if (rc != 0) {
            fail(c, rc, "%s", rc == -ENOMEM ? "out of memory" : "too many varbinds in one poll");
            return -1;
        }
        memcpy(w->last, o, n * sizeof *o);
        w->last_n = n;
    }
    return 0;
}

static int on_response(int op, netsnmp_session *s, int reqid, netsnmp_pdu *pdu, void *magic)
{
    (void)s;
    (void)reqid;
    struct snmp_conn *c = magic;
    if (c->cancelled || !c->busy)
        return 1;
    if (op == NETSNMP_CALLBACK_OP_TIMED_OUT) {
        fail(c, -ETIMEDOUT, "timeout: no answer within %lld ms after %d %s%s",
             (long long)c->timeout_ms, c->retries + 1, c->retries ? "tries" : "try",
             c->creds.version == SNMP_V3 ? "" : " (unreachable, or a wrong community)");
        return 1;
    }
    if (op == NETSNMP_CALLBACK_OP_RESEND)
        return 1; /* net-snmp sent it again (a v3 time-window report): wait on */
    if (op == NETSNMP_CALLBACK_OP_SEC_ERROR) {
        int t = pdu ? snmpv3_get_report_type(pdu) : SNMPERR_AUTHENTICATION_FAILURE;
        fail(c, -EACCES, "v3: the agent refused the request: %s", snmp_api_errstring(t));
        return 1;
    }
    if (op != NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE || pdu == NULL) {
        fail(c, -EIO, "session error (callback op %d)", op);
        return 1;
    }
    if (pdu->command == SNMP_MSG_REPORT) {
        int t = snmpv3_get_report_type(pdu);
        if (t == SNMPERR_UNKNOWN_ENG_ID)
            c->reprobe = true; /* another agent at the address: discover it next poll */
        fail(c, -EACCES, "v3: the agent refused the request: %s", snmp_api_errstring(t));
        return 1;
    }
    if (pdu->errstat != SNMP_ERR_NOERROR) {
        if (pdu->errstat == SNMP_ERR_NOSUCHNAME && c->creds.version == SNMP_V1) {
            /* v1: a missing scalar, or the end of the MIB */
            if (c->req_get)
                c->get_pending = false;
            else
                c->act[0].ended = true;
            drop_ended_walks(c);
            next_request(c);
            return 1;
        }
        if (pdu->errstat == SNMP_ERR_TOOBIG && !c->req_get && (c->sent > 1 || c->nonrep > 0)) {
            c->serial = true; /* ask again: the scalars alone, one subtree at a time */
            next_request(c);
            return 1;
        }
        fail(c, -EPROTO, "agent error: %s (index %ld)", snmp_errstring((int)pdu->errstat),
             pdu->errindex);
        return 1;
    }
    if (c->req_get) {
        for (netsnmp_variable_list *vb = pdu->variables; vb; vb = vb->next_variable) {
            int rc = keep(c, vb, 0);
            if (rc != 0) {
                fail(c, rc, "%s", rc == -ENOMEM ? "out of memory" : "too many varbinds");
                return 1;
            }
        }
        c->get_pending = false;
        next_request(c);
        return 1;
    }
    netsnmp_variable_list *first = pdu->variables;
    if (c->nonrep > 0 && take_scalars(c, &first) != 0)
        return 1;
    /* An answer cut right after the scalars says nothing of the walks. */
    if (c->sent > 0 && (first != NULL || c->nonrep == 0) && take_walk_answer(c, first) != 0)
        return 1;
    drop_ended_walks(c);
    next_request(c);
    return 1;
}

/* ---- v3 engine ID discovery ---- */

static int open_session(struct snmp_conn *c);

/* The probe's socket, connected to the conn's address ("host", "host:port",
 * "[v6]:port", a bare v6 address). >= 0, or -errno / TIDE_ENOTFOUND. */
static int probe_socket(const struct snmp_conn *c)
{
    const char *a = strchr(c->peer, ':') + 1; /* past "udp:" / "udp6:" */
    char host[256], port[16];
    snprintf(port, sizeof port, "%d", SNMP_PORT_DEFAULT);
    const char *colon = strrchr(a, ':');
    if (a[0] == '[') {
        const char *close = strchr(a, ']');
        if (close == NULL)
            return TIDE_ENOTFOUND;
        snprintf(host, sizeof host, "%.*s", (int)(close - a - 1), a + 1);
        if (close[1] == ':')
            snprintf(port, sizeof port, "%s", close + 2);
    } else if (colon != NULL && strchr(a, ':') == colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - a), a);
        snprintf(port, sizeof port, "%s", colon + 1);
    } else {
        snprintf(host, sizeof host, "%s", a);
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL)
        return TIDE_ENOTFOUND;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = -errno;
        close(fd);
    }
    freeaddrinfo(ai);
    return rc != 0 ? rc : fd;
}

/* Take c's socket out of the epoll set and close it with what owns it:
 * the discovery probe's is ours, a session's is net-snmp's. Never inside a
 * net-snmp callback of that session. */
static void close_io(struct snmp_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->eng->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        if (c->probing)
            close(c->fd);
    }
    c->fd = -1;
    c->probing = false;
    if (c->sess)
        snmp_sess_close(c->sess);
    c->sess = NULL;
}

/* Send (again) the discovery request; its deadline is one timeout away. */
static void send_probe(struct snmp_conn *c)
{
    uint8_t req[SNMP_DISCOVERY_REQUEST_MAX];
    size_t n = snmp_discovery_request(req, c->probe_msgid, c->probe_msgid);
    c->probe_tries++;
    c->pdus++;
    /* A refused or lost datagram is a timeout to come, as for net-snmp. */
    ssize_t w = send(c->fd, req, n, 0);
    (void)w;
    c->deadline_ms = time_mono_ns() / 1000000 + c->timeout_ms;
}

/* Begin discovery: 0, or the poll has failed. */
static int start_probe(struct snmp_conn *c)
{
    int fd = probe_socket(c);
    if (fd < 0) {
        fail(c, fd, "v3 engine discovery: %s",
             fd == TIDE_ENOTFOUND ? "cannot resolve the address" : strerror(-fd));
        return fd;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(c->eng->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        int rc = -errno;
        close(fd);
        fail(c, rc, "v3 engine discovery: cannot watch the socket: %s", strerror(-rc));
        return rc;
    }
    c->fd = fd;
    c->probing = true;
    c->probe_tries = 0;
    c->probe_msgid = (int32_t)(((uint32_t)time_mono_ns() ^ (uint32_t)(uintptr_t)c) & 0x7fffffff);
    send_probe(c);
    return 0;
}

/* The probe's deadline passed: send again, or fail the poll. */
static void probe_timeout(struct snmp_conn *c)
{
    if (c->probe_tries <= c->retries) {
        send_probe(c);
        return;
    }
    close_io(c);
    fail(c, -ETIMEDOUT, "v3 engine discovery: timeout: no answer within %lld ms after %d %s",
         (long long)c->timeout_ms, c->retries + 1, c->retries ? "tries" : "try");
}

/* Read the probe's answers: with the engine ID, open the session and go on
 * with the poll. Answers to another message are dropped. */
static void read_probe(struct snmp_conn *c)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n < 0)
            return; /* EAGAIN; a refused port (ECONNREFUSED) waits for the timeout */
        int rc = snmp_discovery_engine_id(buf, (size_t)n, c->probe_msgid, c->engine_id,
                                          &c->engine_id_n);
        if (rc == TIDE_ENOTFOUND)
            continue;
        close_io(c);
        if (rc != 0) {
            fail(c, -EPROTO, "v3 engine discovery: malformed answer");
            return;
        }
        if (open_session(c) == 0)
            next_request(c);
        return;
    }
}

/* Open the net-snmp session (engine thread). 0, or the poll fails. A v3
 * conn that does not know its agent's engine ID sends the discovery
 * request instead; the poll goes on when the answer comes (read_probe). */
static int open_session(struct snmp_conn *c)
{
    netsnmp_session s;
    snmp_sess_init(&s);
    s.peername = c->peer;
    s.timeout = (long)(c->timeout_ms * 1000);
    s.retries = c->retries;
    const struct snmp_creds *cr = &c->creds;
    if (cr->version != SNMP_V3) {
        s.version = cr->version == SNMP_V1 ? SNMP_VERSION_1 : SNMP_VERSION_2c;
        s.community = (u_char *)c->creds.community;
        s.community_len = strlen(cr->community);
    } else {
        if (c->engine_id_n == 0)
            return start_probe(c);
        s.securityEngineID = c->engine_id; /* known: the open needs no exchange */
        s.securityEngineIDLen = c->engine_id_n;
        s.version = SNMP_VERSION_3;
        s.securityName = c->creds.username;
        s.securityNameLen = strlen(cr->username);
        s.securityModel = SNMP_SEC_MODEL_USM;
        s.securityLevel = cr->level == SNMP_AUTH_PRIV     ? SNMP_SEC_LEVEL_AUTHPRIV
                          : cr->level == SNMP_AUTH_NOPRIV ? SNMP_SEC_LEVEL_AUTHNOPRIV
                                                          : SNMP_SEC_LEVEL_NOAUTH;
        if (cr->context[0]) {
            s.contextName = c->creds.context;
            s.contextNameLen = strlen(cr->context);
        }
        if (cr->level >= SNMP_AUTH_NOPRIV) {
            const oid *proto = usmHMACSHA1AuthProtocol;
            size_t plen = OID_LENGTH(usmHMACSHA1AuthProtocol);
            switch (cr->auth) {
            case SNMP_AUTH_MD5:
                proto = usmHMACMD5AuthProtocol;
                plen = OID_LENGTH(usmHMACMD5AuthProtocol);
                break;
            case SNMP_AUTH_SHA224:
                proto = usmHMAC128SHA224AuthProtocol;
                plen = OID_LENGTH(usmHMAC128SHA224AuthProtocol);
                break;
            case SNMP_AUTH_SHA256:
                proto = usmHMAC192SHA256AuthProtocol;
                plen = OID_LENGTH(usmHMAC192SHA256AuthProtocol);
                break;
            case SNMP_AUTH_SHA384:
                proto = usmHMAC256SHA384AuthProtocol;
                plen = OID_LENGTH(usmHMAC256SHA384AuthProtocol);
                break;
            case SNMP_AUTH_SHA512:
                proto = usmHMAC384SHA512AuthProtocol;
                plen = OID_LENGTH(usmHMAC384SHA512AuthProtocol);
                break;
            default:
                break;
            }
            s.securityAuthProto = (oid *)proto;
            s.securityAuthProtoLen = plen;
            s.securityAuthKeyLen = USM_AUTH_KU_LEN;
            if (generate_Ku(proto, (u_int)plen, (const u_char *)cr->auth_password,
                            strlen(cr->auth_password), s.securityAuthKey,
                            &s.securityAuthKeyLen) != SNMPERR_SUCCESS)
                return -EINVAL;
        }
        if (cr->level == SNMP_AUTH_PRIV) {
            const oid *pp = usmAESPrivProtocol;
            size_t pl = OID_LENGTH(usmAESPrivProtocol);
            if (cr->priv == SNMP_PRIV_DES) {
                pp = usmDESPrivProtocol;
                pl = OID_LENGTH(usmDESPrivProtocol);
            } else if (cr->priv == SNMP_PRIV_AES192) {
                pp = usmAES192PrivProtocol;
                pl = OID_LENGTH(usmAES192PrivProtocol);
            } else if (cr->priv == SNMP_PRIV_AES256) {
                pp = usmAES256PrivProtocol;
                pl = OID_LENGTH(usmAES256PrivProtocol);
            }
            s.securityPrivProto = (oid *)pp;
            s.securityPrivProtoLen = pl;
            s.securityPrivKeyLen = USM_PRIV_KU_LEN;
            if (generate_Ku(s.securityAuthProto, (u_int)s.securityAuthProtoLen,
                            (const u_char *)cr->priv_password, strlen(cr->priv_password),
                            s.securityPrivKey, &s.securityPrivKeyLen) != SNMPERR_SUCCESS)
                return -EINVAL;
        }
    }
    c->sess = snmp_sess_open(&s);
    memset(s.securityAuthKey, 0, sizeof s.securityAuthKey);
    memset(s.securityPrivKey, 0, sizeof s.securityPrivKey);
    if (c->sess == NULL) {
        int liberr = 0, syserr = 0;
        char *msg = NULL;
        snmp_error(&s, &liberr, &syserr, &msg);
        fail(c, -EIO, "%s%s", cr->version == SNMP_V3 ? "v3 open: " : "open: ",
             msg ? msg : "unknown error");
        free(msg);
        return -EIO;
    }
    netsnmp_transport *t = snmp_sess_transport(c->sess);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (t == NULL || epoll_ctl(c->eng->epfd, EPOLL_CTL_ADD, t->sock, &ev) != 0) {
        int rc = t ? -errno : -EBADF;
        snmp_sess_close(c->sess);
        c->sess = NULL;
        fail(c, rc, "open: cannot watch the socket: %s", strerror(-rc));
        return rc;
    }
    c->fd = t->sock;
    return 0;
}

/* Note when net-snmp's timer for c's request out expires (engine thread,
 * after every event of c). */
static void update_deadline(struct snmp_conn *c)
{
    if (c->probing)
        return; /* send_probe set it */
    c->deadline_ms = INT64_MAX;
    if (!c->busy || c->sess == NULL)
        return;
    struct timeval tv = {1, 0};
    int numfds = 0, block = 1;
    NETSNMP_LARGE_FD_ZERO(&c->eng->lfs);
    snmp_sess_select_info2(c->sess, &numfds, &c->eng->lfs, &tv, &block);
    int64_t now = time_mono_ns() / 1000000;
    /* No timer (none pending while busy should not happen): look in 1 s. */
    int64_t ms = block ? 1000 : (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
    c->deadline_ms = now + ms;
}

static void begin_poll(struct snmp_conn *c)
{
    arena_fini(&c->arena);
    c->n = 0;
    c->pdus = 0;
    c->get_pending = c->req.nget > 0;
    c->get_in_bulk = true;
    for (size_t i = 0; i < c->req.nget; i++)
        if (c->req.get[i].n < 2 || c->req.get[i].v[c->req.get[i].n - 1] != 0)
            c->get_in_bulk = false; /* not a scalar's X.0: ask with GET */
    c->busy = true;
    c->next_walk = c->nact = c->sent = 0;
    if (c->creds.version == SNMP_V1)
        c->serial = true;
    /* Walks in flight together: about WALK_VARBINDS varbinds a request. */
    int reps = c->req.max_repetitions > 0 ? c->req.max_repetitions : SNMP_MAX_REPETITIONS_DEFAULT;
    c->cap_act = c->serial ? 1 : (size_t)(WALK_VARBINDS / reps);
    if (c->cap_act < 1)
        c->cap_act = 1;
    if (c->cap_act > c->req.nwalk)
        c->cap_act = c->req.nwalk ? c->req.nwalk : 1;
    c->act = arena_alloc(&c->arena, c->cap_act * sizeof *c->act);
    if (c->act == NULL) {
        fail(c, -ENOMEM, "out of memory");
        return;
    }
    if (c->sess == NULL && open_session(c) != 0) {
        if (c->busy)
            fail(c, -EINVAL, "v3: cannot derive the keys");
        return;
    }
    if (!c->probing)
        next_request(c);
}

static void shutdown_conn(struct snmp_conn *c)
{
    c->cancelled = true;
    close_io(c);
    c->busy = false;
}

/* ---- the engine thread ---- */

/* Drop c from the engine's busy array (before c is closed and freed). */
static void busy_remove(struct snmp_engine *eng, struct snmp_conn *c)
{
    for (size_t i = 0; i < eng->nbusy; i++)
        if (eng->busy[i] == c) {
            eng->busy[i] = eng->busy[--eng->nbusy];
            return;
        }
}

/* Walk the conns for closes and new polls. mu held on entry and exit
 * (dropped around net-snmp calls). */
static void run_commands(struct snmp_engine *eng)
{
    for (struct snmp_conn **pp = &eng->conns; *pp;) {
        struct snmp_conn *c = *pp;
        if (c->want_close) {
            *pp = c->next;
            pthread_mutex_unlock(&eng->mu);
            busy_remove(eng, c);
            shutdown_conn(c);
            pthread_mutex_lock(&eng->mu);
            c->closed = true;
            pthread_cond_broadcast(&eng->closed);
            continue;
        }
        if (c->want_poll && c->busy) {
            eng->cmds = true; /* the previous poll first: look again later */
        } else if (c->want_poll) {
            if (mem_grow((void **)&eng->busy, &eng->cap_busy, eng->nbusy + 1, sizeof *eng->busy) !=
                0) {
                eng->cmds = true; /* no room to track it yet: retry */
            } else {
                c->want_poll = false;
                pthread_mutex_unlock(&eng->mu);
                begin_poll(c);
                update_deadline(c);
                if (c->busy && (c->sess || c->probing))
                    eng->busy[eng->nbusy++] = c;
                pthread_mutex_lock(&eng->mu);
            }
        }
        pp = &c->next;
    }
}

/* Keep in the busy array only the conns whose poll is still in flight. */
static void busy_compact(struct snmp_engine *eng)
{
    size_t k = 0;
    for (size_t i = 0; i < eng->nbusy; i++)
        if (eng->busy[i]->busy && (eng->busy[i]->sess || eng->busy[i]->probing))
            eng->busy[k++] = eng->busy[i];
    eng->nbusy = k;
}

/* Read what arrived on c's socket: answers go to on_response, anything
 * else (a late answer of an ended poll) is dropped by net-snmp. */
static void read_conn(struct snmp_conn *c)
{
    if (c->probing) {
        read_probe(c);
        update_deadline(c);
        return;
    }
    if (c->sess == NULL || c->fd < 0)
        return;
    netsnmp_large_fd_set *lfs = &c->eng->lfs;
    NETSNMP_LARGE_FD_ZERO(lfs);
    NETSNMP_LARGE_FD_SET(c->fd, lfs);
    snmp_sess_read2(c->sess, lfs);
    if (c->reprobe) { /* outside net-snmp's callbacks: the session can go */
        c->reprobe = false;
        c->engine_id_n = 0;
        close_io(c);
    }
    update_deadline(c);
}

#define ENGINE_EVENTS 64 /* epoll events taken per wake-up */

/* Answer gathering. Every answer used to wake the engine on its own: at
 * 1 000 routers, 350 answers a second and as many context switches, a
 * seventh of the fleet's CPU. When answers come at GATHER_RATE a second or
 * more, the engine sleeps GATHER_MS after each wake-up (never past the first
 * request deadline) and then takes what arrived meanwhile in one epoll_wait:
 * 3-4 answers a wake-up at that fleet's rate. It costs each round trip up to
 * GATHER_MS of latency (about 0.1 s on a 21-request if_mib poll, nothing
 * against a 60 s interval); smaller fleets, one-off polls and tests below
 * the rate never wait. */
#define GATHER_MS 10
#define GATHER_RATE 100 /* answers a second */

/* Should the engine gather before its next wait? Counts `answers` into the
 * current one-second window. */
static bool gather_due(struct snmp_engine *eng, int64_t now_ms, int answers)
{
    if (now_ms - eng->rate_start_ms >= 1000) {
        eng->rate_last = eng->rate_count;
        eng->rate_count = 0;
        eng->rate_start_ms = now_ms;
    }
    eng->rate_count += (uint64_t)answers;
    return answers > 0 && eng->rate_last >= GATHER_RATE;
}

/* Sleep up to GATHER_MS, not past `first` (a request's deadline). */
static void gather(int64_t now_ms, int64_t first)
{
    int64_t ms = first - now_ms < GATHER_MS ? first - now_ms : GATHER_MS;
    if (ms <= 0)
        return;
    struct timespec ts = {0, (long)ms * 1000000};
    nanosleep(&ts, NULL);
}

static void *engine_main(void *arg)
{
    struct snmp_engine *eng = arg;
    struct epoll_event ev[ENGINE_EVENTS];
    bool gathering = false;

    pthread_mutex_lock(&eng->mu);
    while (!eng->stop) {
        /* Ended polls leave first, so a conn polled again by run_commands
         * is never in the array twice. */
        busy_compact(eng);
        if (eng->cmds) {
            eng->cmds = false;
            run_commands(eng);
        }
        pthread_mutex_unlock(&eng->mu);

        /* Wait for answers, the first deadline of a request, or a command. */
        struct snmp_conn **busy = eng->busy;
        size_t nb = eng->nbusy;
        int64_t first = INT64_MAX;
        for (size_t i = 0; i < nb; i++)
            if (busy[i]->deadline_ms < first)
                first = busy[i]->deadline_ms;
        int64_t now = time_mono_ns() / 1000000;
        if (gathering && nb > 0) {
            gather(now, first);
            now = time_mono_ns() / 1000000;
        }
        int wait_ms = -1;
        if (nb > 0)
            wait_ms = first <= now ? 0 : first - now > 1000 ? 1000 : (int)(first - now);
        int n = epoll_wait(eng->epfd, ev, ENGINE_EVENTS, wait_ms);
        /* Callbacks end polls but never start or close one (those wait for
         * run_commands), so busy[0..nb) and every conn an event names stay
         * valid through here. */
        int answers = 0;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.ptr == NULL) {
                char buf[64];
                while (read(eng->wake[0], buf, sizeof buf) > 0)
                    ;
                continue;
            }
            read_conn(ev[i].data.ptr);
            answers++;
        }
        now = time_mono_ns() / 1000000;
        gathering = gather_due(eng, now, answers);
        for (size_t i = 0; i < nb; i++) {
            struct snmp_conn *c = busy[i];
            if (!c->busy || c->deadline_ms > now)
                continue;
            if (c->probing)
                probe_timeout(c);
            else if (c->sess)
                snmp_sess_timeout(c->sess);
            update_deadline(c);
        }
        pthread_mutex_lock(&eng->mu);
    }
    /* Stopping: close whatever is left (their polls end without done). */
    for (struct snmp_conn *c = eng->conns; c; c = c->next) {
        shutdown_conn(c);
        c->closed = true;
    }
    eng->conns = NULL;
    eng->nbusy = 0;
    pthread_cond_broadcast(&eng->closed);
    pthread_mutex_unlock(&eng->mu);
    return NULL;
}

int snmp_engine_new(struct snmp_engine **out, struct err *e)
{
    *out = NULL;
    pthread_once(&init_once, netsnmp_init);
    struct snmp_engine *eng = calloc(1, sizeof *eng);
    if (eng == NULL)
        return ERR_SET(e, -ENOMEM, "snmp: out of memory");
    if (pipe2(eng->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        int rc = -errno;
        free(eng);
        return ERR_SET(e, rc, "snmp: pipe: %s", strerror(-rc));
    }
    struct epoll_event wev = {.events = EPOLLIN, .data.ptr = NULL};
    eng->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (eng->epfd < 0 || epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->wake[0], &wev) != 0) {
        int rc = -errno;
        if (eng->epfd >= 0)
            close(eng->epfd);
        close(eng->wake[0]);
        close(eng->wake[1]);
        free(eng);
        return ERR_SET(e, rc, "snmp: epoll: %s", strerror(-rc));
    }
    pthread_mutex_init(&eng->mu, NULL);
    pthread_cond_init(&eng->closed, NULL);
    netsnmp_large_fd_set_init(&eng->lfs, FD_SETSIZE);
    int rc = pthread_create(&eng->thread, NULL, engine_main, eng);
    if (rc != 0) {
        netsnmp_large_fd_set_cleanup(&eng->lfs);
        close(eng->epfd);
        close(eng->wake[0]);
        close(eng->wake[1]);
        pthread_mutex_destroy(&eng->mu);
        pthread_cond_destroy(&eng->closed);
        free(eng);
        return ERR_SET(e, -rc, "snmp: cannot start the engine thread");
    }
    *out = eng;
    return 0;
}

void snmp_engine_free(struct snmp_engine *eng)
{
    if (eng == NULL)
        return;
    pthread_mutex_lock(&eng->mu);
    eng->stop = true;
    pthread_mutex_unlock(&eng->mu);
    wake(eng);
    pthread_join(eng->thread, NULL);
    netsnmp_large_fd_set_cleanup(&eng->lfs);
    close(eng->epfd);
    close(eng->wake[0]);
    close(eng->wake[1]);
    pthread_mutex_destroy(&eng->mu);
    pthread_cond_destroy(&eng->closed);
    free(eng->busy);
    free(eng);
}

int snmp_conn_new(struct snmp_engine *eng, const char *address, const struct snmp_creds *creds,
                  int64_t timeout_ms, int retries, struct snmp_conn **out, struct err *e)
{
    *out = NULL;
    struct snmp_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_SET(e, -ENOMEM, "snmp: out of memory");
    c->eng = eng;
    /* "host", "host:port", "[v6]:port" → net-snmp's "udp:host:port" */
    const char *colon = strrchr(address, ':');
    bool v6 = address[0] == '[' || (colon && strchr(address, ':') != colon);
    if (v6)
        snprintf(c->peer, sizeof c->peer, "udp6:%s", address);
    else if (colon)
        snprintf(c->peer, sizeof c->peer, "udp:%s", address);
    else
        snprintf(c->peer, sizeof c->peer, "udp:%s:%d", address, SNMP_PORT_DEFAULT);
    c->creds = *creds;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : SNMP_TIMEOUT_DEFAULT_MS;
    c->fd = -1;
    c->deadline_ms = INT64_MAX;
    c->retries = retries >= 0 ? retries : SNMP_RETRIES_DEFAULT;
    arena_init(&c->arena, 256u << 20);
    pthread_mutex_lock(&eng->mu);
    c->next = eng->conns;
    eng->conns = c;
    pthread_mutex_unlock(&eng->mu);
    *out = c;
    return 0;
}

int snmp_conn_poll(struct snmp_conn *c, const struct snmp_request *req, snmp_done_fn *done,
                   void *ctx)
{
    struct snmp_engine *eng = c->eng;
    pthread_mutex_lock(&eng->mu);
    int rc = 0;
    if (c->want_poll || c->want_close || c->closed || eng->stop) {
        rc = TIDE_EINVAL;
    } else {
        c->req = *req;
        c->done = done;
        c->done_ctx = ctx;
        c->want_poll = true;
        eng->cmds = true;
    }
    pthread_mutex_unlock(&eng->mu);
    if (rc == 0)
        wake(eng);
    return rc;
}

void snmp_conn_free(struct snmp_conn *c)
{
    if (c == NULL)
        return;
    struct snmp_engine *eng = c->eng;
    pthread_mutex_lock(&eng->mu);
    if (!c->closed) {
        c->want_close = true;
        eng->cmds = true;
        pthread_mutex_unlock(&eng->mu);
        wake(eng);
        pthread_mutex_lock(&eng->mu);
        while (!c->closed)
            pthread_cond_wait(&eng->closed, &eng->mu);
    }
    pthread_mutex_unlock(&eng->mu);
    arena_fini(&c->arena);
    free(c->v);
    free(c->run);
    memset(&c->creds, 0, sizeof c->creds);
    free(c);
}
